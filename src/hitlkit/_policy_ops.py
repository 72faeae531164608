"""Events under a policy: votes, delegations, escalation steps and standing approvals.

Each is a create-once record of its own, beside the event:

```
policy/<run8>/<id>/votes/<seat>.json          one per seat (an identity, or whoever holds
                                              its place after delegations)
policy/<run8>/<id>/delegations/<who>.json     one per identity that handed the question on
policy/<run8>/<id>/steps/<k>.json             one per escalation step taken
grants/<key>/<grant>.json                     a standing approval (<key>: name, scope, type)
grants/<key>/<grant>.revoked.json             its revocation
```

(`<seat>` and `<who>` are 16 hex digits of the SHA-256 of an identity.) A vote is written
once per seat, so no one votes twice, and a changed vote is refused. After each vote,
`settle` reads the votes in order and, if they decide, writes the event's one outcome
(create-once, as every outcome: the decision is made exactly once, whichever process
gets there first), carrying every vote it counted. Anyone who looks later (a waiter, the
app, the next voter) settles too, so a voter that dies between its vote and the outcome
loses nothing. A vote written while another process decides from the votes it had read
is left out of that decision: its voter is told so, as for any answer after the
outcome (`AlreadyAnsweredError`, HTTP 409), never that it counted. Escalation steps and
the deadline are taken by whoever looks when they are due: the app's background driver,
the waiter, or someone answering.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from hitlkit import _audit, _config, _index
from hitlkit._exceptions import (
    CorruptRecordError,
    DelegationError,
    GrantError,
    IdentityRequiredError,
    NotAssignedError,
    SeparationOfDutiesError,
    VoteChangedError,
)
from hitlkit._notify import Notices, redact, tell_once
from hitlkit._policy import (
    MAX_COMMENT_LENGTH,
    MAX_GRANT_SECONDS,
    Decision,
    Delegation,
    GrantRecord,
    GrantRevocation,
    Policy,
    PolicyState,
    Proof,
    StepTaken,
    Tally,
    Vote,
    check_policy,
    decide,
)
from hitlkit._reading import load_outcome
from hitlkit._records import EventRecord, Outcome, is_approval, policy_prefix, utcnow
from hitlkit._store import Store
from hitlkit._values import ValueAdapter, adapter_of

__all__ = [
    "GRANTS_PREFIX",
    "PolicyRecords",
    "answers_yes_no",
    "approves",
    "barred",
    "cast_vote",
    "current_state",
    "delegate",
    "expire_under_policy",
    "find_grant",
    "first_assignees",
    "grant_from",
    "grant_key",
    "grantors",
    "is_requester",
    "list_grants",
    "next_step_at",
    "policy_prefix",
    "policy_state",
    "prepare_policy",
    "read_records",
    "records_now",
    "resolve_by_grant",
    "revoke_grant",
    "seat_of",
    "seats",
    "settle",
    "take_steps",
    "tell_steps",
]

log = logging.getLogger("hitlkit")

GRANTS_PREFIX = "grants/"


def _digest16(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _vote_key(request_id: str, seat: str) -> str:
    return f"{policy_prefix(request_id)}votes/{_digest16(seat)}.json"


def _delegation_key(request_id: str, by: str) -> str:
    return f"{policy_prefix(request_id)}delegations/{_digest16(by)}.json"


def _step_key(request_id: str, step: int) -> str:
    return f"{policy_prefix(request_id)}steps/{step:02d}.json"


def _policy(record: EventRecord) -> Policy:
    if record.policy is None:  # pragma: no cover - callers check
        raise ValueError(f"event {record.id} has no policy")
    return record.policy


@dataclass(frozen=True)
class PolicyRecords:
    """What has been recorded under an event's policy, each in order."""

    votes: tuple[Vote, ...] = ()
    delegations: tuple[Delegation, ...] = ()
    steps: tuple[StepTaken, ...] = ()
    holders: dict[str, str] = field(default_factory=dict)
    """Each delegated seat's current holder."""


async def read_records(store: Store, record: EventRecord) -> PolicyRecords:
    """Every vote, delegation and step of `record`, in the order they were made."""
    prefix = policy_prefix(record.id)
    keys = await store.list_async(prefix)
    blobs = await asyncio.gather(*(store.get_async(key) for key in keys))
    found: dict[str, list[Any]] = {kind: [] for kind in _KINDS}
    for key, blob in zip(keys, blobs, strict=True):
        if blob is None:
            continue  # pruned meanwhile
        kind = key[len(prefix) :].partition("/")[0]
        if kind == "received":
            continue  # a delegate's claim to one place; the delegation itself is read
        kind = kind if kind in _KINDS else "votes"
        try:
            item = _KINDS[kind].model_validate_json(blob)
        except ValidationError:
            raise CorruptRecordError(key, f"not a {kind[:-1]} record", store=store.url) from None
        if item.request_id != record.id:
            raise CorruptRecordError(
                key, f"it names another event, not {record.id}", store=store.url
            )
        found[kind].append(item)
    votes = sorted(found["votes"], key=lambda v: (v.at, v.by))
    delegations = sorted(found["delegations"], key=lambda d: (d.at, d.by))
    steps = sorted(found["steps"], key=lambda s: s.step)
    return PolicyRecords(tuple(votes), tuple(delegations), tuple(steps), _holders(delegations))


_KINDS: dict[str, type[Vote | Delegation | StepTaken]] = {
    "votes": Vote,
    "delegations": Delegation,
    "steps": StepTaken,
}
"""The records under an event's policy folder, by subfolder."""


def _holders(delegations: list[Delegation]) -> dict[str, str]:
    """Each delegated seat's current holder: a chain `ana -> dan -> eve` gives ana's to eve."""
    handed = {d.by: d.to for d in delegations}
    holders = {}
    for seat in handed:
        holder, seen = seat, {seat}
        while holder in handed and handed[holder] not in seen:
            holder = handed[holder]
            seen.add(holder)
        holders[seat] = holder
    return holders


def first_assignees(
    policy: Policy, assignees: tuple[str, ...] | None, *, requested_by: str | None = None
) -> tuple[str, ...] | None:
    """The assignees to record for an event under `policy`: the quorum's members (or the
    assignees given) and the first escalation step's people."""
    base: tuple[str, ...] | None = assignees
    if policy.quorum is not None:
        if assignees is not None:
            raise ValueError(
                "a quorum's members are the people who may answer: give them as of=, not assignees="
            )
        base = policy.quorum.of
    if policy.escalation:
        base = tuple(dict.fromkeys([*(base or ()), *policy.escalation[0].assignees]))
    if base is not None:
        out = {_folded(who) for who in policy.excluded}
        if policy.separate_duties and requested_by is not None:
            out.add(_folded(requested_by))
        everyone = [*base, *(who for step in policy.escalation for who in step.assignees)]
        if all(_folded(who) in out for who in everyone):
            raise ValueError(
                f"no one may answer this event: separation of duties bars every assignee "
                f"({', '.join(dict.fromkeys(everyone))}); {requested_by} asked"
            )
    return base


def prepare_policy(
    policy: Policy | None,
    notices: Notices | None,
    *,
    value_type: ValueAdapter[Any],
    timeout_seconds: float,
    has_default: bool,
    requested_by: str,
) -> tuple[Policy | None, Notices | None]:
    """Check `policy` for a new event; return it as stored (escalation URLs hidden: they
    may hold credentials, and stay in the process, as `notify=` does) and the notices
    with its URLs."""
    if policy is None:
        return None, notices
    yes_no = value_type.name == "bool" or is_approval(value_type)
    check_policy(
        policy, timeout_seconds=timeout_seconds, has_default=has_default, answers_yes_no=yes_no
    )
    q = policy.quorum
    if q is not None:
        barred_here = {_folded(who) for who in policy.excluded}
        if policy.separate_duties:
            barred_here.add(_folded(requested_by))
        able = [m for m in q.of if _folded(m) not in barred_here]
        if len(able) < q.count:
            raise ValueError(
                f"the quorum needs {q.count} approvals but only {len(able)} of its members may "
                f"answer ({requested_by} asked, and separation of duties bars who asked"
                f"{' and those excluded' if policy.excluded else ''})"
            )
    steps = tuple(step.notify for step in policy.escalation)
    if any(steps) or policy.escalate_to:
        notices = (notices or Notices(())).with_policy(steps, policy.escalate_to)
    stored = policy.model_copy(
        update={
            "escalation": tuple(
                step.model_copy(update={"notify": tuple(redact(u) for u in step.notify)})
                for step in policy.escalation
            ),
            "escalate_to": tuple(redact(u) for u in policy.escalate_to),
        }
    )
    return stored, notices


async def current_state(store: Store, record: EventRecord) -> PolicyState:
    """Where `record` stands under its policy, read from the store; what is due (a step,
    the deadline, a decision a voter left unwritten) is settled first, as any look does."""
    outcome = await settle(store, record)
    return policy_state(record, await read_records(store, record), outcome)


async def tell_steps(
    store: Store, record: EventRecord, records: PolicyRecords, notices: Notices, endpoint: str
) -> None:
    """Send each step's URLs (once, whoever took the step): the asking process holds them."""
    for step in records.steps:
        if step.step < len(notices.steps) and notices.steps[step.step]:
            await tell_once(
                store,
                record,
                notices.steps[step.step],
                endpoint,
                kind=f"step{step.step}",
                title=f"Escalated (step {step.step + 1})",
            )


def seats(record: EventRecord, records: PolicyRecords) -> tuple[str, ...] | None:
    """The seats that count: the assignees (which hold the quorum's members and the first
    step's people, `first_assignees`) and those added by the steps taken; `None` for anyone."""
    base = record.assignees
    if base is None:
        return None
    added = [who for step in records.steps for who in step.assignees]
    return tuple(dict.fromkeys([*base, *added]))


def _plain_identity(text: str) -> bool:
    """Whether `text` can name an identity: no spaces, control, format (zero-width,
    direction) or other invisible characters."""
    return all(not ch.isspace() and unicodedata.category(ch)[0] not in "CZ" for ch in text)


def _folded(identity: str) -> str:
    """An identity as separation of duties compares it: "Ana", "ana " and its full-width
    form are one."""
    return unicodedata.normalize("NFKC", identity).strip().casefold()


def is_requester(record: EventRecord, who: str | None) -> bool:
    """Whether `who` is the identity that asked for `record`, compared as separation of
    duties compares identities."""
    asked = record.requested_by
    return who is not None and asked is not None and _folded(who) == _folded(asked)


def _barred(record: EventRecord, who: str) -> bool:
    """Whether separation of duties bars `who`, compared without case or width."""
    return _folded(who) in {_folded(one) for one in barred(record)}


def barred(record: EventRecord) -> frozenset[str]:
    """Who may not answer under separation of duties: the requester and those excluded."""
    policy = _policy(record)
    out = set(policy.excluded)
    if policy.separate_duties and record.requested_by:
        out.add(record.requested_by)
    return frozenset(out)


def seat_of(record: EventRecord, records: PolicyRecords, by: str) -> str | None:
    """The seat `by` answers in (their own, or one handed to them); `None` if none."""
    all_seats = seats(record, records)
    for seat, holder in records.holders.items():
        if holder == by and (all_seats is None or seat in all_seats):
            return seat
    if by in records.holders:
        return None  # handed on
    if all_seats is None or by in all_seats:
        return by
    return None


def approves(record: EventRecord, value: Any) -> bool:
    """Whether `value` approves, for an event that asks a yes or no."""
    if record.data_type == "bool":
        return value is True
    return is_approval(record) and isinstance(value, dict) and value.get("approved") is True


def answers_yes_no(record: EventRecord) -> bool:
    """Whether `record` asks a yes or no (bool, or an Approval)."""
    return record.data_type == "bool" or is_approval(record)


def tally_of(record: EventRecord, records: PolicyRecords) -> Tally:
    """What `decide` reads: the votes in order, and the seats that can still vote (a seat
    whose holder separation of duties bars never will)."""
    policy = _policy(record)
    all_seats = seats(record, records)
    if all_seats is not None:  # the people of steps still to come may yet approve
        later = [who for step in policy.escalation[1:] for who in step.assignees]
        all_seats = tuple(dict.fromkeys([*all_seats, *later]))
    yes_no = answers_yes_no(record)
    able = (
        None
        if all_seats is None
        else [s for s in all_seats if not _barred(record, records.holders.get(s, s))]
    )
    return Tally(
        kind="yes_no" if yes_no else "value",
        quorum=policy.quorum,
        votes=records.votes,
        seats=None if able is None else len(able),
        yes=tuple(approves(record, v.value) for v in records.votes) if yes_no else (),
    )


def _check_proof(record: EventRecord, by: str | None, proof: Proof, doing: str) -> str:
    policy = _policy(record)
    if policy.needs_identity and (proof == "declared" or not by):
        raise IdentityRequiredError(
            f"event {record.id} is decided by a policy that needs verified identities "
            f"({policy.describe()}); a name typed without a credential proves nothing, so "
            f"it may not {doing} here. The app needs API tokens (--tokens-file), or an "
            f"answer link made for the identity"
        )
    return by or "anonymous"


def _check_barred(record: EventRecord, who: str, doing: str) -> None:
    if _barred(record, who):
        why = (
            "asked for it"
            if record.requested_by is not None
            and _folded(who) == _folded(record.requested_by)
            and _policy(record).separate_duties
            else "is excluded by its policy"
        )
        raise SeparationOfDutiesError(
            f"separation of duties: {who} {why} and may not {doing} event {record.id}"
        )


async def cast_vote(
    store: Store,
    record: EventRecord,
    value: Any,
    *,
    by: str | None,
    via: str,
    proof: Proof,
    as_text: bool = False,
    comment: str | None = None,
    grant_seconds: float | None = None,
) -> tuple[Outcome | None, Vote, bool]:
    """Record `by`'s vote, then settle the event.

    Returns the outcome (or `None` while the votes decide nothing yet), the vote, and
    whether the vote had been recorded before (a retry). Raises `IdentityRequiredError`,
    `SeparationOfDutiesError`, `NotAssignedError`, `InvalidValueError`,
    `VoteChangedError`, or the error of an event already resolved.
    """
    from hitlkit._ops import _refused, answer_data  # the same layer; _ops dispatches here

    who = _check_proof(record, by, proof, "answer")
    _check_barred(record, who, "answer")
    if comment is not None and len(comment) > MAX_COMMENT_LENGTH:
        raise ValueError(f"a comment has at most {MAX_COMMENT_LENGTH} characters")
    if grant_seconds is not None:
        _check_grant_request(record, who, grant_seconds)
    records = await records_now(store, record)
    seat = seat_of(record, records, who)
    if seat is None:
        await _audit.record_refusal(store, record, by=who, via=via, detail="not_assigned")
        handed = records.holders.get(who)
        if handed is not None:
            raise NotAssignedError(
                f"{who} handed event {record.id} to {handed} and may not answer it"
            )
        raise NotAssignedError(
            f"event {record.id} is assigned to other people; {who} may not answer it"
        )
    data = answer_data(record, value, as_text=as_text)
    # Their vote in this seat, or in another one they held before (one identity, one vote).
    mine = next((v for v in records.votes if _seat(v) == seat), None) or next(
        (v for v in records.votes if v.by == who), None
    )
    outcome = await settle(store, record, records=records)
    if mine is not None:
        outcome, mine, again = _again(record, outcome, mine, who, data)
        return await _unless_left_out(store, record, outcome, mine), mine, again
    if outcome is not None:
        raise await _refused(store, record, outcome, by=who, via=via)
    vote = Vote(
        request_id=record.id,
        by=who,
        value=data,
        at=utcnow(),
        via=via,
        proof=proof,
        comment=comment or None,
        seat=None if seat == who else seat,
        grant_seconds=grant_seconds,
        shown_sha256=_audit.shown_digest(record),
    )
    if not await store.put_if_absent_async(
        _vote_key(record.id, seat), vote.model_dump_json().encode()
    ):
        records = await read_records(store, record)
        mine = next((v for v in records.votes if _seat(v) == seat), None)
        outcome = await settle(store, record, records=records)
        if mine is None:  # pragma: no cover - a create-once store never loses a key
            raise VoteChangedError(f"the vote of {seat} on event {record.id} could not be read")
        outcome, mine, again = _again(record, outcome, mine, who, data)
        return await _unless_left_out(store, record, outcome, mine), mine, again
    outcome = await settle(store, record)
    return await _unless_left_out(store, record, outcome, vote), vote, False


async def _unless_left_out(
    store: Store, record: EventRecord, outcome: Outcome | None, vote: Vote
) -> Outcome | None:
    """`outcome`, if its decision counts `vote`. A vote written while another process
    decided from the votes it had read, or recorded the deadline, is left out of the
    decision: its voter is told so (the error of a resolved event, with the outcome), and
    the refusal is audited."""
    from hitlkit._ops import _refused

    if outcome is None or (
        outcome.decision is not None and any(v.by == vote.by for v in outcome.votes or ())
    ):
        return outcome
    raise await _refused(store, record, outcome, by=vote.by, via=vote.via)


def _seat(vote: Vote) -> str:
    return vote.seat or vote.by


def _again(
    record: EventRecord, outcome: Outcome | None, mine: Vote, who: str, data: Any
) -> tuple[Outcome | None, Vote, bool]:
    """A vote already in this seat: the same one again is a retry; another is refused."""
    if mine.by == who and adapter_of(record).same(mine.value, data):
        return outcome, mine, True
    when = mine.at.isoformat(timespec="seconds")
    if mine.by != who:
        raise VoteChangedError(
            f"{mine.by} already voted in the place of {_seat(mine)} on event {record.id} at {when}"
        )
    raise VoteChangedError(
        f"{who} already voted on event {record.id} at {when}; a vote cannot be changed"
    )


async def settle(
    store: Store, record: EventRecord, *, records: PolicyRecords | None = None
) -> Outcome | None:
    """The event's outcome, written now if its votes decide it or its deadline passed;
    escalation steps that are due are taken. `None` while it stays open."""
    outcome = await load_outcome(store, record.id)
    if outcome is not None:
        if outcome.decision is not None and any(v.grant_seconds for v in outcome.votes or ()):
            await _grants_asked(store, record, outcome)  # its decider may have died before
        return outcome
    if records is None:
        records = await read_records(store, record)
    decision = decide(tally_of(record, records))
    if decision is not None:
        return await _decide(store, record, records, decision)
    if record.is_expired():
        return await expire_under_policy(store, record, records)
    await take_steps(store, record, records)
    return None


async def _decide(
    store: Store, record: EventRecord, records: PolicyRecords, decision: Decision
) -> Outcome:
    from hitlkit._ops import _record

    last = decision.counted[-1]
    failed = decision.kind == "failed"
    outcome = Outcome(
        request_id=record.id,
        status="cancelled" if failed else "answered",
        value=None if failed else decision.value,
        by="hitlkit" if failed else decision.by,
        via="policy" if failed else last.via,
        at=max(utcnow(), last.at),
        reason=_decision_reason(record, decision),
        shown_sha256=_audit.shown_digest(record),
        decision=decision.kind,
        votes=decision.counted,
        delegations=records.delegations or None,
        steps=records.steps or None,
    )
    _, winner = await _record(store, outcome, record)
    await _grants_asked(store, record, winner)
    return winner


def _decision_reason(record: EventRecord, decision: Decision) -> str | None:
    if decision.kind == "failed":
        return "no answer can get the identical votes the quorum needs"
    # The comments of those who decided: a rejection's reasons, not an approver's "fine".
    comments = [
        f"{v.by}: {v.comment}"
        for v in decision.counted
        if v.comment and _agrees(record, v.value, decision.value)
    ]
    return "; ".join(comments)[:MAX_COMMENT_LENGTH] or None


async def expire_under_policy(
    store: Store, record: EventRecord, records: PolicyRecords | None = None
) -> Outcome:
    """Record what the policy does at the deadline; return the outcome that won."""
    from hitlkit._ops import _record

    if records is None:
        records = await read_records(store, record)
    policy = _policy(record)
    action = policy.on_timeout or ("default" if record.has_default else "raise")
    use_default = record.has_default and action != "raise"
    outcome = Outcome(
        request_id=record.id,
        status="defaulted" if use_default else "timed_out",
        value=record.default if use_default else None,
        by="hitlkit",
        via="timeout",
        at=max(utcnow(), record.deadline),
        reason="escalated: no decision by the deadline" if action == "escalate" else None,
        shown_sha256=_audit.shown_digest(record),
        votes=records.votes or None,
        delegations=records.delegations or None,
        steps=records.steps or None,
        action=action,
    )
    _, winner = await _record(store, outcome, record)
    return winner


def due_steps(record: EventRecord, now: datetime) -> list[int]:
    """The escalation steps (1, 2, ...) whose start has come."""
    policy = _policy(record)
    return [k for k, at in enumerate(policy.starts(record.created_at)) if k and at <= now]


def next_step_at(record: EventRecord, records: PolicyRecords) -> datetime | None:
    """When the next escalation step starts, if one is still to come before the deadline."""
    if record.policy is None:
        return None
    taken = {s.step for s in records.steps}
    for k, at in enumerate(record.policy.starts(record.created_at)):
        if k and k not in taken and at < record.deadline:
            return at
    return None


async def records_now(store: Store, record: EventRecord) -> PolicyRecords:
    """`record`'s votes, delegations and steps, with the steps now due taken first: whoever
    looks takes them, so a person whose step came while no app or waiter ran may answer."""
    records = await read_records(store, record)
    taken = {s.step for s in records.steps}
    if record.is_expired() or set(due_steps(record, utcnow())) <= taken:
        return records
    await take_steps(store, record, records)
    return await read_records(store, record)


async def take_steps(store: Store, record: EventRecord, records: PolicyRecords) -> list[StepTaken]:
    """Take the escalation steps that are due and not taken; return those this call took."""
    policy = _policy(record)
    taken = {s.step for s in records.steps}
    made = []
    for k in due_steps(record, utcnow()):
        if k in taken:
            continue
        step = policy.escalation[k]
        entry = StepTaken(
            request_id=record.id,
            step=k,
            at=utcnow(),
            assignees=step.assignees,
            notified=step.notify,
            by=_config.host_and_pid(),
        )
        if await store.put_if_absent_async(
            _step_key(record.id, k), entry.model_dump_json().encode()
        ):
            log.info(
                "event %s escalated to step %d: %s", record.id, k + 1, ", ".join(step.assignees)
            )
            await _index.add_assignees(store, record, step.assignees)
            made.append(entry)
    return made


async def delegate(
    store: Store,
    record: EventRecord,
    *,
    by: str | None,
    to: str,
    reason: str,
    via: str,
    proof: Proof,
) -> Delegation:
    """Hand `by`'s place to `to`, for `reason`. Raises `DelegationError` where the policy
    does not allow it, or the errors of voting."""
    policy = _policy(record)
    who = _check_proof(record, by, proof, "delegate")
    if not policy.delegation:
        raise DelegationError(
            f"event {record.id} may not be delegated: its policy does not allow it"
        )
    to = str(to).strip()
    reason = (reason or "").strip()
    if not to or len(to) > 100 or not _plain_identity(to):
        raise DelegationError(
            "name the identity to hand the question to: at most 100 characters, with no "
            "spaces, control or invisible characters"
        )
    if not reason or len(reason) > MAX_COMMENT_LENGTH:
        raise DelegationError(f"say why, in at most {MAX_COMMENT_LENGTH} characters")
    if to == who:
        raise DelegationError(f"{who} cannot hand event {record.id} to themselves")
    _check_barred(record, who, "delegate")
    if _barred(record, to):
        raise SeparationOfDutiesError(
            f"separation of duties: event {record.id} may not be handed to {to}, "
            f"who may not answer it"
        )
    if policy.delegate_to is not None and to not in policy.delegate_to:
        raise DelegationError(
            f"event {record.id} may be handed only to {', '.join(policy.delegate_to)}"
        )
    if await load_outcome(store, record.id) is not None or record.is_expired():
        outcome = await settle(store, record)
        if outcome is not None:
            from hitlkit._ops import resolved_error

            raise resolved_error(outcome)
    records = await records_now(store, record)
    earlier = next((d for d in records.delegations if d.by == who), None)
    if earlier is not None:  # a retry returns the first; another is refused
        if earlier.to == to:
            return earlier
        raise DelegationError(
            f"{who} already handed event {record.id} to {earlier.to}; a place is handed once"
        )
    seat = seat_of(record, records, who)
    all_seats = seats(record, records)
    if all_seats is None:
        raise DelegationError(
            f"event {record.id} takes answers from anyone: there is no place to hand on"
        )
    if seat is None:
        raise NotAssignedError(
            f"event {record.id} is assigned to other people; {who} may not delegate it"
        )
    if any(_seat(v) == seat for v in records.votes):
        raise DelegationError(
            f"{who} already voted on event {record.id}; a vote cannot be handed on"
        )
    later = {who for step in policy.escalation for who in step.assignees}
    if to in all_seats or to in later or to in records.holders.values():
        raise DelegationError(
            f"{to} already has a place on event {record.id}; one identity votes once"
        )
    if to in records.holders:
        raise DelegationError(f"{to} handed their place on event {record.id} on already")
    entry = Delegation(request_id=record.id, by=who, to=to, reason=reason, at=utcnow(), via=via)
    # One place per delegate: of two handing theirs to the same identity at once, one wins.
    claim = f"{policy_prefix(record.id)}received/{_digest16(to)}.json"
    if not await store.put_if_absent_async(claim, entry.model_dump_json().encode()):
        blob = await store.get_async(claim)
        first = None if blob is None else Delegation.model_validate_json(blob)
        if first is None or first.by != who:
            raise DelegationError(
                f"{to} already has a place on event {record.id}; one identity votes once"
            )
    if not await store.put_if_absent_async(
        _delegation_key(record.id, who), entry.model_dump_json().encode()
    ):
        records = await read_records(store, record)
        existing = next((d for d in records.delegations if d.by == who), None)
        if existing is not None and existing.to == to:
            return existing
        raise DelegationError(f"{who} already handed event {record.id} to someone else")
    await _index.add_assignees(store, record, [to])
    return entry


def policy_state(
    record: EventRecord,
    records: PolicyRecords,
    outcome: Outcome | None,
    *,
    grant: GrantRecord | None = None,
) -> PolicyState:
    """Where the event stands under its policy, for pages, the CLI and the API."""
    policy = _policy(record)
    tally = tally_of(record, records)
    needed = 1 if policy.quorum is None else policy.quorum.count
    yes = sum(1 for y in tally.yes if y)
    no = sum(1 for y in tally.yes if y is False)
    all_seats = seats(record, records)
    may = None
    if all_seats is not None:
        holders = [records.holders.get(s, s) for s in all_seats]
        voted = {_seat(v) for v in records.votes}
        may = tuple(
            h
            for s, h in zip(all_seats, holders, strict=True)
            if s not in voted and not _barred(record, h)
        )
    if outcome is not None and outcome.grant is not None:
        grant = outcome.grant
    return PolicyState(
        policy=policy,
        summary=_summary(record, tally, outcome, needed, yes, no, records),
        requested_by=record.requested_by,
        needed=needed,
        approvals=yes,
        rejections=no,
        votes=records.votes,
        delegations=records.delegations,
        steps=records.steps,
        step=max((s.step for s in records.steps), default=0),
        next_step_at=None if outcome is not None else next_step_at(record, records),
        may_answer=None if outcome is not None else may,
        grant=grant,
    )


def _summary(
    record: EventRecord,
    tally: Tally,
    outcome: Outcome | None,
    needed: int,
    yes: int,
    no: int,
    records: PolicyRecords,
) -> str:
    if outcome is not None:
        if outcome.grant is not None:
            return f"approved at once by a standing approval of {outcome.grant.by}"
        if outcome.decision == "vetoed":
            return f"vetoed by {outcome.by}"
        if outcome.decision == "approved":
            counted = len(outcome.votes or ())
            return f"approved by {needed} of {counted} votes ({needed} needed)"
        if outcome.decision == "rejected":
            return f"rejected: {needed} approvals are out of reach"
        if outcome.decision == "failed":
            return f"no decision: {needed} identical answers are out of reach"
        if outcome.status in ("timed_out", "defaulted"):
            return f"no decision by the deadline ({outcome.action or 'raise'})"
        return outcome.status
    if tally.kind == "yes_no" and tally.quorum is not None:
        text = f"{yes} of {needed} approved"
        if no:
            text += f", {no} rejected"
    else:
        text = (
            f"{len(records.votes)} of {needed} answers" if tally.quorum else "waiting for an answer"
        )
    following = next_step_at(record, records)
    step = max((s.step for s in records.steps), default=0)
    if record.policy is not None and record.policy.escalation:
        text += f"; at step {step + 1} of {len(record.policy.escalation)}"
        if following is not None:
            text += f", step {step + 2} at {following.isoformat(timespec='seconds')}"
    return text


# -- standing approvals -------------------------------------------------------


def grant_key(record: EventRecord) -> str | None:
    """The grants folder of events like `record` (same name, scope key and type)."""
    policy = record.policy
    if policy is None or policy.grant_scope is None:
        return None
    return f"{GRANTS_PREFIX}{_digest16(record.name, policy.grant_scope, _type_digest(record))}/"


def _type_digest(record: EventRecord) -> str:
    """What a standing approval must match besides the name and scope key: the answer
    type and the policy, so a grant made where one person decides never answers an event
    that needs a quorum, a veto or other people."""
    from hitlkit._values import canonical_json

    policy = None if record.policy is None else record.policy.model_dump(mode="json")
    return hashlib.sha256(
        canonical_json([record.data_type, record.validation, record.json_schema, policy]).encode()
    ).hexdigest()


def grantors() -> tuple[str, ...]:
    """`HITL_GRANTORS`: the identities that may make and revoke standing approvals."""
    return _config.setting_list("grantors")


def _check_grant_request(record: EventRecord, who: str, seconds: float) -> None:
    policy = _policy(record)
    if policy.grant_scope is None:
        raise GrantError(
            f"event {record.id} takes no standing approvals: its policy has no grant_scope"
        )
    if who not in grantors():
        raise GrantError(
            f"{who} is not a grantor (HITL_GRANTORS) and may not make standing approvals"
        )
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not 0 < seconds <= MAX_GRANT_SECONDS
    ):
        raise GrantError(
            f"a standing approval lasts 1 second to {MAX_GRANT_SECONDS} seconds, got {seconds!r}"
        )


async def _grants_asked(store: Store, record: EventRecord, outcome: Outcome) -> None:
    """Make the standing approval that the deciding votes asked for, unless made already.

    Under a quorum, every vote that agreed with the decision must have asked for it (each
    from a grantor), so no one's approval is made to stand for later requests without
    them; it lasts the shortest time asked. Whoever settles makes it, the same bytes from
    any process, so a decider that dies between the outcome and the grant loses nothing."""
    if outcome.status != "answered":
        return
    agreeing = [v for v in outcome.votes or () if _agrees(record, v.value, outcome.value)]
    askers = [v for v in agreeing if v.grant_seconds is not None and v.by in grantors()]
    if not askers:
        return
    if len(askers) < len(agreeing):
        log.info(
            "no standing approval for event %s: %s approved without asking for one",
            record.id,
            ", ".join(v.by for v in agreeing if v not in askers),
        )
        return
    seconds = min(v.grant_seconds or 0 for v in askers)
    try:
        await grant_from(
            store,
            record,
            outcome,
            by=askers[0].by,
            seconds=seconds,
            co_signers=tuple(v.by for v in askers[1:]),
        )
    except GrantError as exc:  # checked at the vote; settings may have changed since
        log.warning("standing approval asked with the votes on %s not made: %s", record.id, exc)


def _agrees(record: EventRecord, value: Any, decided: Any) -> bool:
    """Whether a vote of `value` agrees with the decision: a yes or no by its yes or no
    (an approval's reason may differ), another type by its value."""
    if answers_yes_no(record):
        return approves(record, value) == approves(record, decided)
    return adapter_of(record).same(value, decided)


async def grant_from(
    store: Store,
    record: EventRecord,
    outcome: Outcome,
    *,
    by: str,
    seconds: float,
    co_signers: tuple[str, ...] = (),
) -> GrantRecord:
    """Let `outcome`'s answer stand for later identical requests for `seconds` from its
    decision (made once: the grant already made, if any, is returned)."""
    _check_grant_request(record, by, seconds)
    if outcome.status != "answered":
        raise GrantError(f"event {record.id} was not answered; only an answer can stand")
    if answers_yes_no(record) and not approves(record, outcome.value):
        raise GrantError(f"event {record.id} was rejected; only an approval can stand")
    folder = grant_key(record)
    assert folder is not None
    assert record.policy is not None
    assert record.policy.grant_scope is not None
    grant = GrantRecord(
        id=_digest16("grant", record.id, by),
        name=record.name,
        scope=record.policy.grant_scope,
        data_type=record.data_type,
        type_sha256=_type_digest(record),
        value=outcome.value,
        by=by,
        co_signers=co_signers,
        at=outcome.at,
        expires_at=outcome.at + timedelta(seconds=seconds),
        source=record.id,
    )
    key = f"{folder}{grant.id}.json"
    made = await store.get_async(key)
    if made is not None:
        return GrantRecord.model_validate_json(made)
    if not await store.put_if_absent_async(key, grant.model_dump_json().encode()):
        blob = await store.get_async(key)
        if blob is not None:
            return GrantRecord.model_validate_json(blob)
    return grant


async def list_grants(
    store: Store, *, active_only: bool = False
) -> list[tuple[GrantRecord, GrantRevocation | None]]:
    """Every standing approval with its revocation, newest first."""
    keys = await store.list_async(GRANTS_PREFIX)
    blobs = await asyncio.gather(*(store.get_async(k) for k in keys))
    grants: dict[str, GrantRecord] = {}
    revoked: dict[str, GrantRevocation] = {}
    for key, blob in zip(keys, blobs, strict=True):
        if blob is None:
            continue
        try:
            if key.endswith(".revoked.json"):
                r = GrantRevocation.model_validate_json(blob)
                revoked[r.id] = r
            else:
                g = GrantRecord.model_validate_json(blob)
                grants[g.id] = g
        except ValidationError:
            log.warning("skipping %s: not a grant record", key)
    now = utcnow()
    out = [
        (g, revoked.get(g.id))
        for g in grants.values()
        if not active_only or (g.id not in revoked and g.expires_at > now)
    ]
    out.sort(key=lambda pair: pair[0].at, reverse=True)
    return out


async def find_grant(store: Store, record: EventRecord) -> GrantRecord | None:
    """The newest active standing approval for events like `record`, if any, made by
    someone who may answer `record`: a grantor who asks, or whom its policy bars, does not
    approve their own request through a grant made earlier."""
    folder = grant_key(record)
    if folder is None:
        return None
    keys = await store.list_async(folder)
    ids = {k.rpartition("/")[2].removesuffix(".json") for k in keys}
    now = utcnow()
    best: GrantRecord | None = None
    for key in keys:
        if key.endswith(".revoked.json"):
            continue
        grant_id = key.rpartition("/")[2].removesuffix(".json")
        if f"{grant_id}.revoked" in ids:
            continue
        blob = await store.get_async(key)
        if blob is None:
            continue
        try:
            grant = GrantRecord.model_validate_json(blob)
        except ValidationError:
            continue
        fits = (
            grant.expires_at > now
            and grant.type_sha256 == _type_digest(record)
            and not any(_barred(record, who) for who in (grant.by, *grant.co_signers))
            and (
                record.assignees is None
                or all(who in record.assignees for who in (grant.by, *grant.co_signers))
            )
        )
        if fits and (best is None or grant.at > best.at):
            best = grant
    return best


async def revoke_grant(
    store: Store, grant_id: str, *, by: str, reason: str | None = None
) -> GrantRevocation:
    """Call a standing approval off; only grantors may."""
    if by not in grantors():
        raise GrantError(
            f"{by} is not a grantor (HITL_GRANTORS) and may not revoke standing approvals"
        )
    for grant, revocation in await list_grants(store):
        if grant.id != grant_id:
            continue
        if revocation is not None:
            return revocation
        folder = f"{GRANTS_PREFIX}{_digest16(grant.name, grant.scope, grant.type_sha256)}/"
        made = GrantRevocation(id=grant_id, by=by, at=utcnow(), reason=reason)
        key = f"{folder}{grant_id}.revoked.json"
        if not await store.put_if_absent_async(key, made.model_dump_json().encode()):
            blob = await store.get_async(key)
            if blob is not None:
                return GrantRevocation.model_validate_json(blob)
        return made
    raise GrantError(f"no standing approval has the id {grant_id!r}")


async def resolve_by_grant(store: Store, record: EventRecord) -> Outcome | None:
    """If a standing approval covers `record`, record its answer at once; the outcome that won."""
    from hitlkit._ops import _record

    grant = await find_grant(store, record)
    if grant is None:
        return None
    if _barred(record, grant.by):
        log.info(
            "standing approval %s of %s does not answer event %s: separation of duties bars %s",
            grant.id,
            grant.by,
            record.id,
            grant.by,
        )
        return None
    outcome = Outcome(
        request_id=record.id,
        status="answered",
        value=grant.value,
        by=grant.by,
        via="grant",
        at=utcnow(),
        reason=f"standing approval {grant.id} of {grant.by}, "
        f"until {grant.expires_at.isoformat(timespec='seconds')}",
        shown_sha256=_audit.shown_digest(record),
        decision="granted",
        grant=grant,
    )
    _, winner = await _record(store, outcome, record)
    return winner
