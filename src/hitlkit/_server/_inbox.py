"""The inbox: events across runs, filtered, and a stream that tells open inboxes to look again.

The page works without JavaScript (a GET form and links). With it, `hitlkit.js`
follows `GET /api/inbox/changes` and re-fetches the list from `GET /inbox/list`
whenever the stream says something changed: an event created, answered,
cancelled, or past its deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import cast, get_args
from urllib.parse import urlencode

from fastapi import APIRouter
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, StreamingResponse

from hitlkit import _ops
from hitlkit._exceptions import EventNotFoundError
from hitlkit._ops import EventState, StatusFilter
from hitlkit._records import EVENTS_PREFIX, OUTCOMES_PREFIX, EventRecord, outcome_key, utcnow
from hitlkit._server._auth import AuthFailure, auth_settings, authenticate
from hitlkit._server._context import store_of
from hitlkit._server._csrf import csrf_field, set_csrf_cookie
from hitlkit._server._templates import render
from hitlkit._server._views import ErrorBody
from hitlkit._store import Store
from hitlkit._watch import watcher_for

__all__ = ["InboxQuery", "router"]

router = APIRouter()

MAX_FILTER_LENGTH = 200
KEEPALIVE_SECONDS = 15.0
INBOX_POLL_SECONDS = 1.0
"""While an inbox is open, how often the app lists `events/` and `outcomes/` in a store
that cannot notify (one listing of each per app, however many inboxes are open)."""

_KEY = re.compile(r"(?:events|outcomes)/[0-9a-f]{8}/([0-9a-f]{24})\.json")
_STATUSES: tuple[str, ...] = get_args(StatusFilter)


@dataclass(frozen=True)
class InboxQuery:
    """What the inbox shows: a status, and words the run id and name must contain."""

    status: StatusFilter = "pending"
    run_id: str = ""
    name: str = ""

    @classmethod
    def parse(cls, status: str, run_id: str, name: str) -> InboxQuery:
        """The query from a request's parameters; an unknown status means "pending"."""
        return cls(
            status=cast(StatusFilter, status if status in _STATUSES else "pending"),
            run_id=run_id.strip()[:MAX_FILTER_LENGTH],
            name=name.strip()[:MAX_FILTER_LENGTH],
        )

    @property
    def filtered(self) -> bool:
        """Whether a run or name filter is set."""
        return bool(self.run_id or self.name)

    def matches(self, record: EventRecord) -> bool:
        """Whether the record's run id and name contain the filters (ignoring case)."""
        return (
            self.run_id.casefold() in record.run_id.casefold()
            and self.name.casefold() in record.name.casefold()
        )

    def search(self, **changes: str) -> str:
        """The query string (with `?`, or empty) of this query with `changes` applied."""
        fields = {"status": self.status, "run_id": self.run_id, "name": self.name, **changes}
        if fields["status"] == "pending":
            del fields["status"]
        params = {key: value for key, value in fields.items() if value}
        return "?" + urlencode(params) if params else ""


async def inbox_states(store: Store, query: InboxQuery) -> list[EventState]:
    """The events the inbox shows for `query`, newest first."""
    states = await _ops.list_event_states(store, status=query.status)
    return [state for state in states if query.matches(state.record)]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def inbox(
    request: Request, status: str = "pending", run_id: str = "", name: str = ""
) -> HTMLResponse:
    """Events waiting for an answer, newest first (or resolved ones, or all), filtered."""
    store = store_of(request)
    return await _render_inbox(request, store, "inbox.html", InboxQuery.parse(status, run_id, name))


@router.get("/inbox/list", response_class=HTMLResponse, include_in_schema=False)
async def inbox_list(
    request: Request, status: str = "pending", run_id: str = "", name: str = ""
) -> HTMLResponse:
    """The inbox's list alone, for pages that refresh it in place."""
    store = store_of(request)
    query = InboxQuery.parse(status, run_id, name)
    return await _render_inbox(request, store, "_inbox_list.html", query)


async def _render_inbox(
    request: Request, store: Store, template: str, query: InboxQuery
) -> HTMLResponse:
    # Listing takes an API token (or a browser signed in with one), as the JSON list does.
    authenticate(request, needs="all", html=True)
    states = await inbox_states(store, query)
    # The Approve and Reject buttons post forms: they carry a form token like the event page.
    cookie, csrf = csrf_field(request, auth_settings(request).csrf_key)
    response = render(request, template, states=states, query=query, csrf=csrf)
    set_csrf_cookie(request, response, cookie)
    return response


@router.get(
    "/api/inbox/changes",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
        400: {"model": ErrorBody, "description": "`invalid_host`: the Host is not allowed"},
        401: {"model": ErrorBody, "description": "`unauthorized`: no valid API token"},
        403: {"model": ErrorBody, "description": "`forbidden`: an answer link cannot list"},
    },
    tags=["events"],
)
async def inbox_changes(request: Request) -> StreamingResponse:
    """Tells an open inbox when to look again, as server-sent events.

    Sends `event: changed` once when it starts following, then whenever an event
    is created, answered or cancelled (through this app or any other process
    using the store), and when a pending event's deadline passes. Changes close
    together may come as one. The data says nothing more: fetch the list again.
    A comment line every 15 seconds keeps the connection open. Takes an API token
    (or a browser signed in with one), like the list of events.
    """
    store = store_of(request)
    try:
        authenticate(request, needs="all", html=True)  # also takes a signed-in browser
    except AuthFailure:
        authenticate(request, needs="all")  # refuses in JSON, as the rest of the API
        raise
    return StreamingResponse(
        _changes(store),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


class _Follower:
    """What one stream knows of the store: the keys seen, and pending events' deadlines."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: set[str] = set()
        self.deadlines: dict[str, datetime] = {}

    async def start(self) -> None:
        events, outcomes = await asyncio.gather(
            self.store.list_async(EVENTS_PREFIX), self.store.list_async(OUTCOMES_PREFIX)
        )
        self.seen = {key for key in [*events, *outcomes] if _KEY.fullmatch(key)}
        pending = await _ops.list_event_states(self.store, status="pending")
        self.deadlines = {state.record.id: state.record.deadline for state in pending}

    async def update(self, keys: set[str]) -> bool:
        """Take in reported keys; whether any of them is new."""
        new = {key for key in keys - self.seen if _KEY.fullmatch(key)}
        self.seen |= new
        for key in sorted(new):
            request_id = key.rpartition("/")[2].removesuffix(".json")
            if key.startswith(OUTCOMES_PREFIX):
                self.deadlines.pop(request_id, None)
            elif outcome_key(request_id) not in self.seen:
                with contextlib.suppress(EventNotFoundError, ValidationError):
                    record = await _ops.load_event(self.store, request_id)
                    self.deadlines[request_id] = record.deadline
        return bool(new)

    def seconds_to_next_deadline(self) -> float | None:
        if not self.deadlines:
            return None
        return max(0.0, (min(self.deadlines.values()) - utcnow()).total_seconds())

    def expire(self) -> bool:
        """Forget events whose deadline has passed; whether there were any."""
        now = utcnow()
        due = [request_id for request_id, when in self.deadlines.items() if when <= now]
        for request_id in due:
            del self.deadlines[request_id]
        return bool(due)


async def _changes(store: Store) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    found: asyncio.Queue[set[str]] = asyncio.Queue()

    def on_keys(keys: set[str]) -> None:
        with contextlib.suppress(RuntimeError):  # the app's loop has closed
            loop.call_soon_threadsafe(found.put_nowait, keys)

    watcher = watcher_for(store)
    # Ended by the `finally` when the client goes away: the response is cancelled then.
    unsubscribes = [
        watcher.subscribe_prefix(prefix, on_keys, INBOX_POLL_SECONDS)
        for prefix in (EVENTS_PREFIX, OUTCOMES_PREFIX)
    ]
    try:
        follower = _Follower(store)
        await follower.start()
        # Subscribed first, then listed: a change made after this point is reported.
        yield "retry: 2000\nevent: changed\ndata: start\n\n"
        while True:
            wait = KEEPALIVE_SECONDS
            to_deadline = follower.seconds_to_next_deadline()
            if to_deadline is not None:
                wait = min(wait, to_deadline + 0.05)
            try:
                keys = await asyncio.wait_for(found.get(), wait)
            except asyncio.TimeoutError:
                expired = follower.expire()
                yield "event: changed\ndata: deadline\n\n" if expired else ": keep-alive\n\n"
                continue
            while not found.empty():
                keys |= found.get_nowait()
            if await follower.update(keys):
                yield "event: changed\ndata: store\n\n"
    finally:
        for unsubscribe in unsubscribes:
            unsubscribe()
