"""Operations on events kept in a store: create, read, answer, cancel, expire, list.

The Python API, the web app and the CLI all go through these functions, so
the rules live in one place:

- an answer is validated against the type recorded with the event: by name for
  int, float, str and bool, else against its recorded JSON Schema (`answer_data`);
- an outcome is written create-once: the first one recorded wins, and every
  later attempt gets `AlreadyAnsweredError` (answered first) or
  `EventClosedError` (timed out or cancelled first);
- except a retry: the same answer (same validated value) from the same identity,
  or with the same idempotency key, gets the recorded outcome back, marked
  `already_recorded`, since the client may have lost the first reply;
- the recorded outcome is the truth: a restarted program replays it, whatever
  it passes now;
- the deadline recorded at creation is final.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from hitlkit import _audit, _index
from hitlkit._exceptions import (
    AlreadyAnsweredError,
    EventClosedError,
    EventConflictError,
    EventNotFoundError,
    EventResolvedError,
    GrantError,
    HitlError,
    IdentityRequiredError,
    InvalidValueError,
    NotAssignedError,
    UnsupportedTypeError,
)
from hitlkit._policy import Policy, Proof, Vote
from hitlkit._reading import (
    EventState,
    get_event_state,
    load_event,
    load_outcome,
)
from hitlkit._records import (
    EventRecord,
    EventScope,
    Outcome,
    event_id,
    event_key,
    outcome_key,
    utcnow,
)
from hitlkit._store import Store
from hitlkit._values import ValueAdapter, adapter_of, canonical_json, to_json

__all__ = [
    "Answered",
    "answer_data",
    "answer_event",
    "answers_of",
    "cancel_event",
    "expire_event",
    "open_event",
    "refuse_unassigned",
]

log = logging.getLogger("hitlkit")


@dataclass(frozen=True)
class Answered:
    """The outcome an answer led to; `already_recorded` when an earlier, identical answer
    (a retry whose first reply was lost) had recorded it.

    Under a policy, an answer is a vote (`vote`), and `outcome` is `None` while the
    votes decide nothing yet."""

    outcome: Outcome | None
    already_recorded: bool = False
    vote: Vote | None = None


async def open_event(
    store: Store,
    *,
    name: str,
    value_type: ValueAdapter[Any],
    scope: EventScope,
    run_id: str,
    prompt: str,
    timeout_seconds: float,
    poll_interval_seconds: float,
    default: tuple[Any] | None,
    created_by: str,
    assignees: tuple[str, ...] | None = None,
    prompt_type: Literal["text", "markdown"] = "text",
    description: str | None = None,
    initial: Any = None,
    policy: Policy | None = None,
    requested_by: str | None = None,
    version: int = 1,
    previous_id: str | None = None,
) -> tuple[EventRecord, bool]:
    """Create the event (run_id, name), or find it if it exists with the same type.

    Returns the record and whether this call created it (`False` when a restarted
    program finds its event again). `assignees`, when given, are the only
    identities that may answer. Under a `policy` with a grant scope, a standing
    approval that covers the new event answers it at once.
    """
    request_id = event_id(scope, run_id, name, version)
    now = utcnow()
    record = EventRecord(
        id=request_id,
        name=name,
        scope=scope,
        run_id=run_id,
        prompt=prompt,
        data_type=value_type.name,
        json_schema=value_type.json_schema,
        validation=value_type.validation,
        prompt_type=prompt_type,
        description=description,
        initial=initial,
        created_at=now,
        deadline=now + timedelta(seconds=timeout_seconds),
        timeout_seconds=timeout_seconds,
        poll_interval_seconds=poll_interval_seconds,
        has_default=default is not None,
        default=value_type.dump(default[0]) if default is not None else None,
        created_by=created_by,
        assignees=assignees,
        policy=policy,
        requested_by=requested_by,
        version=version,
        previous_id=previous_id,
    )
    key = event_key(request_id)
    try:
        existing = await load_event(store, request_id)
    except EventNotFoundError:
        # Indexed first, so that no record lacks its entries (see `_index`).
        await _index.write_entries(store, record, "pending")
        if await store.put_if_absent_async(key, record.model_dump_json().encode()):
            if policy is not None and policy.grant_scope is not None:
                from hitlkit._policy_ops import resolve_by_grant

                await resolve_by_grant(store, record)
            return record, True
        existing = await load_event(store, request_id)
    else:
        await _index.ensure_entries(store, existing, "pending")  # made before the index
    if existing.data_type != value_type.name or (
        existing.validation == "schema" and existing.json_schema != record.json_schema
    ):
        how = "" if existing.data_type != value_type.name else " defined differently"
        raise EventConflictError(
            f"event {name!r} of run {run_id!r} exists with data_type {existing.data_type}{how}, "
            f"not {value_type.name}; use another name or run id"
        )
    return existing, False


async def answer_event(
    store: Store,
    request_id: str,
    value: object,
    *,
    by: str | None,
    via: str,
    as_text: bool = False,
    idempotency_key: str | None = None,
    proof: Proof = "store",
    comment: str | None = None,
    grant_seconds: float | None = None,
) -> Answered:
    """Record `value` as the answer, if it fits and the event is still open.

    Under a policy the answer is `by`'s vote (`_policy_ops.cast_vote`): `proof` says how
    `by` is known, `comment` goes with the vote, and `grant_seconds` asks that the
    decision stand for identical requests that long.

    `value` is text typed by a person when `as_text`, else a JSON value (text
    is parsed there too). An answer already recorded with the same validated
    value and the same `by` (or the same `idempotency_key`) is a retry: its
    outcome comes back `already_recorded`. Raises `EventNotFoundError`,
    `NotAssignedError` (the event has assignees and `by` is not one of them),
    `InvalidValueError`, `AlreadyAnsweredError` or `EventClosedError`.
    Refusals are audited.
    """
    # An outcome already recorded shows when the write fails: no read for it beforehand.
    record = await load_event(store, request_id)
    if record.policy is not None:
        from hitlkit._policy_ops import cast_vote

        outcome, vote, again = await cast_vote(
            store,
            record,
            value,
            by=by,
            via=via,
            proof=proof,
            as_text=as_text,
            comment=comment,
            grant_seconds=grant_seconds,
        )
        return Answered(outcome, already_recorded=again, vote=vote)
    if grant_seconds is not None:
        raise GrantError(
            f"event {record.id} takes no standing approvals: it has no policy with a grant_scope"
        )
    # Checked first: the 409 of a resolved event would show its answer to anyone.
    await refuse_unassigned(store, record, by=by, via=via, doing="answer")
    try:
        data = answer_data(record, value, as_text=as_text)
    except InvalidValueError:
        # Not an answer at all; if the event is resolved, say that rather than what fits.
        recorded = await (
            expire_event(store, record) if record.is_expired() else load_outcome(store, request_id)
        )
        if recorded is not None:
            raise await _refused(store, record, recorded, by=by, via=via) from None
        raise
    key_digest = _idempotency_digest(idempotency_key)
    if record.is_expired():
        winner = await expire_event(store, record)
    else:
        outcome = Outcome(
            request_id=request_id,
            status="answered",
            value=data,
            by=by,
            via=via,
            at=utcnow(),
            shown_sha256=_audit.shown_digest(record),
            idempotency_sha256=key_digest,
        )
        written, winner = await _record(store, outcome, record)
        if written:
            return Answered(outcome)
    if _is_retry(record, winner, data, by=by, key_digest=key_digest):
        return Answered(winner, already_recorded=True)
    raise await _refused(store, record, winner, by=by, via=via)


def _idempotency_digest(key: str | None) -> str | None:
    """What an outcome keeps of an idempotency key: its SHA-256, never the key itself."""
    return None if key is None else hashlib.sha256(key.encode()).hexdigest()


def _is_retry(
    record: EventRecord,
    recorded: Outcome,
    data: object,
    *,
    by: str | None,
    key_digest: str | None,
) -> bool:
    """Whether an answer of `data` is the one `recorded`, sent again.

    The same validated value, from the same identity or with the same key. Values
    compare as canonical JSON, so that `true` never passes for `1`.
    """
    if recorded.status != "answered":
        return False
    if not adapter_of(record).same(recorded.value, data):
        return False
    return recorded.by == by or (
        key_digest is not None and recorded.idempotency_sha256 == key_digest
    )


def answer_data(record: EventRecord, value: object, *, as_text: bool = False) -> Any:
    """`value` as the JSON data to record for `record`, or `InvalidValueError`.

    `value` is text typed by a person when `as_text`; otherwise JSON data, a
    Python value of the type (model instance, enum, date...), or text to parse.
    """
    adapter = answers_of(record)
    return adapter.parse_text(str(value)) if as_text else adapter.validate_json(to_json(value))


def answers_of(record: EventRecord) -> ValueAdapter[Any]:
    """What reads answers to `record`; `InvalidValueError` (not a crash) where its
    recorded type is one hitlkit cannot check, such as a pattern with look-around."""
    try:
        return adapter_of(record)
    except UnsupportedTypeError as exc:
        raise InvalidValueError(
            f"{exc}, so no answer to it can be checked", expected=record.data_type, got=None
        ) from None


async def cancel_event(
    store: Store,
    request_id: str,
    *,
    by: str | None,
    via: str,
    reason: str | None = None,
    assignees_only: bool = False,
    proof: Proof = "store",
) -> Outcome:
    """Call the event off, if it is still open; waiters get `EventCancelledError`.

    With `assignees_only` (the app), an event with assignees is cancelled by them only:
    others get `NotAssignedError`, audited. Under a policy that counts identities, a name
    only typed in (`proof="declared"`) cancels nothing, as it answers nothing, and through
    the app only who asked may withdraw the request: its voters decide by voting.
    """
    state = await get_event_state(store, request_id)
    policy = state.record.policy
    if policy is not None and policy.needs_identity and proof == "declared":
        raise IdentityRequiredError(
            f"event {request_id} is decided by a policy that needs verified identities "
            f"({policy.describe()}); a name typed without a credential may not cancel it. "
            "The app needs API tokens (--tokens-file)"
        )
    if assignees_only and policy is not None and policy.needs_identity:
        # Its people vote: one of them calling it off would decide alone. Who asked may
        # withdraw the request.
        from hitlkit._policy_ops import is_requester

        if not is_requester(state.record, by):
            await _audit.record_refusal(store, state.record, by=by, via=via, detail="not_assigned")
            raise NotAssignedError(
                f"event {request_id} is decided by votes ({policy.describe()}); only who asked "
                f"({state.record.requested_by}) may call it off, not {by or 'anonymous'}"
            )
    elif assignees_only:
        await refuse_unassigned(store, state.record, by=by, via=via, doing="cancel")
    await _refuse_if_resolved(store, state, by=by, via=via)
    outcome = Outcome(
        request_id=request_id,
        status="cancelled",
        by=by,
        via=via,
        at=utcnow(),
        reason=reason,
        shown_sha256=_audit.shown_digest(state.record),
    )
    return await _record_or_raise(store, outcome, state.record)


async def refuse_unassigned(
    store: Store, record: EventRecord, *, by: str | None, via: str, doing: str
) -> None:
    """`NotAssignedError` (audited) when the event has assignees and `by` is not one.

    The app's form calls it before it reads the posted value, so someone who may not
    answer never makes the app check one. Under a policy, who may answer depends on its
    steps and delegations too: the seats of `_policy_ops` decide."""
    if record.policy is not None:
        from hitlkit._policy_ops import records_now, seat_of

        records = await records_now(store, record)
        allowed = by is not None and seat_of(record, records, by) is not None
    else:
        allowed = record.may_answer(by)
    if not allowed:
        await _audit.record_refusal(store, record, by=by, via=via, detail="not_assigned")
        raise NotAssignedError(
            f"event {record.id} is assigned to other people; {by or 'anonymous'} may not {doing} it"
        )


async def _refuse_if_resolved(store: Store, state: EventState, *, by: str | None, via: str) -> None:
    outcome = state.outcome
    if outcome is None and state.record.is_expired():
        outcome = await expire_event(store, state.record)
    if outcome is not None:
        raise await _refused(store, state.record, outcome, by=by, via=via)


async def _refused(
    store: Store, record: EventRecord, outcome: Outcome, *, by: str | None, via: str
) -> EventResolvedError:
    """Audit an attempt made after `outcome`, and return the error to raise for it."""
    detail = "already_answered" if outcome.status == "answered" else "closed"
    await _audit.record_refusal(store, record, by=by, via=via, detail=detail)
    return resolved_error(outcome)


async def expire_event(store: Store, record: EventRecord) -> Outcome:
    """Record that the deadline passed (with the default, if any); return the winning outcome."""
    if record.policy is not None:
        from hitlkit._policy_ops import settle

        settled = await settle(store, record)  # the votes may have decided it in time
        assert settled is not None  # past the deadline, settling always records an outcome
        return settled
    outcome = Outcome(
        request_id=record.id,
        status="defaulted" if record.has_default else "timed_out",
        value=record.default,
        by="hitlkit",
        via="timeout",
        at=max(utcnow(), record.deadline),
        shown_sha256=_audit.shown_digest(record),
    )
    _, winner = await _record(store, outcome, record)
    return winner


def resolved_error(outcome: Outcome) -> EventResolvedError:
    """The error for an attempt to resolve an event that already has `outcome`."""
    when = outcome.at.isoformat(timespec="seconds")
    if outcome.status == "answered":
        who = f" by {outcome.by}" if outcome.by else ""
        return AlreadyAnsweredError(
            f"event {outcome.request_id} was already answered with {_shown(outcome.value)}{who} "
            f"via {outcome.via} at {when}; the first answer wins",
            outcome,
        )
    if outcome.status == "cancelled":
        return EventClosedError(f"event {outcome.request_id} was cancelled at {when}", outcome)
    return EventClosedError(
        f"event {outcome.request_id} timed out (recorded at {when}) and takes no more answers",
        outcome,
    )


def _shown(value: object, length: int = 80) -> str:
    text = canonical_json(value)
    return text if len(text) <= length else text[: length - 3] + "..."


async def _record(store: Store, outcome: Outcome, record: EventRecord) -> tuple[bool, Outcome]:
    """Write `outcome`, then its event's resolved entries; whether it won, and the winner."""
    key = outcome_key(outcome.request_id)
    if await store.put_if_absent_async(key, outcome.model_dump_json().encode()):
        await _index.mark_resolved(store, record)
        return True, outcome
    existing = await load_outcome(store, outcome.request_id)
    if existing is None:  # pragma: no cover - a create-once store never loses a key
        raise HitlError(f"outcome of {outcome.request_id} vanished from {store.url}")
    if existing == outcome:
        # Our own write, acknowledged late: a client retried a create that had succeeded.
        await _index.mark_resolved(store, record, check=True)
        return True, outcome
    return False, existing


async def _record_or_raise(store: Store, outcome: Outcome, record: EventRecord) -> Outcome:
    written, winner = await _record(store, outcome, record)
    if not written:
        raise await _refused(store, record, winner, by=outcome.by, via=outcome.via)
    return outcome
