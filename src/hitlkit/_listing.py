"""Listing events a page at a time, newest first, through the per-state index (`_index`).

A page reads the index's names in order after its cursor, leaves out by name alone
those that cannot match (resolved, or past their deadline, when pending ones are
asked for), and reads only the records of the rest until the page is full. What a
record says is the truth: an entry whose event has moved on (answered since, by any
process) is left out, and one whose record was written by another creator is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from hitlkit._exceptions import CorruptRecordError, EventNotFoundError
from hitlkit._index import (
    RESOLVED,
    Names,
    entry_name,
    folder_of,
    index_store,
    is_entry_name,
    mark_resolved,
    name_deadline,
)
from hitlkit._reading import EventState, Listing, StatusFilter, get_event_state
from hitlkit._records import EventRecord, utcnow
from hitlkit._runtime import Runtime, runtime
from hitlkit._store import Store

__all__ = ["PAGE_SIZE", "Page", "list_event_states", "list_page"]

listing_log = logging.getLogger("hitlkit.listing")
"""Records left out of listings: callers that report the count themselves may quiet it."""

PAGE_SIZE = 500
"""Events per page when a whole listing is read a page at a time."""
MIN_READS = 16
"""Records read at once while filling a page, however few it still needs."""


@dataclass(frozen=True)
class Page:
    """Events newest first; `next_cursor` gives the next page (`None`: this is the last).

    `skipped` counts the records met that could not be read (each logged once).
    """

    states: list[EventState]
    next_cursor: str | None
    skipped: int = 0


async def list_page(
    store: Store,
    *,
    status: StatusFilter = "pending",
    run_id: str | None = None,
    name: str | None = None,
    assignee: str | None = None,
    matches: Callable[[EventRecord], bool] | None = None,
    limit: int = PAGE_SIZE,
    cursor: str | None = None,
) -> Page:
    """The page of events after `cursor`, at most `limit`, newest first.

    "pending" means open and before the deadline; "resolved" means closed (with an
    outcome, or past the deadline). `run_id`, `name` and `assignee` (one of the
    event's assignees) must match exactly; `matches` is any other test of the record.
    `cursor` is a page's `next_cursor`; anything else raises `ValueError`.
    """
    if cursor is not None and not is_entry_name(cursor):
        raise ValueError(f"invalid cursor {cursor!r}: expected the next_cursor of a page")
    if limit < 1:
        raise ValueError(f"a page holds at least one event, got limit={limit}")
    await index_store(store)
    candidates = _Candidates(store, status, run_id, assignee, cursor or "")

    def fits(state: EventState) -> bool:
        record = state.record
        return (
            (status == "all" or (state.status == "pending") == (status == "pending"))
            and (run_id is None or record.run_id == run_id)
            and (name is None or record.name == name)
            and (
                assignee is None
                or assignee in (record.assignees or ())
                # under a policy, steps and delegations list more people (`_index`)
                or record.policy is not None
            )
            and (matches is None or matches(record))
        )

    found: list[tuple[str, EventState]] = []
    bad: list[CorruptRecordError] = []
    while len(found) < limit:
        batch = await candidates.take(max(limit - len(found), MIN_READS))
        if not batch:
            break
        states = await asyncio.gather(*(_read(store, n, status, bad) for n in batch))
        found += [(n, s) for n, s in zip(batch, states, strict=True) if s is not None and fits(s)]
    more = len(found) > limit or await candidates.peek() is not None
    found = found[:limit]
    cursor = found[-1][0] if more and found else None
    return Page([state for _, state in found], cursor, skipped=len(bad))


async def list_event_states(
    store: Store,
    *,
    status: StatusFilter = "pending",
    run_id: str | None = None,
    name: str | None = None,
    assignee: str | None = None,
    matches: Callable[[EventRecord], bool] | None = None,
) -> Listing[EventState]:
    """Every matching event, newest first, read a page at a time (see `list_page`).

    A record that cannot be read is left out with a warning, and counted in `skipped`.
    """
    states: list[EventState] = []
    skipped = 0
    async for page in pages(
        store, status=status, run_id=run_id, name=name, assignee=assignee, matches=matches
    ):
        states += page.states
        skipped += page.skipped
    return Listing(states, skipped=skipped)


async def pages(
    store: Store,
    *,
    status: StatusFilter = "pending",
    run_id: str | None = None,
    name: str | None = None,
    assignee: str | None = None,
    matches: Callable[[EventRecord], bool] | None = None,
) -> AsyncIterator[Page]:
    """Every page of a listing, in order."""
    cursor: str | None = None
    while True:
        page = await list_page(
            store,
            status=status,
            run_id=run_id,
            name=name,
            assignee=assignee,
            matches=matches,
            cursor=cursor,
        )
        yield page
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


class _Candidates:
    """The names that may match a status, in order: a pending folder's (every event of a run,
    of an assignee, or all), less those that names and `resolved/all` rule out."""

    def __init__(
        self,
        store: Store,
        status: StatusFilter,
        run_id: str | None,
        assignee: str | None,
        after: str,
    ) -> None:
        self._now = utcnow().timestamp()
        self._status = status
        self._events = Names(store, folder_of(run_id=run_id, assignee=assignee), after)
        self._resolved = Names(store, RESOLVED, after)
        self._next: str | None = None
        self._filled = False

    async def peek(self) -> str | None:
        if not self._filled:
            self._next = await self._find()
            self._filled = True
        return self._next

    async def take(self, count: int) -> list[str]:
        names: list[str] = []
        while len(names) < count and (name := await self.peek()) is not None:
            names.append(name)
            self._filled = False
        return names

    async def _find(self) -> str | None:
        # Both lists in one order, read side by side: names only, no record.
        while (name := await self._events.peek()) is not None:
            self._events.pop()
            if self._status == "all":
                return name
            deadline = name_deadline(name)
            if self._status == "pending":
                if deadline > self._now and not await self._resolved.holds(name):
                    return name
            # Closed: resolved, or past the deadline (which names round up: one that
            # passed within the last second may have).
            elif deadline - 1 < self._now or await self._resolved.holds(name):
                return name
        return None


async def _read(
    store: Store, name: str, status: StatusFilter, bad: list[CorruptRecordError]
) -> EventState | None:
    """The state of the event an entry names; `None` if it is not one to list."""
    state = await _state_or_none(store, name[-24:], bad)
    if state is None or entry_name(state.record) != name:
        return None  # no such event, or entries left by a creation that lost its race
    if status == "pending" and state.outcome is not None:
        await mark_resolved(store, state.record, check=True)  # its writer died before it
    return state


async def _state_or_none(
    store: Store, request_id: str, bad: list[CorruptRecordError]
) -> EventState | None:
    """The event's state; `None`, logged once and counted in `bad`, if it cannot be read."""
    try:
        return await get_event_state(store, request_id)
    except EventNotFoundError:
        return None
    except CorruptRecordError as exc:
        bad.append(exc)
        warned = runtime().get(_warned_keys)
        if (store.url, exc.key) not in warned and len(warned) < MAX_WARNED:
            warned.add((store.url, exc.key))  # once per runtime: an inbox lists again and again
            listing_log.warning("left out of listings: %s (run `hitl doctor`)", exc)
        return None


MAX_WARNED = 10_000


def _warned_keys(owner: Runtime) -> set[tuple[str, str]]:
    """(store URL, key) of the bad records the runtime has warned about."""
    return set()
