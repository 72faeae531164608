"""`GET /api/changes`: a run's answers as they are recorded, for waiters and open forms."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hitlkit import _errors, _reading
from hitlkit._records import EVENTS_PREFIX, OUTCOMES_PREFIX, Outcome, id_of_key, outcome_prefix
from hitlkit._server._auth import AuthFailure, signed_in
from hitlkit._server._context import LINK_COOKIE, get_cookie, store_of
from hitlkit._server._errors import error_response
from hitlkit._server._metrics import AppMetrics
from hitlkit._server._sse import Follower, event_id, follow
from hitlkit._server._streams import (
    BadCursor,
    StreamLimits,
    open_stream,
    parse_since,
    stream_caller,
)
from hitlkit._server._views import REFUSED, ErrorBody
from hitlkit._store import Store

__all__ = ["router"]

router = APIRouter()

STREAM_POLL_SECONDS = 0.1
"""While a change stream is open, how often the app lists the run's outcomes in a store
that cannot notify: one listing per run per app, however many streams."""

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
    **REFUSED,
    403: {
        "model": ErrorBody,
        "description": "`wrong_event` (a link for another run), `cross_site` (another site's page)",
    },
    404: {"model": ErrorBody, "description": "`not_found`: the run has no events"},
    422: {"model": ErrorBody, "description": "`invalid_request`: `prefix` or `since`"},
    429: {
        "model": ErrorBody,
        "description": "`too_many_streams`: the client or the app has as many open as allowed",
    },
}


@router.get("/api/changes", response_class=StreamingResponse, responses=_RESPONSES, tags=["events"])
async def changes(
    request: Request,
    prefix: Annotated[
        str,
        Query(
            pattern=r"^outcomes/[0-9a-f]{8}/$",
            examples=["outcomes/5f0c1a2b/"],
            description="`outcomes/`, the first 8 hex digits of the run's event ids, and `/`",
        ),
    ],
    since: Annotated[
        str | None,
        Query(
            examples=["2025-01-31T12:00:00Z"],
            description="send first the outcomes recorded at or after this time "
            "(ISO 8601 with a timezone, or seconds since the epoch); else `Last-Event-ID`",
        ),
    ] = None,
    token: Annotated[
        str | None,
        Query(description="an answer link's token, for a page that cannot send headers"),
    ] = None,
    event: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9a-f]{24}$",
            description="the event whose page follows the run: the answer link the browser "
            "keeps for it (a cookie) counts as the credential",
        ),
    ] = None,
) -> Response:
    """A run's answers as they are recorded, through this app or any other, as server-sent events.

    Takes what reading an event takes: an API token, a signed-in browser, or an answer
    link (its own event only). `prefix` is `outcomes/` and the first 8 digits of the
    run's event ids. With `since`, the outcomes recorded at or after it come first;
    then each outcome recorded while connected comes as `event: outcome`, `id: <its
    time>`, `data: <request_id>` (earlier ones may come again). A comment line keeps
    a quiet connection open; the app ends the stream after a while (5 minutes by
    default): connect again with `since` set to the last `id` to miss nothing. An event
    only says "look again": read the outcome to learn it.
    """
    kept = None
    if token is None and event is not None and prefix == outcome_prefix(event):
        kept = _kept_link(request, event)
    try:
        caller, client = stream_caller(request, link=token or kept)
    except AuthFailure:
        if kept is None:
            raise
        # A kept link that no longer counts (expired, a retired secret) is as no link:
        # the page itself was served without it.
        caller, client = stream_caller(request, link=token)
    if caller.event is not None and outcome_prefix(caller.event) != prefix:
        message = "the answer link is for an event of another run"
        raise AuthFailure(_errors.WRONG_EVENT, message, html=False)
    try:
        cursor = parse_since(request, since)
    except BadCursor as exc:
        return error_response(_errors.INVALID_REQUEST, str(exc))
    store = store_of(request)
    run = prefix.removeprefix(OUTCOMES_PREFIX)
    # Nothing is followed, nor made in the store, for a run that does not exist.
    if not await store.list_async(EVENTS_PREFIX + run):
        message = f"no events in run {run[:-1]}: expected the first 8 digits of an event id"
        return error_response(_errors.NOT_FOUND, message)
    # A page follows its own event (`event=`): only that one is read and reported.
    only = caller.event or (
        event if event is not None and prefix == outcome_prefix(event) else None
    )
    metrics = getattr(request.app.state, "metrics", None)
    sent = metrics.sent_on_stream if isinstance(metrics, AppMetrics) else None
    follower = _Outcomes(store, prefix, since=cursor, only=only, on_sent=sent)

    def messages(limits: StreamLimits) -> AsyncGenerator[str, None]:
        return follow(
            store,
            (prefix,),
            STREAM_POLL_SECONDS,
            follower,
            heartbeat_seconds=limits.heartbeat_seconds,
            max_seconds=limits.max_seconds,
        )

    return open_stream(request, client, messages)


def _kept_link(request: Request, request_id: str) -> str | None:
    """The link a browser keeps for `request_id`, unless it has a credential of its own."""
    if "authorization" in request.headers or signed_in(request) is not None:
        return None  # signed in, a browser is its sign-in (as on the pages)
    return get_cookie(request, LINK_COOKIE + request_id)


class _Outcomes(Follower):
    """Tells of each outcome under a run's prefix once (of one event only, for a link).

    `on_sent` hears of each outcome told as a change, with when the stream opened
    (the app's answer-to-wake latency).
    """

    def __init__(
        self,
        store: Store,
        prefix: str,
        *,
        since: datetime | None,
        only: str | None,
        on_sent: Callable[..., None] | None = None,
    ):
        self.store = store
        self.prefix = prefix
        self.since = since
        self.only = only
        self.sent: set[str] = set()
        self.on_sent = on_sent
        self.opened = time.time()

    async def start(self) -> str:
        head = ": following answers\nretry: 2000\n\n"
        if self.since is None:
            return head
        since = self.since
        keys = self._new(set(await self.store.list_async(self.prefix)))
        outcomes = await self._load(keys)
        # An outcome that cannot be read has no time: it is sent, and read again by the client.
        return head + "".join(
            _message(request_id, outcome)
            for request_id, outcome in outcomes
            if outcome is None or outcome.at >= since
        )

    async def changed(self, keys: set[str]) -> str:
        outcomes = await self._load(self._new(keys))
        if self.on_sent is not None:
            for _, outcome in outcomes:
                if outcome is not None:
                    self.on_sent(outcome, stream_opened=self.opened)
        return "".join(_message(request_id, outcome) for request_id, outcome in outcomes)

    def _new(self, keys: set[str]) -> list[str]:
        """The ids of the outcomes at `keys` not sent yet; they count as sent from now."""
        new = {key: request_id for key in keys - self.sent if (request_id := id_of_key(key))}
        self.sent |= new.keys()
        return [i for i in new.values() if self.only is None or i == self.only]

    async def _load(self, request_ids: list[str]) -> list[tuple[str, Outcome | None]]:
        """Each outcome (None where it cannot be read), oldest first."""
        read = await asyncio.gather(
            *(_reading.load_outcome(self.store, i) for i in request_ids), return_exceptions=True
        )
        loaded = [
            (i, o if isinstance(o, Outcome) else None)
            for i, o in zip(request_ids, read, strict=True)
        ]
        return sorted(loaded, key=lambda pair: (pair[1].at.timestamp() if pair[1] else 0, pair[0]))


def _message(request_id: str, outcome: Outcome | None) -> str:
    cursor = event_id(outcome.at) if outcome is not None else ""
    return f"event: outcome\n{cursor}data: {request_id}\n\n"
