"""Reading events from a store: records, outcomes and states, as every channel shows them.

A record is read once per store object and kept (`RECORD_CACHE_SIZE`), since it never
changes once written; a record that cannot be read, or that names another event than its
key, raises `CorruptRecordError` with what is wrong, never its content.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from hitlkit._exceptions import CorruptRecordError, EventNotFoundError
from hitlkit._policy import GrantRecord, GrantRevocation, Policy, PolicyState
from hitlkit._records import (
    EventRecord,
    EventScope,
    Outcome,
    event_key,
    is_event_id,
    outcome_key,
)
from hitlkit._runtime import Runtime, runtime
from hitlkit._store import Store
from hitlkit._values import Validation

__all__ = [
    "RECORD_CACHE_SIZE",
    "EventInfo",
    "EventState",
    "EventStatus",
    "GrantInfo",
    "Listing",
    "StatusFilter",
    "forget_event",
    "get_event_state",
    "load_event",
    "load_outcome",
    "read_event_info",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

StatusFilter = Literal["pending", "resolved", "all"]
EventStatus = Literal["pending", "expired", "answered", "timed_out", "defaulted", "cancelled"]


@dataclass(frozen=True)
class EventState:
    """An event record with its outcome, if it has one."""

    record: EventRecord
    outcome: Outcome | None

    @property
    def status(self) -> EventStatus:
        """`pending`, `expired` (deadline passed, nothing recorded yet) or the outcome's status."""
        if self.outcome is not None:
            return self.outcome.status
        return "expired" if self.record.is_expired() else "pending"

    def info(
        self, form_url: str | None = None, *, policy_state: PolicyState | None = None
    ) -> EventInfo:
        """The event as shown to people and programs (`policy_state` where one event is read)."""
        r = self.record
        return EventInfo(
            request_id=r.id,
            name=r.name,
            scope=r.scope,
            run_id=r.run_id,
            prompt=r.prompt,
            data_type=r.data_type,
            json_schema=r.json_schema,
            validation=r.validation,
            prompt_type=r.prompt_type,
            description=r.description,
            initial=r.initial,
            created_at=r.created_at,
            deadline=r.deadline,
            timeout_seconds=r.timeout_seconds,
            status=self.status,
            outcome=self.outcome,
            form_url=form_url,
            assignees=list(r.assignees) if r.assignees is not None else None,
            policy=r.policy,
            policy_state=policy_state,
            requested_by=r.requested_by,
            version=r.version,
            previous_id=r.previous_id,
        )


class EventInfo(BaseModel):
    """An event as seen from outside: what it asks, until when, and how it ended.

    Returned by `Client.get_event` / `list_events` and by the app's JSON API.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    request_id: str = Field(description="24 hex digits derived from the run id and name")
    name: str
    scope: EventScope
    run_id: str
    prompt: str
    data_type: str = Field(
        description='a short name of the answer type: "int", "float", "str", "bool", "choice", '
        '"list[choice]", "date", "datetime", a model\'s name; "X | None" when optional'
    )
    json_schema: dict[str, Any] = Field(description="JSON Schema of an answer")
    validation: Validation = Field(
        default="named",
        description='"named": checked by data_type (int, float, str, bool); '
        '"schema": checked against json_schema',
    )
    prompt_type: Literal["text", "markdown"] = "text"
    description: str | None = Field(default=None, description="help text for the answer")
    initial: Any = Field(default=None, description="a partial answer that pre-fills the form")
    created_at: AwareDatetime
    deadline: AwareDatetime = Field(description="when the event stops taking answers (UTC)")
    timeout_seconds: float
    status: EventStatus = Field(
        description="pending, expired (past the deadline, nothing recorded yet), "
        "or the outcome's status: answered, timed_out, defaulted, cancelled"
    )
    outcome: Outcome | None = Field(
        default=None, description="how the event was resolved; null while open"
    )
    form_url: str | None = Field(default=None, description="the page where a person answers")
    assignees: list[str] | None = Field(
        default=None, description="who may answer; null lets anyone who may reach it answer"
    )
    policy: Policy | None = Field(
        default=None, description="how the event is decided (quorum, separation of duties, ...)"
    )
    policy_state: PolicyState | None = Field(
        default=None,
        description="where the event stands under its policy (votes, steps, who may answer "
        "now); given where one event is read, null in listings",
    )
    requested_by: str | None = Field(default=None, description="the identity that asked")
    version: int = Field(default=1, description="which round of the question (asked again)")
    previous_id: str | None = Field(
        default=None, description="the id of the version before, when asked again"
    )


class GrantInfo(GrantRecord):
    """A standing approval as `hitl grants ls`, `Client.grants` and `GET /api/grants` show it:
    the grant, its revocation once it has one, and whether it still counts."""

    revoked: GrantRevocation | None = None
    active: bool = Field(description="neither expired nor revoked")

    @classmethod
    def of(cls, grant: GrantRecord, revoked: GrantRevocation | None, now: datetime) -> GrantInfo:
        """`grant` with its revocation, as of `now`."""
        active = revoked is None and grant.expires_at > now
        return cls(**grant.model_dump(), revoked=revoked, active=active)


async def load_event(store: Store, request_id: str) -> EventRecord:
    """The record of `request_id`, or `EventNotFoundError` (also for malformed ids).

    Records are written once and never change, so the last `RECORD_CACHE_SIZE`
    read from each store are kept: the inbox and the pages read them again and again.
    Each is kept `RECORD_CACHE_SECONDS` at most, since retention may delete it (in
    another process) and the same id may be asked again with a new record.
    """
    if not is_event_id(request_id):
        raise EventNotFoundError(request_id)
    cache = runtime().get(_RecordCache)
    cached = cache.get(store, request_id)
    if cached is not None:
        return cached
    key = event_key(request_id)
    data = await store.get_async(key)
    if data is None:
        raise EventNotFoundError(request_id)
    record = _parsed(EventRecord, data, key, store)
    _check_names(store, key, request_id, record.id)
    cache.put(store, record)
    return record


RECORD_CACHE_SIZE = 4096
RECORD_CACHE_SECONDS = 60.0


class _RecordCache:
    """Recently read event records, per store object (a record never changes once written,
    but retention may delete it: each is kept `RECORD_CACHE_SECONDS` at most)."""

    def __init__(self, owner: Runtime) -> None:
        self._by_store: weakref.WeakKeyDictionary[Store, dict[str, tuple[EventRecord, float]]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def get(self, store: Store, request_id: str) -> EventRecord | None:
        with self._lock:
            records = self._by_store.get(store)
            kept = None if records is None else records.get(request_id)
            if records is None or kept is None:
                return None
            if kept[1] < time.monotonic():
                del records[request_id]
                return None
            return kept[0]

    def drop(self, store: Store, request_id: str) -> None:
        with self._lock:
            self._by_store.get(store, {}).pop(request_id, None)

    def put(self, store: Store, record: EventRecord) -> None:
        with self._lock:
            records = self._by_store.setdefault(store, {})
            if len(records) >= RECORD_CACHE_SIZE:
                del records[next(iter(records))]  # the oldest
            records.pop(record.id, None)  # read again: now the newest
            records[record.id] = (record, time.monotonic() + RECORD_CACHE_SECONDS)


def forget_event(store: Store, request_id: str) -> None:
    """Drop the kept record of `request_id`: retention deleted it, and the same id may be
    asked again later with another record."""
    runtime().get(_RecordCache).drop(store, request_id)


async def load_outcome(store: Store, request_id: str) -> Outcome | None:
    """The recorded outcome of `request_id`, or `None` while it is open."""
    if not is_event_id(request_id):
        raise EventNotFoundError(request_id)
    key = outcome_key(request_id)
    data = await store.get_async(key)
    if data is None:
        return None
    outcome = _parsed(Outcome, data, key, store)
    _check_names(store, key, request_id, outcome.request_id)
    return outcome


def _check_names(store: Store, key: str, request_id: str, named: str) -> None:
    """Refuse a record that names another event than its key: never another event's answer."""
    if named != request_id:
        shown = named if len(named) <= 40 else named[:37] + "..."
        reason = f"it names event {shown!r}, not {request_id}"
        raise CorruptRecordError(key, reason, store=store.url)


def _parsed(model: type[M], data: bytes, key: str, store: Store) -> M:
    """The record stored at `key`, or `CorruptRecordError` saying what is wrong with it."""
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        what = "an event record" if model is EventRecord else "an outcome"
        raise CorruptRecordError(
            key, f"not {what}: {_first_problem(exc)}", store=store.url
        ) from None


def _first_problem(exc: ValidationError) -> str:
    # Where and what, never the input: it may be large, or not text at all.
    error = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(map(str, error["loc"]))
    more = len(exc.errors()) - 1
    also = f" (and {more} more)" if more else ""
    return f"{where}: {error['msg']}{also}" if where else f"{error['msg']}{also}"


async def get_event_state(store: Store, request_id: str) -> EventState:
    """The record and outcome of `request_id`."""
    if store.reads_inline:
        # Reads that never wait: two tasks would cost more than the reads.
        return EventState(
            await load_event(store, request_id), await load_outcome(store, request_id)
        )
    record, outcome = await asyncio.gather(
        load_event(store, request_id), load_outcome(store, request_id)
    )
    return EventState(record, outcome)


async def read_event_info(store: Store, request_id: str, form_url: str | None = None) -> EventInfo:
    """One event as shown to people and programs, with where it stands under its policy."""
    from hitlkit._policy_ops import policy_state, read_records  # reads this module's records

    state = await get_event_state(store, request_id)
    if state.record.policy is None:
        return state.info(form_url)
    records = await read_records(store, state.record)
    return state.info(form_url, policy_state=policy_state(state.record, records, state.outcome))


class Listing(list[T], Generic[T]):
    """A list of events that also says how many records could not be read.

    `skipped` counts the bad entries left out (each logged as a warning);
    `hitl doctor` names them.
    """

    def __init__(self, items: Any = (), *, skipped: int = 0) -> None:
        super().__init__(items)
        self.skipped = skipped
