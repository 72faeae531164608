"""The inbox: events across runs, filtered, and a stream that tells open inboxes to look again.

The page works without JavaScript (a GET form and links). With it, `hitlkit.js`
follows `GET /api/inbox/changes` and re-fetches the list from `GET /inbox/list`
whenever the stream says something changed: an event created, answered,
cancelled, or past its deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from typing import cast, get_args
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse

from hitlkit import _errors, _policy_ops, _reading
from hitlkit._exceptions import CorruptRecordError, EventNotFoundError
from hitlkit._index import is_entry_name
from hitlkit._listing import Page, list_page
from hitlkit._reading import EventState, StatusFilter
from hitlkit._records import (
    EVENTS_PREFIX,
    OUTCOMES_PREFIX,
    EventRecord,
    id_of_key,
    outcome_key,
    utcnow,
)
from hitlkit._server._allowed import may_answer
from hitlkit._server._auth import auth_settings, authenticate
from hitlkit._server._context import store_of
from hitlkit._server._csrf import csrf_field, set_csrf_cookie
from hitlkit._server._errors import error_response
from hitlkit._server._sse import Follower, event_id, follow
from hitlkit._server._streams import (
    BadCursor,
    StreamLimits,
    open_stream,
    parse_since,
    stream_caller,
)
from hitlkit._server._templates import render
from hitlkit._server._views import ErrorBody
from hitlkit._store import Store

__all__ = ["InboxQuery", "router"]

router = APIRouter()

MAX_FILTER_LENGTH = 200
INBOX_LIMIT = 200
"""How many events the inbox shows by default, newest first (`?limit=` changes it)."""
MAX_INBOX_LIMIT = 2000
INBOX_POLL_SECONDS = 1.0
"""While an inbox is open, how often the app lists `events/` and `outcomes/` in a store
that cannot notify (one listing of each per app, however many inboxes are open)."""

_PREFIXES = (EVENTS_PREFIX, OUTCOMES_PREFIX)
_STATUSES: tuple[str, ...] = get_args(StatusFilter)


@dataclass(frozen=True)
class InboxQuery:
    """What the inbox shows: a status, words the run id and name must contain, an assignee,
    how many, and after which page."""

    status: StatusFilter = "pending"
    run_id: str = ""
    name: str = ""
    limit: int = INBOX_LIMIT
    cursor: str = ""
    assignee: str = ""

    @classmethod
    def parse(
        cls,
        status: str,
        run_id: str,
        name: str,
        limit: str = "",
        cursor: str = "",
        assignee: str = "",
    ) -> InboxQuery:
        """The query from a request's parameters; an unknown status means "pending".

        A `limit` that is not a number means the default; one out of range is clamped.
        A cursor that is not a page's means the first page.
        """
        return cls(
            status=cast(StatusFilter, status if status in _STATUSES else "pending"),
            run_id=run_id.strip()[:MAX_FILTER_LENGTH],
            name=name.strip()[:MAX_FILTER_LENGTH],
            limit=_clamped(limit),
            cursor=cursor if is_entry_name(cursor) else "",
            assignee=assignee.strip()[:MAX_FILTER_LENGTH],
        )

    @property
    def filtered(self) -> bool:
        """Whether a run, name or assignee filter is set."""
        return bool(self.run_id or self.name or self.assignee)

    def matches(self, record: EventRecord) -> bool:
        """Whether the record's run id and name contain the filters (ignoring case)."""
        return (
            self.run_id.casefold() in record.run_id.casefold()
            and self.name.casefold() in record.name.casefold()
        )

    def search(self, **changes: str) -> str:
        """The query string (with `?`, or empty) of this query with `changes` applied.

        The page starts from the newest again unless `changes` give a `cursor`.
        """
        fields = {
            "status": self.status,
            "run_id": self.run_id,
            "name": self.name,
            "assignee": self.assignee,
        }
        if self.limit != INBOX_LIMIT:
            fields["limit"] = str(self.limit)
        fields.update(changes)
        if fields["status"] == "pending":
            del fields["status"]
        params = {key: value for key, value in fields.items() if value}
        return "?" + urlencode(params) if params else ""


def _clamped(limit: str) -> int:
    try:
        return min(max(int(limit), 1), MAX_INBOX_LIMIT)
    except ValueError:
        return INBOX_LIMIT


async def inbox_page(store: Store, query: InboxQuery) -> Page:
    """The page of events matching `query`, newest first, and how many records were skipped."""
    return await list_page(
        store,
        status=query.status,
        assignee=query.assignee or None,
        matches=query.matches if query.run_id or query.name else None,
        limit=query.limit,
        cursor=query.cursor or None,
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def inbox(
    request: Request,
    status: str = "pending",
    run_id: str = "",
    name: str = "",
    limit: str = "",
    cursor: str = "",
    assignee: str = "",
) -> HTMLResponse:
    """Events waiting for an answer, newest first (or resolved ones, or all), filtered, a page
    at a time."""
    store = store_of(request)
    query = InboxQuery.parse(status, run_id, name, limit, cursor, assignee)
    return await _render_inbox(request, store, "inbox.html", query)


@router.get("/inbox/list", response_class=HTMLResponse, include_in_schema=False)
async def inbox_list(
    request: Request,
    status: str = "pending",
    run_id: str = "",
    name: str = "",
    limit: str = "",
    cursor: str = "",
    assignee: str = "",
) -> HTMLResponse:
    """The inbox's list alone, for pages that refresh it in place."""
    store = store_of(request)
    query = InboxQuery.parse(status, run_id, name, limit, cursor, assignee)
    return await _render_inbox(request, store, "_inbox_list.html", query)


async def _render_inbox(
    request: Request, store: Store, template: str, query: InboxQuery
) -> HTMLResponse:
    # Listing takes an API token (or a browser signed in with one), as the JSON list does.
    caller = authenticate(request, needs="all", html=True)
    page = await inbox_page(store, query)
    policies = await policy_summaries(store, page.states)
    # The Approve and Reject buttons post forms: they carry a form token like the event page.
    cookie, csrf = csrf_field(request, auth_settings(request).csrf_key, caller.binding)
    response = render(
        request,
        template,
        states=page.states,
        next_cursor=page.next_cursor,
        skipped=page.skipped,
        max_limit=MAX_INBOX_LIMIT,
        query=query,
        csrf=csrf,
        # Quick answers only for events this caller may answer (not someone else's).
        allowed=functools.partial(may_answer, caller),
        policies=policies,
    )
    set_csrf_cookie(request, response, cookie)
    return response


async def policy_summaries(store: Store, states: list[EventState]) -> dict[str, str]:
    """Where each event under a policy stands ("2 of 3 approved"), for the rows shown only."""
    under = [state for state in states if state.record.policy is not None]
    summaries = await asyncio.gather(*(_summary(store, state) for state in under))
    return {s.record.id: text for s, text in zip(under, summaries, strict=True) if text}


async def _summary(store: Store, state: EventState) -> str | None:
    try:
        records = await _policy_ops.read_records(store, state.record)
    except CorruptRecordError:
        return None  # the row still shows; its page says what is wrong
    return _policy_ops.policy_state(state.record, records, state.outcome).summary


@router.get(
    "/api/inbox/changes",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
        400: {"model": ErrorBody, "description": "`invalid_host`: the Host is not allowed"},
        401: {"model": ErrorBody, "description": "`unauthorized`: no valid API token"},
        403: {
            "model": ErrorBody,
            "description": "`forbidden` (an answer link cannot list), `cross_site`",
        },
        422: {"model": ErrorBody, "description": "`invalid_request`: `since`"},
        429: {"model": ErrorBody, "description": "`too_many_streams`: try again later"},
    },
    tags=["events"],
)
async def inbox_changes(request: Request, since: str | None = None) -> Response:
    """Tells an open inbox when to look again, as server-sent events.

    Sends `event: changed` once when it starts following, then whenever an event
    is created, answered or cancelled (through this app or any other process
    using the store), and when a pending event's deadline passes. Changes close
    together may come as one. The data says nothing more: fetch the list again.
    The first message stands for every change since `since` (or `Last-Event-ID`),
    which is checked like `/api/changes`'s. Takes an API token (or a browser
    signed in with one), like the list of events; capped, kept open and ended
    like `/api/changes`.
    """
    _, client = stream_caller(request, needs="all")  # a link may not list
    try:
        parse_since(request, since)
    except BadCursor as exc:
        return error_response(_errors.INVALID_REQUEST, str(exc))
    store = store_of(request)

    def messages(limits: StreamLimits) -> AsyncGenerator[str, None]:
        return follow(
            store,
            _PREFIXES,
            INBOX_POLL_SECONDS,
            _Follower(store),
            heartbeat_seconds=limits.heartbeat_seconds,
            max_seconds=limits.max_seconds,
        )

    return open_stream(request, client, messages)


class _Follower(Follower):
    """What one stream knows of the store: the keys seen, and pending events' deadlines."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: set[str] = set()
        self.deadlines: dict[str, datetime] = {}

    async def start(self) -> str:
        listed = await asyncio.gather(*(self.store.list_async(p) for p in _PREFIXES))
        await self.update({key for keys in listed for key in keys})
        self.expire()  # past their deadline already: the page shows them closed from the start
        return "retry: 2000\n" + _changed("start")

    async def changed(self, keys: set[str]) -> str:
        return _changed("store") if await self.update(keys) else ""

    def seconds_to_wait(self) -> float:
        if not self.deadlines:
            return math.inf
        to_deadline = (min(self.deadlines.values()) - utcnow()).total_seconds()
        return max(0.0, to_deadline) + 0.05

    def due(self) -> str:
        return _changed("deadline") if self.expire() else ""

    async def update(self, keys: set[str]) -> bool:
        """Take in reported keys; whether any of them is new."""
        new = {key: request_id for key in keys - self.seen if (request_id := id_of_key(key))}
        self.seen |= new.keys()
        opened: list[str] = []
        for key, request_id in new.items():
            if key.startswith(OUTCOMES_PREFIX):
                self.deadlines.pop(request_id, None)
            elif outcome_key(request_id) not in self.seen:
                opened.append(request_id)
        records = await asyncio.gather(*(self._record(request_id) for request_id in opened))
        self.deadlines |= {r.id: r.deadline for r in records if r is not None}
        return bool(new)

    async def _record(self, request_id: str) -> EventRecord | None:
        with contextlib.suppress(EventNotFoundError, CorruptRecordError):
            return await _reading.load_event(self.store, request_id)
        return None

    def expire(self) -> bool:
        """Forget events whose deadline has passed; whether there were any."""
        now = utcnow()
        due = [request_id for request_id, when in self.deadlines.items() if when <= now]
        for request_id in due:
            del self.deadlines[request_id]
        return bool(due)


def _changed(why: str) -> str:
    return f"event: changed\n{event_id(utcnow())}data: {why}\n\n"
