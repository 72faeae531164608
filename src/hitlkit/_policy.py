"""Decision policies, and the rules that decide an event under one, without I/O.

A policy is chosen per event (`new_event(..., policy=...)`) and recorded with it:

- `Quorum(2, of=["ana", "bo", "cy"])`: M distinct identities must give the same answer;
  for a yes or no, M approvals approve, and a member's rejection vetoes (unless
  `veto=False`, when the event is rejected once M approvals are out of reach);
- `Policy(separate_duties=True, excluded=[...])`: the identity that asked, and those
  listed, may not answer;
- `Policy(escalation=[Step(["ana"], 600), Step(["oncall"], notify=[...])])`: when a step
  passes without a decision, the next step's people are told and may answer too;
- `Policy(on_timeout="escalate", escalate_to=[...])`: what the deadline does;
- `Policy(delegation=True)`: a person who may answer hands the question to another;
- `Policy(grant_scope="db:prod")`: a decision may stand for later identical requests
  (a standing approval, made by a configured grantor, until it expires or is revoked).

Votes, delegations and escalation steps are create-once records of their own
(`_policy_ops`); `decide` reads them in order and says whether they decide the event.

```python
decide(Tally(kind="bool", quorum=Quorum(2, of=("ana", "bo", "cy")), votes=votes, seats=3))
```
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from hitlkit._values import canonical_json

__all__ = [
    "MAX_COMMENT_LENGTH",
    "MAX_GRANT_SECONDS",
    "Decision",
    "Delegation",
    "GrantRecord",
    "GrantRevocation",
    "Policy",
    "PolicyState",
    "Quorum",
    "Step",
    "StepTaken",
    "Tally",
    "Vote",
    "as_policy",
    "decide",
]

MAX_COMMENT_LENGTH = 2000
MAX_GRANT_SECONDS = 366 * 24 * 3600
"""The longest a standing approval lasts: a year."""
MAX_STEPS = 20
MAX_MEMBERS = 100

DecisionKind = Literal["approved", "rejected", "vetoed", "agreed", "failed", "granted"]
OnTimeout = Literal["raise", "default", "escalate"]
Proof = Literal["token", "link", "store", "chat", "declared"]
"""How an identity was known: an API token, a signed link, access to the store itself
(the Python API or `hitl` on the store), a chat platform's signed request (Slack's:
a verified user, mapped to an identity), or only declared (a name typed without a
credential, where the app has no tokens)."""


def _identities(what: str, names: Iterable[str], *, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(names, str):
        raise TypeError(f"{what} must be a list of identities, not one string")
    chosen = tuple(dict.fromkeys(names))
    if not allow_empty and not chosen:
        raise ValueError(f"{what} must name at least one identity")
    if len(chosen) > MAX_MEMBERS:
        raise ValueError(f"{what} may name at most {MAX_MEMBERS} identities")
    for who in chosen:
        if not isinstance(who, str) or not who.strip() or len(who) > 100:
            raise ValueError(
                f"each identity in {what} must be non-empty text of at most 100 characters, "
                f"got {who!r}"
            )
    return chosen


class Quorum(BaseModel):
    """M distinct identities of `of` must agree.

    For a yes or no (`bool`, `Approval`): `count` approvals approve. With `veto` (the
    default for a yes or no), one rejection from a member (or from `vetoers`, when
    given) rejects at once; without it, the event is rejected once so many members
    have rejected that `count` approvals are out of reach. For other types, `count`
    identical answers decide; when that is out of reach, `wait()` raises
    `DecisionFailedError`.

    ```python
    Quorum(2, of=["ana", "bo", "cy"])              # two of three; any one vetoes
    Quorum(3, of=board, veto=False)                # three of the board, no veto
    ```
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(ge=1, le=MAX_MEMBERS)
    of: tuple[str, ...]
    veto: bool | None = None
    """Whether a rejection vetoes: `None` means yes for a yes or no."""
    vetoers: tuple[str, ...] | None = None
    """Who may veto (default: every member)."""

    def __init__(
        self,
        count: int,
        of: Sequence[str] = (),
        *,
        veto: bool | None = None,
        vetoers: Sequence[str] | None = None,
    ) -> None:
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"a quorum's count must be a whole number, got {count!r}")
        members = _identities("a quorum's members (of=)", of)
        if not 1 <= count <= len(members):
            raise ValueError(
                f"a quorum's count must be between 1 and the number of members "
                f"({len(members)}), got {count}"
            )
        chosen = None if vetoers is None else _identities("vetoers", vetoers)
        if chosen is not None and not set(chosen) <= set(members):
            raise ValueError("vetoers must be members of the quorum (of=)")
        super().__init__(count=count, of=members, veto=veto, vetoers=chosen)


class Step(BaseModel):
    """One step of an escalation: who may answer from then on, for how long, whom to tell.

    `after_seconds` is how long the step lasts without a decision before the next one
    starts (the last step lasts until the deadline). `notify` are Apprise URLs told
    when the step starts (the first step's people are told through the event's own
    `notify=`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    assignees: tuple[str, ...]
    after_seconds: float | None = None
    notify: tuple[str, ...] = ()

    def __init__(
        self,
        assignees: Sequence[str],
        after_seconds: float | None = None,
        notify: Sequence[str] = (),
    ) -> None:
        if after_seconds is not None and (
            isinstance(after_seconds, bool)
            or not isinstance(after_seconds, (int, float))
            or not after_seconds > 0
            or not math.isfinite(after_seconds)
        ):
            raise ValueError(
                f"a step's after_seconds must be a positive number, got {after_seconds!r}"
            )
        if isinstance(notify, str):
            raise TypeError("a step's notify must be a list of URLs, not one string")
        super().__init__(
            assignees=_identities("a step's assignees", assignees),
            after_seconds=after_seconds,
            notify=tuple(notify),
        )


class Policy(BaseModel):
    """How an event is decided: who answers, how many must agree, what time does.

    ```python
    Policy(
        quorum=Quorum(2, of=["ana", "bo", "cy"]),
        separate_duties=True,
        delegation=True,
        grant_scope="db-migrations:prod",
    )
    ```

    - `quorum`: see `Quorum`; without one, the first answer allowed decides;
    - `separate_duties`: the identity that asked (`requested_by`) may not answer,
      vote, be delegated to, or grant; nor may those in `excluded`;
    - `escalation`: steps (`Step`, or `(assignees, after_seconds, notify)` tuples)
      that must start before the deadline; each adds its people to who may answer;
    - `on_timeout`: at the deadline, `"raise"` (`EventTimeoutError`), `"default"` (the
      event's default) or `"escalate"` (as `"raise"`, or the default if there is one,
      and `escalate_to` and every step's URLs are told that no decision came); when
      not given, `"default"` if the event has a default, else `"raise"`;
    - `delegation`: a person who may answer may hand the question to another identity
      (one of `delegate_to`, when given), with a reason;
    - `grant_scope`: a caller-chosen key; a grantor's decision may stand for later events
      of the same name, scope key and type, for a time (`hitl grants ls / revoke`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    quorum: Quorum | None = None
    separate_duties: bool = False
    excluded: tuple[str, ...] = ()
    escalation: tuple[Step, ...] = ()
    on_timeout: OnTimeout | None = None
    escalate_to: tuple[str, ...] = ()
    delegation: bool = False
    delegate_to: tuple[str, ...] | None = None
    grant_scope: str | None = Field(default=None, min_length=1, max_length=200)

    def __init__(
        self,
        *,
        quorum: Quorum | dict[str, Any] | None = None,
        separate_duties: bool = False,
        excluded: Sequence[str] = (),
        escalation: Sequence[Step | tuple[Any, ...] | dict[str, Any]] = (),
        on_timeout: OnTimeout | None = None,
        escalate_to: Sequence[str] = (),
        delegation: bool = False,
        delegate_to: Sequence[str] | None = None,
        grant_scope: str | None = None,
        **unknown: Any,
    ) -> None:
        for what, names in (("excluded", excluded), ("escalate_to", escalate_to)):
            if isinstance(names, str):
                raise TypeError(f"{what} must be a list, not one string")
        super().__init__(
            quorum=quorum,
            separate_duties=separate_duties,
            excluded=tuple(excluded),
            escalation=escalation,
            on_timeout=on_timeout,
            escalate_to=tuple(escalate_to),
            delegation=delegation,
            delegate_to=None if delegate_to is None else tuple(delegate_to),
            grant_scope=grant_scope,
            **unknown,  # refused by the model, naming them
        )

    @field_validator("quorum", mode="before")
    @classmethod
    def _quorum(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        unknown = sorted(set(value) - {"count", "of", "veto", "vetoers"})
        if unknown or "count" not in value:
            raise ValueError(
                f"a quorum takes count (required), of, veto and vetoers; got {', '.join(value)}"
            )
        return Quorum(**value)

    @field_validator("escalation", mode="before")
    @classmethod
    def _steps(cls, value: object) -> object:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            return value
        return tuple(_step(step) for step in value)

    @property
    def needs_identity(self) -> bool:
        """Whether answers need verified identities: quorum, separation of duties,
        delegation and standing approvals do."""
        return (
            self.quorum is not None
            or self.separate_duties
            or bool(self.excluded)
            or self.delegation
            or self.grant_scope is not None
        )

    def starts(self, created_at: datetime) -> list[datetime]:
        """When each escalation step starts."""
        at, starts = created_at, []
        for step in self.escalation:
            starts.append(at)
            at = at + timedelta(seconds=step.after_seconds or 0)
        return starts

    def describe(self) -> str:
        """One line saying what the policy asks, for pages and `hitl show`."""
        parts = []
        if self.quorum is not None:
            q = self.quorum
            veto = ""
            if q.veto is not False:
                veto = (
                    ", any member may veto"
                    if q.vetoers is None
                    else f", {', '.join(q.vetoers)} may veto"
                )
            parts.append(f"{q.count} of {len(q.of)} ({', '.join(q.of)}){veto}")
        if self.separate_duties:
            parts.append("the requester may not answer")
        if self.excluded:
            parts.append(f"{', '.join(self.excluded)} may not answer")
        if self.escalation:
            parts.append(f"escalates in {len(self.escalation)} steps")
        if self.delegation:
            parts.append("may be delegated")
        if self.grant_scope is not None:
            parts.append(f"standing approvals for {self.grant_scope!r}")
        return "; ".join(parts) or "no rules"


def as_policy(policy: object) -> Policy | None:
    """`policy` as given to `new_event` (a `Policy`, a `Quorum`, a dict, or None) as a `Policy`."""
    if policy is None or isinstance(policy, Policy):
        return policy
    if isinstance(policy, Quorum):
        return Policy(quorum=policy)
    if isinstance(policy, dict):
        return Policy.model_validate(policy)
    raise TypeError(f"policy must be a hitlkit.Policy or a Quorum, got {type(policy).__name__}")


def _step(step: object) -> Step:
    """An escalation step given as a `Step`, a dict, or an `(assignees, after_seconds,
    notify)` tuple."""
    if isinstance(step, Step):
        return step
    if isinstance(step, dict):
        return Step(**step)
    if isinstance(step, (list, tuple)) and 1 <= len(step) <= 3:
        return Step(*step)
    raise ValueError(
        f"an escalation step is a Step or an (assignees, after_seconds, notify) tuple, got {step!r}"
    )


def check_policy(
    policy: Policy,
    *,
    timeout_seconds: float,
    has_default: bool,
    answers_yes_no: bool,
) -> None:
    """Raise `ValueError` naming what does not fit in `policy` for this event."""
    if len(policy.escalation) > MAX_STEPS:
        raise ValueError(f"an escalation has at most {MAX_STEPS} steps")
    total = 0.0
    for number, step in enumerate(policy.escalation[:-1], 1):
        if step.after_seconds is None:
            raise ValueError(
                f"escalation step {number} needs after_seconds (only the last may omit it)"
            )
        total += step.after_seconds
    if policy.escalation and not total < timeout_seconds:
        raise ValueError(
            f"the escalation's steps must start before the deadline: the last starts after "
            f"{total:g} seconds, the event times out after {timeout_seconds:g}"
        )
    if policy.on_timeout == "default" and not has_default:
        raise ValueError('on_timeout="default" needs the event\'s default=')
    if policy.on_timeout == "escalate" and not (policy.escalate_to or policy.escalation):
        raise ValueError('on_timeout="escalate" needs escalate_to= URLs or escalation steps')
    q = policy.quorum
    if q is not None and q.veto and not answers_yes_no:
        raise ValueError("a veto applies to a yes or no (bool or Approval) only")
    if policy.delegate_to is not None:
        _identities("delegate_to", policy.delegate_to)
        if not policy.delegation:
            raise ValueError(
                "delegate_to= names who may be handed the question: add delegation=True"
            )
    if policy.escalate_to and policy.on_timeout != "escalate":
        raise ValueError('escalate_to= is told at the deadline only with on_timeout="escalate"')
    _identities("excluded", policy.excluded, allow_empty=True)


class Vote(BaseModel):
    """One identity's answer to an event under a policy; written once per identity."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    request_id: str
    by: str
    value: Any
    at: AwareDatetime
    via: str
    proof: Proof = "store"
    comment: str | None = None
    seat: str | None = None
    """Whose place the vote takes, when it was delegated (the delegator)."""
    grant_seconds: float | None = None
    """Asked with the vote: let the decision stand for identical requests this long."""
    shown_sha256: str | None = None
    """SHA-256 of what the voter was shown (as an outcome's)."""


class Delegation(BaseModel):
    """`by` handed the question to `to`, for `reason`; written once per `by`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    request_id: str
    by: str
    to: str
    reason: str
    at: AwareDatetime
    via: str


class StepTaken(BaseModel):
    """An escalation step that started: written once, by whichever process saw it due."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    request_id: str
    step: int
    """1 for the first step after the event's start (0 is the start itself)."""
    at: AwareDatetime
    assignees: tuple[str, ...]
    notified: tuple[str, ...] = ()
    """The URLs told, with their credentials hidden."""
    by: str
    """The process that took the step (`host:pid`)."""


class GrantRecord(BaseModel):
    """A standing approval: later events of `name` with `scope` and `type` resolve with `value`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    name: str
    scope: str
    data_type: str
    type_sha256: str
    value: Any
    by: str
    co_signers: tuple[str, ...] = ()
    """Under a quorum: the other grantors whose approvals asked for it too."""
    at: AwareDatetime
    expires_at: AwareDatetime
    source: str
    """The event whose decision made the grant."""


class GrantRevocation(BaseModel):
    """A grant called off, by whom, when."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    by: str
    at: AwareDatetime
    reason: str | None = None


@dataclass(frozen=True)
class Tally:
    """What decides an event: its kind of answer, its quorum, the votes in order, and
    how many seats may vote (those of identities not barred; `None` when anyone may)."""

    kind: Literal["yes_no", "value"]
    quorum: Quorum | None
    votes: Sequence[Vote]
    seats: int | None
    yes: tuple[bool | None, ...] = ()
    """For a yes or no: each vote read as approve (True) or reject (False)."""


@dataclass(frozen=True)
class Decision:
    """What the votes decided: `value` (JSON data), or `failed` with no value."""

    kind: DecisionKind
    value: Any
    counted: tuple[Vote, ...]
    by: str | None


def decide(tally: Tally) -> Decision | None:
    """The decision the votes make, in order; `None` while they make none yet.

    An identity counts once: a later vote of an identity already counted (one that came
    to hold a second seat through a delegation) is passed over."""
    needed = 1 if tally.quorum is None else tally.quorum.count
    counted: list[Vote] = []
    if tally.kind == "yes_no":
        veto = tally.quorum is not None and tally.quorum.veto is not False
        vetoers = None if tally.quorum is None else tally.quorum.vetoers
        yes = no = 0
        for vote, approve in _firsts(zip(tally.votes, tally.yes, strict=True)):
            counted.append(vote)
            if approve:
                yes += 1
                if yes >= needed:
                    kind: DecisionKind = "approved" if tally.quorum is not None else "agreed"
                    return Decision(kind, vote.value, tuple(counted), vote.by)
            else:
                no += 1
                if tally.quorum is None:
                    return Decision("agreed", vote.value, tuple(counted), vote.by)
                if veto and (vetoers is None or vote.by in vetoers or vote.seat in vetoers):
                    return Decision("vetoed", vote.value, tuple(counted), vote.by)
                if tally.seats is not None and yes + (tally.seats - yes - no) < needed:
                    return Decision("rejected", vote.value, tuple(counted), vote.by)
        return None
    counts: dict[str, int] = {}
    for vote, _ in _firsts((vote, None) for vote in tally.votes):
        counted.append(vote)
        key = canonical_json(vote.value)
        counts[key] = counts.get(key, 0) + 1
        if counts[key] >= needed:
            return Decision("agreed", vote.value, tuple(counted), vote.by)
        if tally.seats is not None:
            left = tally.seats - len(counted)
            if max(counts.values()) + left < needed:
                return Decision("failed", None, tuple(counted), None)
    return None


def _firsts(pairs: Iterable[tuple[Vote, Any]]) -> Iterator[tuple[Vote, Any]]:
    """Each identity's first vote, in order."""
    seen: set[str] = set()
    for vote, extra in pairs:
        if vote.by not in seen:
            seen.add(vote.by)
            yield vote, extra


class PolicyState(BaseModel):
    """Where an event under a policy stands, as every channel shows it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    policy: Policy
    summary: str = Field(description='one line: "2 of 3 approved", "vetoed by cy", ...')
    requested_by: str | None = None
    needed: int = 1
    approvals: int = 0
    rejections: int = 0
    votes: tuple[Vote, ...] = ()
    delegations: tuple[Delegation, ...] = ()
    steps: tuple[StepTaken, ...] = ()
    step: int = 0
    """The escalation step the event is at (0: the first)."""
    next_step_at: AwareDatetime | None = None
    may_answer: tuple[str, ...] | None = None
    """Who may answer now (`None`: anyone who can reach the event)."""
    grant: GrantRecord | None = None
