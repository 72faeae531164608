"""The per-state index of events: what lets a listing page newest first without reading
every record.

Beside the records, each event has empty entries, written create-once:

```
index/pending/all/NAME                 every event, from its creation
index/pending/run/RUN/NAME             RUN: the first 8 hex digits of its id (its run's)
index/pending/to/WHO/NAME              WHO: 16 hex digits of the SHA-256 of an assignee
index/resolved/all/NAME                once an outcome is recorded
```

`NAME` is `(10**16 - 1 - created_at in µs)-(deadline in epoch seconds, rounded up)-ID`:
names sort newest first, and say without a read when an event stops being pending. The
pending folders list every event ever made (of a run, of an assignee); the events of one
of them that are resolved are those also in `resolved/all` (or past their deadline), found
by reading both lists side by side, names only. So an answer writes one entry, and
without flushing it (`durable=False`): an entry lost in a crash is rebuilt like any other.

The pending entries are written before the record, so a record never lacks them
(a writer that dies in between leaves entries with no record, and one whose record
loses to another creator's leaves entries naming a creation time the record does not
have: readers skip both). The resolved entries are written
after the outcome, so an outcome can lack them (its writer died in between): a listing
of pending events that meets such an event reads its outcome, leaves it out, and
writes the missing entries. A store made before the index existed is indexed once,
by the first listing that finds it has no `index/v1` marker (`index_store`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
import weakref
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Literal

from hitlkit._exceptions import CorruptRecordError, EventNotFoundError, StoreUnavailableError
from hitlkit._reading import load_event
from hitlkit._records import (
    EVENTS_PREFIX,
    OUTCOMES_PREFIX,
    EventRecord,
    event_id,
    id_of_key,
)
from hitlkit._store import Store
from hitlkit._store._base import PROBE_KEY

__all__ = [
    "INDEX_PREFIX",
    "PENDING",
    "RESOLVED",
    "IndexState",
    "Names",
    "add_assignees",
    "assignee_digest",
    "count_pending",
    "ensure_entries",
    "entry_keys",
    "entry_name",
    "folder_of",
    "index_store",
    "is_entry_name",
    "name_deadline",
    "unresolved_names",
    "write_entries",
]

log = logging.getLogger("hitlkit.index")

IndexState = Literal["pending", "resolved"]
INDEX_PREFIX = "index/"
MARKER_KEY = PROBE_KEY  # "index/v1": the small key a store's `probe` reads, too
"""Written once a store's events made before the index have entries."""
CHUNK = 1000
"""Names fetched per listing request: one page of an S3 listing."""
READS_AT_ONCE = 32

_LATEST_US = 10**16 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAME = re.compile(r"[0-9]{16}-[0-9]{10}-[0-9a-f]{24}")


def entry_name(record: EventRecord) -> str:
    """The name of `record`'s entries: newest first, with its deadline."""
    created_us = (record.created_at - _EPOCH) // timedelta(microseconds=1)
    deadline = math.ceil(record.deadline.timestamp())
    return f"{_LATEST_US - created_us:016d}-{deadline:010d}-{record.id}"


def is_entry_name(text: str) -> bool:
    """Whether `text` has the shape of an entry's name (a listing's cursor is one)."""
    return _NAME.fullmatch(text) is not None


def name_deadline(name: str) -> int:
    """The deadline an entry's name gives, in epoch seconds (rounded up)."""
    return int(name[17:27])


def assignee_digest(assignee: str) -> str:
    """Where an assignee's entries go: any text, as 16 hex digits."""
    return hashlib.sha256(assignee.encode()).hexdigest()[:16]


PENDING = f"{INDEX_PREFIX}pending/all/"
RESOLVED = f"{INDEX_PREFIX}resolved/all/"


def folder_of(*, run_id: str | None, assignee: str | None) -> str:
    """The pending folder that lists the events of an assignee, or of a run, or all."""
    if assignee is not None:
        return f"{INDEX_PREFIX}pending/to/{assignee_digest(assignee)}/"
    if run_id is not None:
        return f"{INDEX_PREFIX}pending/run/{event_id('run', run_id, '')[:8]}/"
    return PENDING


def entry_keys(record: EventRecord, state: IndexState) -> list[str]:
    """Every key of `record`'s entries in `state`."""
    name = entry_name(record)
    if state == "resolved":
        return [RESOLVED + name]
    keys = [PENDING + name, f"{INDEX_PREFIX}pending/run/{record.id[:8]}/{name}"]
    who = sorted(set(record.assignees or ()))
    keys += [f"{INDEX_PREFIX}pending/to/{assignee_digest(one)}/{name}" for one in who]
    return keys


async def write_entries(store: Store, record: EventRecord, state: IndexState) -> None:
    """Write `record`'s entries in `state` (those already there stay as they are)."""
    await _put(store, entry_keys(record, state), state)


async def add_assignees(store: Store, record: EventRecord, identities: Sequence[str]) -> None:
    """List `record` as pending for more identities: those an escalation step or a
    delegation lets answer it (under a policy)."""
    name = entry_name(record)
    keys = [f"{INDEX_PREFIX}pending/to/{assignee_digest(one)}/{name}" for one in identities]
    await _put(store, keys, "pending")


async def mark_resolved(store: Store, record: EventRecord, *, check: bool = False) -> None:
    """Write `record`'s resolved entry (with `check`, only if it is missing), as far as the
    store lets: the outcome is what counts, and a missing entry is rebuilt by the next
    listing of pending events, so a failure here is logged, never raised."""
    try:
        if check:
            await ensure_entries(store, record, "resolved")
        else:
            await write_entries(store, record, "resolved")
    except (CorruptRecordError, StoreUnavailableError) as exc:
        log.warning("event %s is resolved, but its index entry was not written: %s", record.id, exc)


async def ensure_entries(store: Store, record: EventRecord, state: IndexState) -> None:
    """Write those of `record`'s entries in `state` that are missing; read the others only."""
    keys = entry_keys(record, state)
    found = await asyncio.gather(*(store.get_async(key) for key in keys))
    await _put(store, [key for key, data in zip(keys, found, strict=True) if data is None], state)


async def _put(store: Store, keys: list[str], state: IndexState) -> None:
    # A missing pending entry would hide its event; a missing resolved one is rebuilt.
    durable = state == "pending"
    if len(keys) == 1:  # an answer's one entry: no task to gather
        await store.put_if_absent_async(keys[0], b"", durable=durable)
    elif keys:
        await asyncio.gather(*(store.put_if_absent_async(k, b"", durable=durable) for k in keys))


class Names:
    """The names in an index folder after a start, in order, fetched `CHUNK` at a time."""

    def __init__(self, store: Store, folder: str, after: str) -> None:
        self._store = store
        self._folder = folder
        self._after = after
        self._names: deque[str] = deque()
        self._done = False

    async def peek(self) -> str | None:
        """The next name, or `None` at the end."""
        while not self._names and not self._done:
            start = self._folder + self._after if self._after else ""
            listed = await self._store.list_entries_async(
                self._folder, start_after=start, limit=CHUNK
            )
            self._done = len(listed) < CHUNK
            if listed:
                self._after = listed[-1].key.removeprefix(self._folder)
            names = (entry.key.removeprefix(self._folder) for entry in listed)
            self._names.extend(n for n in names if is_entry_name(n))  # strays left out
        return self._names[0] if self._names else None

    def pop(self) -> str:
        return self._names.popleft()

    async def holds(self, name: str) -> bool:
        """Whether `name` is among the names, passing those before it."""
        while (next_name := await self.peek()) is not None and next_name < name:
            self.pop()
        return next_name == name


async def count_pending(store: Store) -> int:
    """How many events are pending, from the index alone: names only, no record read.

    Those in `pending/all` that are neither in `resolved/all` nor past their deadline.
    An outcome whose resolved entry was lost counts as pending until a listing mends it.
    """
    now = datetime.now(timezone.utc).timestamp()
    return sum(1 for name in await unresolved_names(store) if name_deadline(name) > now)


async def unresolved_names(store: Store) -> list[str]:
    """The entry names of the events with no resolved entry, past their deadline or not:
    names only, no record read."""
    await index_store(store)
    listed, resolved = await asyncio.gather(store.list_async(PENDING), store.list_async(RESOLVED))
    closed = {key.removeprefix(RESOLVED) for key in resolved}
    names = (key.removeprefix(PENDING) for key in listed)
    return [n for n in names if is_entry_name(n) and n not in closed]


_indexed: weakref.WeakSet[Store] = weakref.WeakSet()


async def index_store(store: Store) -> None:
    """Give entries to events made before the index existed; once per store object.

    Lists the records' keys and the index (no record is read unless it lacks entries),
    then writes the `index/v1` marker so that other processes need not look again. A
    store that refuses writes (read-only) is listed as far as its index goes.
    """
    if store in _indexed:
        return
    if await store.get_async(MARKER_KEY) is None:
        try:
            if await _index_missing(store):
                await store.put_if_absent_async(MARKER_KEY, b"")
        except StoreUnavailableError as exc:
            log.warning("could not index the events of %s: %s", store.url, exc.cause)
            return
    _indexed.add(store)


async def _index_missing(store: Store) -> bool:
    """Write the entries events lack; whether the store holds any event."""
    event_keys, outcome_keys, pending, resolved = await asyncio.gather(
        store.list_async(EVENTS_PREFIX),
        store.list_async(OUTCOMES_PREFIX),
        store.list_async(PENDING),
        store.list_async(RESOLVED),
    )
    indexed = {key[-24:] for key in pending}
    closed = {key[-24:] for key in resolved}
    events = {i for i in map(id_of_key, event_keys) if i is not None}
    outcomes = {i for i in map(id_of_key, outcome_keys) if i is not None} & events
    gate = asyncio.Semaphore(READS_AT_ONCE)

    async def index(request_id: str) -> None:
        async with gate:
            try:
                record = await load_event(store, request_id)
            except (EventNotFoundError, CorruptRecordError):
                return  # listings leave it out, and `hitl doctor` names it
            if request_id not in indexed:
                await write_entries(store, record, "pending")
            if request_id in outcomes and request_id not in closed:
                await write_entries(store, record, "resolved")

    todo = (events - indexed) | (outcomes - closed)
    await asyncio.gather(*(index(request_id) for request_id in todo))
    return bool(events)
