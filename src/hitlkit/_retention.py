"""Retention: delete events resolved long ago, after copying them to an archive if asked.

An event is pruned when its outcome was recorded more than `older_than` ago, or when
its deadline passed more than `older_than` ago with no outcome recorded. An event
still open (no outcome, deadline ahead) is never pruned, however old.

**Finding them.** Every event has an entry in `index/pending/all/`, written before its
record, and entry names sort newest first by creation time (`_index`). An event
resolved or past its deadline long enough was created longer ago still, so a prune
lists `pending/all/` and `resolved/all/` side by side only from the names older than
the cut-off on, and reads the records of those that may be closed (marked resolved, or
past their deadline by the name): a recent event costs nothing, nor an open one. A
store made before the index existed is indexed first (`index_store`).
An event whose entries were lost (removed by hand, a damaged disk) is not found this
way: `sweep=True` (`hitl prune --sweep`) first lists every record and outcome and
writes the entries they lack, as the first listing of an old store does. (An answer
whose writer died before its resolved entry is found once a listing of open events has
written the entry again, which every such listing does.)

**The keys of an event**, all deleted through the store contract's `delete`:

```
index/pending/to/WHO/NAME     one per assignee        (deleted first)
audit/RUN8/ID-*               refusals, notices sent
notices/RUN8/ID-*             the reminder's marker
policy/RUN8/ID/*              votes, delegations, escalation steps (under a policy)
chat/open/NAME--SLOT          a chat message still to update (see `_chat._messages`)
chat/RUN8/ID/*                where its chat messages were posted, their final updates
temporal/KIND/ID/*            the workflows to signal (`hitlkit.contrib.temporal`)
events/RUN8/ID.json           the record (the request)
outcomes/RUN8/ID.json         the outcome
index/pending/run/RUN8/NAME
index/pending/all/NAME
index/resolved/all/NAME       (deleted last)
```

Standing approvals (`grants/`) belong to no event: they outlive the event that made
them, until they expire or are revoked, and event retention leaves them alone.

**The order is what makes a crash harmless.** The record goes before the outcome: a
record without its outcome would look open again (a waiter could be answered twice, a
form would take a new answer), while an outcome without its record is read by nobody
(every reader loads the record first; should the same event be asked again before the
next prune, it finds that outcome, as if it had not been pruned). The `all` entries go
last, `resolved/all` after `pending/all`: they are how a later prune finds what an
interrupted one left, so whatever remains of a half-pruned event is still named by one a
prune looks at (the resolved entry, or for an event that expired unanswered, its pending
entry, whose name says its deadline passed). A later prune that finds an entry with no
record deletes the rest (outcome, audit, entries), once the entry is older than
`LEFTOVER_GRACE` (so that a creation in progress, which writes its entries just before
its record, is never mistaken for one). The assignees' entries go first, since only the
record says where they are: none is left once the record is gone. (Entries named after a
creation that lost its race, which listings skip, go too, the record's assignees telling
where.) Several prunes at once (replicas of the app) are safe: each delete is
idempotent, and a record or outcome is deleted only if it still holds the bytes read, so
an event asked again meanwhile (same id, new record) is left alone. A process that read
a record keeps it in memory a minute at most (`_reading.RECORD_CACHE_SECONDS`), and the
pruning process forgets it at once.

**Archive.** With `archive=` (a folder or bucket URL, opened with `open_store`), every
key of an event is first copied there byte for byte, under the event's index name:
`ARCHIVE/NAME/events/RUN8/ID.json`, `ARCHIVE/NAME/outcomes/...`,
`ARCHIVE/NAME/audit/...`, `ARCHIVE/NAME/index/...`. Nothing of an event is deleted
until all of it is written there; an archive that refuses a write stops the prune with
that error. Copying the contents of `ARCHIVE/NAME/` back into the store restores the
event as it was. NAME starts with the creation time (newest first), so an event asked
again after it was pruned is archived beside its earlier self, not over it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Literal

from pydantic import ValidationError

from hitlkit._audit import audit_prefix
from hitlkit._chat._messages import CHAT_PREFIX, OPEN_PREFIX
from hitlkit._exceptions import CorruptRecordError
from hitlkit._index import (
    INDEX_PREFIX,
    PENDING,
    RESOLVED,
    Names,
    _index_missing,
    assignee_digest,
    entry_keys,
    entry_name,
    index_store,
    name_deadline,
)
from hitlkit._policy import Delegation
from hitlkit._policy_ops import policy_prefix
from hitlkit._reading import forget_event
from hitlkit._records import EventRecord, Outcome, event_key, outcome_key, utcnow
from hitlkit._store import Store, open_store
from hitlkit._sync import syncify

__all__ = ["LEFTOVER_GRACE", "PruneReport", "PrunedEvent", "prune", "prune_events"]

LEFTOVER_GRACE = timedelta(minutes=10)
"""How old an index entry with no record must be before a prune takes it for what an
interrupted prune left: a creation writes its entries just before its record."""
AT_ONCE = 16
"""Events read and pruned at once."""
NOTICES_PREFIX = "notices/"
# Folders where integrations keep records per event, as FOLDER/ID/...: listed once per
# prune and deleted with the event.
INTEGRATION_FOLDERS = ("temporal/targets/", "temporal/claims/", "temporal/sent/")

_LATEST_US = 10**16 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

PrunedStatus = Literal["answered", "timed_out", "defaulted", "cancelled", "expired", "leftover"]


@dataclass(frozen=True)
class PrunedEvent:
    """An event a prune deleted (or, in a dry run, would delete)."""

    request_id: str
    status: PrunedStatus
    """The outcome's status; `expired` (past its deadline, no outcome); `leftover` (what
    an interrupted prune left: entries, maybe an outcome, no record)."""
    since: datetime
    """When it was resolved, or its deadline when it has no outcome."""
    keys: int
    """How many keys it had (record, outcome, audit, index entries)."""
    run_id: str | None = None
    name: str | None = None


@dataclass
class PruneReport:
    """What a prune deleted (or would delete, `dry_run`), oldest last as the index orders them.

    `skipped` counts the records that could not be read: they are left for `hitl doctor`.
    """

    events: list[PrunedEvent] = field(default_factory=list)
    dry_run: bool = False
    archive: str | None = None
    skipped: int = 0

    @property
    def keys(self) -> int:
        """How many keys were (or would be) deleted."""
        return sum(event.keys for event in self.events)


@syncify
async def prune(
    store: Store | str,
    *,
    older_than: timedelta,
    dry_run: bool = False,
    archive: Store | str | None = None,
    sweep: bool = False,
) -> PruneReport:
    """Delete the events resolved more than `older_than` ago, and those past their
    deadline with no outcome for that long; never an open one.

    `archive` (a store or a folder/bucket URL) gets a copy of each event first;
    `dry_run` only says what would go; `sweep` also finds events whose index entries
    were lost (it lists every record and writes the entries they lack; not in a dry
    run). `store` is a `Store` or a URL.

    ```python
    report = hitlkit.prune(".hitl", older_than=timedelta(days=30), archive="s3://bak/hitl")
    print(len(report.events), "events pruned")
    ```

    A program restarted later with the run id of a pruned event asks its question again.
    """
    if older_than <= timedelta(0):
        raise ValueError(f"older_than must be a positive duration, got {older_than}")
    the_store = open_store(store) if isinstance(store, str) else store
    the_archive = open_store(archive) if isinstance(archive, str) else archive
    return await prune_events(
        the_store, older_than, utcnow(), dry_run=dry_run, archive=the_archive, sweep=sweep
    )


async def prune_events(
    store: Store,
    older_than: timedelta,
    now: datetime,
    *,
    dry_run: bool = False,
    archive: Store | None = None,
    sweep: bool = False,
) -> PruneReport:
    """`prune` at the time `now`."""
    report = PruneReport(dry_run=dry_run, archive=archive.url if archive else None)
    if sweep and not dry_run:
        await _index_missing(store)
    await index_store(store)
    pruner = _Pruner(store, now - older_than, now, report, None if dry_run else archive)
    await pruner.run(dry_run=dry_run)
    return report


def name_before(moment: datetime) -> str:
    """The text every index name of an event created before `moment` sorts after."""
    return f"{_LATEST_US - (moment - _EPOCH) // timedelta(microseconds=1):016d}"


def _name_created(name: str) -> datetime:
    return _EPOCH + timedelta(microseconds=_LATEST_US - int(name[:16]))


class _Pruner:
    """One pass over the index's old names: read, decide, archive, delete."""

    def __init__(
        self,
        store: Store,
        cutoff: datetime,
        now: datetime,
        report: PruneReport,
        archive: Store | None,
    ) -> None:
        self.store = store
        self.cutoff = cutoff
        self.now = now
        self.report = report
        self.archive = archive
        self._folders: dict[str, asyncio.Task[list[str]]] = {}
        """The audit and notices folders of the runs of the batch, each listed once: a
        bucket lists a whole folder to find one event's keys in it."""

    async def run(self, *, dry_run: bool) -> None:
        start = name_before(self.cutoff)
        every = Names(self.store, PENDING, start)
        resolved = Names(self.store, RESOLVED, start)
        cutoff_s = math.floor(self.cutoff.timestamp())
        batch: list[str] = []
        while (found := await _next_name(every, resolved)) is not None:
            name, closed = found
            # Only a name past its deadline, or marked resolved, can be one to prune.
            if closed or name_deadline(name) <= cutoff_s:
                batch.append(name)
            if len(batch) >= AT_ONCE:
                await self._take(batch, dry_run=dry_run)
                batch = []
        await self._take(batch, dry_run=dry_run)

    async def _take(self, batch: list[str], *, dry_run: bool) -> None:
        self._folders = {}
        found = await asyncio.gather(*(self._judge(name) for name in batch))
        chosen = [plan for plan in found if plan is not None]
        if dry_run:
            self.report.events += [plan.pruned for plan in chosen]
            return
        done = await asyncio.gather(*(self._prune(plan) for plan in chosen), return_exceptions=True)
        self.report.events += [
            plan.pruned for plan, error in zip(chosen, done, strict=True) if error is None
        ]
        for error in done:
            if error is not None:  # an archive (or the store) that fails stops the prune here
                raise error

    async def _judge(self, name: str) -> _Plan | None:
        """The plan to prune the event `name` names, or `None` to keep it."""
        request_id = name[-24:]
        try:
            record_data, outcome_data = await asyncio.gather(
                self.store.get_async(event_key(request_id)),
                self.store.get_async(outcome_key(request_id)),
            )
        except CorruptRecordError:
            self.report.skipped += 1  # unreadable (too big, a folder in its place): `hitl doctor`
            return None
        if record_data is None:
            return await self._leftover(name, outcome_data)
        try:
            record = EventRecord.model_validate_json(record_data)
            outcome = None if outcome_data is None else Outcome.model_validate_json(outcome_data)
        except ValidationError:
            self.report.skipped += 1  # `hitl doctor` names it
            return None
        if record.id != request_id or (outcome is not None and outcome.request_id != request_id):
            self.report.skipped += 1
            return None
        if entry_name(record) != name:
            return _stray(name, record)  # left by a creation that lost its race
        if outcome is None and not record.is_expired(self.now):
            return None  # open: never pruned
        since = outcome.at if outcome is not None else record.deadline
        if since > self.cutoff:
            return None
        keys = await self._event_keys(record, outcome is not None)
        pruned = PrunedEvent(
            request_id,
            outcome.status if outcome is not None else "expired",
            since,
            len(keys),
            run_id=record.run_id,
            name=record.name,
        )
        known = {event_key(request_id): record_data}
        if outcome_data is not None:
            known[outcome_key(request_id)] = outcome_data
        return _Plan(pruned, name, keys, known)

    async def _leftover(self, name: str, outcome_data: bytes | None) -> _Plan | None:
        """What an interrupted prune (or a creator that died) left: entries, no record."""
        created = _name_created(name)
        if created > min(self.cutoff, self.now - LEFTOVER_GRACE):
            return None  # perhaps a creation in progress
        request_id = name[-24:]
        extra = await self._trail(request_id)
        keys = [*extra, *_named_entries(name)]
        if outcome_data is not None:
            keys.insert(len(extra), outcome_key(request_id))
        pruned = PrunedEvent(request_id, "leftover", created, len(keys))
        known = {outcome_key(request_id): outcome_data} if outcome_data is not None else {}
        return _Plan(pruned, name, keys, known)

    async def _event_keys(self, record: EventRecord, resolved: bool) -> list[str]:
        """Every key of the event, in the order they are deleted (see the module's doc)."""
        pending = entry_keys(record, "pending")
        run_and_all = pending[:2]
        trail = await self._trail(record.id)
        to_assignees = [*pending[2:], *await self._more_assignees(record, trail)]
        done = entry_keys(record, "resolved") if resolved else []
        outcome = [outcome_key(record.id)] if resolved else []
        return [
            *to_assignees,
            *trail,
            event_key(record.id),
            *outcome,
            run_and_all[1],
            run_and_all[0],
            *done,
        ]

    async def _more_assignees(self, record: EventRecord, trail: list[str]) -> list[str]:
        """The entries that list `record` for the people its escalation steps and
        delegations let answer (`_index.add_assignees`), whether or not they were made."""
        people = [
            who for step in getattr(record.policy, "escalation", ()) for who in step.assignees
        ]
        handed = [key for key in trail if key.startswith(policy_prefix(record.id) + "delegations/")]
        for blob in await asyncio.gather(*(self.store.get_async(key) for key in handed)):
            with contextlib.suppress(ValidationError):
                if blob is not None:
                    people.append(Delegation.model_validate_json(blob).to)
        name = entry_name(record)
        own = set(record.assignees or ())
        return [
            f"{INDEX_PREFIX}pending/to/{assignee_digest(who)}/{name}"
            for who in dict.fromkeys(people)
            if who not in own
        ]

    async def _trail(self, request_id: str) -> list[str]:
        """The event's chat messages' open entries, audit entries, notices markers, policy
        records and chat messages. (A resolved event's outcome carries the votes it
        counted; an expired one's, if a crash left the record, is written again from the
        votes left when someone looks.) An open entry goes before its message's record:
        the chat driver finds an entry, never a message with no entry naming it."""
        prefixes = (
            audit_prefix(request_id),
            f"{NOTICES_PREFIX}{request_id[:8]}/{request_id}-",
            policy_prefix(request_id),
            f"{CHAT_PREFIX}{request_id[:8]}/{request_id}/",
            *(f"{folder}{request_id}/" for folder in INTEGRATION_FOLDERS),
        )
        listed = await asyncio.gather(
            self._listed(OPEN_PREFIX),
            *(self._listed(_folder_of(p)) for p in prefixes),
        )
        entries = [
            key
            for key in listed[0]
            if key.removeprefix(OPEN_PREFIX).partition("--")[0].endswith(request_id)
        ]
        return entries + [
            key
            for keys, p in zip(listed[1:], prefixes, strict=True)
            for key in keys
            if key.startswith(p)
        ]

    async def _listed(self, folder: str) -> list[str]:
        task = self._folders.get(folder)
        if task is None:
            task = self._folders[folder] = asyncio.ensure_future(self.store.list_async(folder))
        return await task

    async def _prune(self, plan: _Plan) -> None:
        if self.archive is not None:
            await self._archive(plan)
        for key in plan.keys:
            expected = plan.known.get(key)
            if expected is not None and await self.store.get_async(key) != expected:
                continue  # asked again since it was read: the new event stays
            await self.store.delete_async(key)
        forget_event(self.store, plan.pruned.request_id)

    async def _archive(self, plan: _Plan) -> None:
        """Copy every key of the event to the archive, under its name; raise if one fails."""
        archive = self.archive
        assert archive is not None
        if all(key.startswith(INDEX_PREFIX) for key in plan.keys):
            return  # stray entries only: nothing worth keeping

        async def copy(key: str) -> None:
            if key.startswith(INDEX_PREFIX):
                data: bytes | None = b""
            else:
                data = plan.known.get(key) or await self.store.get_async(key)
            if data is None:  # gone already: another prune holds it
                return
            copy_key = f"{plan.name}/{key}"
            # Written before (by an earlier, interrupted prune of this event, or by someone
            # else): only a byte-for-byte copy lets the original go.
            written = await archive.put_if_absent_async(copy_key, data)
            if not written and await archive.get_async(copy_key) != data:
                raise archive.unavailable(
                    f"the archive already holds {copy_key} with other bytes: "
                    "nothing of this event was deleted"
                )

        await asyncio.gather(*(copy(key) for key in plan.keys))


@dataclass(frozen=True)
class _Plan:
    pruned: PrunedEvent
    name: str
    keys: list[str]
    """In the order they are deleted."""
    known: dict[str, bytes]
    """The bytes read of the record and outcome: deleted only if they still hold these."""


def _folder_of(prefix: str) -> str:
    """The folder to list for an event's keys under `prefix`: one listing serves every
    event of a prune (`temporal/sent/ID/` and the others of `INTEGRATION_FOLDERS` are
    listed from their folder, as those are not split by run)."""
    for folder in INTEGRATION_FOLDERS:
        if prefix.startswith(folder):
            return folder
    return prefix.rpartition("/")[0] + "/"


def _named_entries(name: str) -> list[str]:
    """The entries `name` has wherever the name alone says (not the assignees'), in the
    order they are deleted."""
    return [f"{INDEX_PREFIX}pending/run/{name[-24:-16]}/{name}", PENDING + name, RESOLVED + name]


async def _next_name(every: Names, resolved: Names) -> tuple[str, bool] | None:
    """The next name of either folder, in order, and whether it is in `resolved/all`."""
    first, second = await every.peek(), await resolved.peek()
    if first is None and second is None:
        return None
    if second is None or (first is not None and first < second):
        return every.pop(), False
    if first == second:
        every.pop()
    return resolved.pop(), True


def _stray(name: str, record: EventRecord) -> _Plan:
    """Entries named after a creation that lost its race to `record`: the entries only."""
    own = entry_name(record)
    keys = [key.replace(own, name) for key in entry_keys(record, "pending")[2:]]
    keys += _named_entries(name)
    pruned = PrunedEvent(record.id, "leftover", _name_created(name), len(keys))
    return _Plan(pruned, name, keys, {})
