"""What an event's page shows of its policy: where it stands, earlier rounds, and what the
person looking may do.

The page offers each person only what the policy would then allow (`_policy_ops` decides,
and refuses anything else all the same):

- `answer`: they hold a seat (their own, or one handed to them), have not voted, and are
  not barred by separation of duties; with it, a "Hand to…" form where the policy allows
  delegation, and "apply to identical requests" for grantors where it has a grant scope;
- `voted`, `barred`, `handed`, `no_seat`: what they did, or why they may not;
- `needs_identity`: the policy counts identities, and this person's is only declared (an
  app without tokens, or a link made for anyone);
- `anyone`: a policy that counts no identity, on an app where names are typed: the form
  as usual.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from hitlkit import _policy_ops, _reading
from hitlkit._exceptions import CorruptRecordError, EventNotFoundError
from hitlkit._policy import PolicyState, Vote
from hitlkit._records import EventRecord, Outcome, utcnow
from hitlkit._server._auth import Caller
from hitlkit._store import Store

__all__ = ["GRANT_SECONDS", "PolicyView", "Round", "earlier_rounds", "policy_view"]

GRANT_SECONDS = 24 * 3600
"""How long the page's "apply to identical requests" lets a decision stand."""
MAX_ROUNDS = 20
"""How many earlier versions a page shows."""

Role = Literal["answer", "voted", "barred", "handed", "no_seat", "needs_identity", "anyone"]


@dataclass(frozen=True)
class Round:
    """An earlier version of the question: what it asked, how it ended, and its votes."""

    record: EventRecord
    outcome: Outcome | None
    votes: tuple[Vote, ...]


@dataclass(frozen=True)
class PolicyView:
    """An event's policy as its page shows it to one person."""

    record: EventRecord
    state: PolicyState
    role: Role
    identity: str | None = None
    vote: Vote | None = None
    """This person's vote, once cast."""
    seat: str | None = None
    """The place they answer in, when it was handed to them."""
    why: str = ""
    """Why they may not answer (barred, handed on, not theirs), in a sentence."""
    may_delegate: bool = False
    may_grant: bool = False
    delegate_to: tuple[str, ...] | None = None
    rounds: list[Round] = field(default_factory=list)


async def policy_view(store: Store, record: EventRecord, caller: Caller) -> PolicyView:
    """The policy of `record` (which has one) as `caller` sees it."""
    records, outcome, rounds = await asyncio.gather(
        _policy_ops.read_records(store, record),
        _reading.load_outcome(store, record.id),
        earlier_rounds(store, record),
    )
    taken = {step.step for step in records.steps}
    if outcome is None and set(_policy_ops.due_steps(record, utcnow())) - taken:
        # Whoever looks takes a step that is due: the page need not wait for the driver.
        await _policy_ops.take_steps(store, record, records)
        records = await _policy_ops.read_records(store, record)
    state = _policy_ops.policy_state(record, records, outcome)
    policy = state.policy
    view = functools.partial(PolicyView, record=record, state=state, rounds=rounds)
    if policy.needs_identity and caller.proof == "declared":
        return view(role="needs_identity")
    if caller.kind == "nobody":
        return view(role="anyone")
    who = caller.by(None)
    mine = next((v for v in records.votes if v.by == who), None)
    if mine is not None:
        return view(role="voted", identity=who, vote=mine)
    if who in _policy_ops.barred(record):
        why = (
            f"Separation of duties: you ({who}) asked for this, so you may not answer it."
            if who == record.requested_by and policy.separate_duties
            else f"Separation of duties: this event's policy excludes {who}."
        )
        return view(role="barred", identity=who, why=why)
    handed = records.holders.get(who)
    if handed is not None:
        why = f"You handed this question to {handed}; they answer in your place."
        return view(role="handed", identity=who, why=why)
    seat = _policy_ops.seat_of(record, records, who)
    if seat is None:
        why = _not_yours(record, who)
        return view(role="no_seat", identity=who, why=why)
    return view(
        role="answer",
        identity=who,
        seat=None if seat == who else seat,
        may_delegate=policy.delegation and _policy_ops.seats(record, records) is not None,
        may_grant=policy.grant_scope is not None and who in _policy_ops.grantors(),
        delegate_to=policy.delegate_to,
    )


def _not_yours(record: EventRecord, who: str) -> str:
    """Why `who` has no seat: not theirs at all, or not yet (a later escalation step's)."""
    policy = record.policy
    assert policy is not None
    starts = policy.starts(record.created_at)
    for number, (step, at) in enumerate(zip(policy.escalation, starts, strict=True), 1):
        if number > 1 and who in step.assignees:
            return (
                f"Not yours to answer yet: {who} may answer from escalation step {number}, "
                f"at {_utc(at)}, if no decision comes before."
            )
    return f"Not yours to answer: this event is for other people, and you are {who}."


def _utc(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


async def earlier_rounds(store: Store, record: EventRecord) -> list[Round]:
    """The versions before `record`, newest first: each one's prompt, outcome and votes."""
    rounds: list[Round] = []
    previous = record.previous_id
    while previous is not None and len(rounds) < MAX_ROUNDS:
        try:
            earlier = await _reading.load_event(store, previous)
        except (EventNotFoundError, CorruptRecordError):
            break  # pruned, or damaged: show what is known
        outcome = await _reading.load_outcome(store, earlier.id)
        votes: tuple[Vote, ...] = ()
        if earlier.policy is not None:
            votes = (await _policy_ops.read_records(store, earlier)).votes
        rounds.append(Round(earlier, outcome, votes))
        previous = earlier.previous_id
    return rounds
