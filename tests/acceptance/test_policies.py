"""Every decision policy through the Python API, on a real folder store.

The program asks with `new_event(..., policy=...)`; people answer as themselves through
`Client(store=..., user=...)`, or as `HITL_USER` through `Event.answer`.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

import hitlkit
from hitlkit import (
    AlreadyAnsweredError,
    Client,
    DecisionFailedError,
    Delegation,
    DelegationError,
    Event,
    EventClosedError,
    EventTimeoutError,
    GrantError,
    NotAssignedError,
    Outcome,
    Policy,
    PolicyState,
    Quorum,
    SeparationOfDutiesError,
    Step,
    Vote,
    VoteChangedError,
    open_store,
)
from hitlkit._config import host_and_pid
from hitlkit._policy_ops import _delegation_key, _vote_key, list_grants, revoke_grant
from hitlkit._records import utcnow

T = TypeVar("T")
BOARD = ["ana", "bo", "cy"]


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "store")


@pytest.fixture
def ask(store: str) -> Callable[..., Event[Any]]:
    """`new_event` on the test's folder, with no app, a minute to answer."""

    def make(name: str, data_type: Any = bool, **options: Any) -> Event[Any]:
        options.setdefault("timeout_seconds", 60)
        options.setdefault("poll_interval_seconds", 0.2)
        return hitlkit.new_event(name, data_type, store=store, serve=False, **options)

    return make


@pytest.fixture
def vote(store: str) -> Callable[[str, Event[Any], Any], Any]:
    """`who` answers `event` through a Client on the store."""

    def cast(who: str, event: Event[Any], value: Any) -> Any:
        return Client(store=store, user=who).answer(event.request_id, value)

    return cast


def as_user(monkeypatch: pytest.MonkeyPatch, who: str) -> None:
    monkeypatch.setenv("HITL_USER", who)


def waiting(event: Event[T]) -> Callable[[], T]:
    """Wait for `event` in a thread; the call returns what `wait()` returned (or raises)."""
    got: list[Any] = []

    def run() -> None:
        try:
            got.append(("value", event.wait()))
        except Exception as exc:
            got.append(("error", exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def result() -> T:
        thread.join(30)
        assert got, "wait() did not return"
        kind, value = got[0]
        if kind == "error":
            raise value
        return value  # type: ignore[no-any-return]

    return result


def outcome_of(event: Event[Any]) -> Outcome:
    outcome = event.outcome()
    assert outcome is not None
    return outcome


def outcome_of_answer(outcome: Outcome | None) -> Outcome:
    assert outcome is not None
    return outcome


def state_of(event: Event[Any]) -> PolicyState:
    state = event.policy_state()
    assert state is not None
    return state


def until(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)


# -- quorum ------------------------------------------------------------------------------


def test_a_quorum_resolves_at_its_count_and_the_outcome_carries_every_vote(
    ask: Callable[..., Event[Any]], vote: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    event = ask("deploy", prompt="Deploy 4.2?", policy=Quorum(2, of=BOARD), requested_by="ci")
    assert event.record.assignees == tuple(BOARD)
    result = waiting(event)
    as_user(monkeypatch, "ana")
    assert event.answer(True, comment="tests are green") is None
    state = state_of(event)
    assert state.summary.startswith("1 of 2 approved")
    assert state.may_answer == ("bo", "cy")
    assert event.answer(True) is None  # the same vote again: a retry
    with pytest.raises(VoteChangedError, match=r"ana already voted .* cannot be changed"):
        event.answer(False)
    with pytest.raises(NotAssignedError, match="zed may not answer"):
        vote("zed", event, True)
    outcome = vote("bo", event, True)
    assert result() is True
    assert outcome == event.outcome()
    assert (outcome.status, outcome.value, outcome.decision, outcome.by) == (
        "answered",
        True,
        "approved",
        "bo",
    )
    assert [(v.by, v.value, v.comment) for v in outcome.votes] == [
        ("ana", True, "tests are green"),
        ("bo", True, None),
    ]
    assert outcome.votes[0].at <= outcome.votes[1].at <= outcome.at
    assert outcome.reason == "ana: tests are green"
    with pytest.raises(AlreadyAnsweredError) as late:
        vote("cy", event, False)
    assert late.value.outcome == outcome
    assert state_of(event).summary == "approved by 2 of 2 votes (2 needed)"


def test_other_types_need_identical_answers_or_fail_with_the_votes(
    ask: Callable[..., Event[Any]], vote: Callable[..., Any]
) -> None:
    agreed = ask("replicas", int, policy=Quorum(2, of=BOARD))
    vote("ana", agreed, 3)
    vote("bo", agreed, 4)
    assert vote("cy", agreed, 3).decision == "agreed"
    assert agreed.wait() == 3
    split = ask("replicas-again", int, policy=Quorum(2, of=BOARD))
    for who, value in zip(BOARD, (1, 2, 3), strict=True):
        vote(who, split, value)
    with pytest.raises(DecisionFailedError) as failed:
        split.wait()
    assert [(v.by, v.value) for v in failed.value.votes] == [("ana", 1), ("bo", 2), ("cy", 3)]
    assert outcome_of(split).decision == "failed"


# -- veto ----------------------------------------------------------------------------------


def test_a_members_rejection_vetoes_at_once_with_its_comment(
    ask: Callable[..., Event[Any]], vote: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    event = ask("deploy", policy=Quorum(2, of=BOARD))
    vote("ana", event, True)
    as_user(monkeypatch, "cy")
    assert event.answer(False, comment="not on a Friday") == event.outcome()
    assert event.wait() is False
    outcome = outcome_of(event)
    assert (outcome.decision, outcome.by, outcome.value) == ("vetoed", "cy", False)
    assert [v.by for v in outcome.votes or ()] == ["ana", "cy"]
    assert outcome.reason == "cy: not on a Friday"
    assert state_of(event).summary == "vetoed by cy"


def test_only_listed_vetoers_veto_and_without_veto_rejection_waits_until_out_of_reach(
    ask: Callable[..., Event[Any]], vote: Callable[..., Any]
) -> None:
    chosen = ask("deploy", policy=Quorum(2, of=BOARD, vetoers=["cy"]))
    assert vote("ana", chosen, False) is None
    assert state_of(chosen).summary == "0 of 2 approved, 1 rejected"
    assert vote("cy", chosen, False).decision == "vetoed"
    no_veto = ask("deploy-no-veto", policy=Quorum(2, of=BOARD, veto=False))
    assert vote("ana", no_veto, False) is None
    outcome = vote("bo", no_veto, False)
    assert (outcome.decision, outcome.value) == ("rejected", False)
    assert no_veto.wait() is False


# -- separation of duties --------------------------------------------------------------------


def test_the_requester_may_not_answer_given_by_requested_by_or_hitl_user(
    ask: Callable[..., Event[Any]], vote: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = Policy(quorum=Quorum(1, of=BOARD), separate_duties=True)
    named = ask("grant-access", policy=policy, requested_by="ana")
    assert named.record.requested_by == "ana"
    with pytest.raises(SeparationOfDutiesError, match="ana asked for it and may not answer"):
        vote("ana", named, True)
    assert state_of(named).may_answer == ("bo", "cy")
    assert vote("bo", named, True).decision == "approved"
    as_user(monkeypatch, "cy")
    from_env = ask("grant-access-2", policy=policy)
    assert from_env.record.requested_by == "cy"
    with pytest.raises(SeparationOfDutiesError):
        from_env.answer(True)
    assert vote("ana", from_env, True).by == "ana"


def test_an_excluded_group_may_not_answer(
    ask: Callable[..., Event[Any]], vote: Callable[..., Any]
) -> None:
    event = ask(
        "payout",
        policy=Policy(quorum=Quorum(1, of=[*BOARD, "dee"]), excluded=("cy", "dee")),
        requested_by="ci",
    )
    for who in ("cy", "dee"):
        with pytest.raises(SeparationOfDutiesError, match=f"{who} is excluded by its policy"):
            vote(who, event, True)
    assert vote("bo", event, True).by == "bo"


def test_a_barred_members_seat_keeps_no_approval_in_reach(
    ask: Callable[..., Event[Any]], vote: Callable[..., Any]
) -> None:
    # ana asked: only bo and cy may vote, so bo's rejection puts two approvals out of reach.
    event = ask(
        "deploy",
        policy=Policy(quorum=Quorum(2, of=BOARD, veto=False), separate_duties=True),
        requested_by="ana",
    )
    outcome = vote("bo", event, False)
    assert (outcome.decision, outcome.value) == ("rejected", False)
    assert event.wait() is False


def test_a_quorum_that_separation_of_duties_makes_impossible_is_refused_at_creation(
    ask: Callable[..., Event[Any]],
) -> None:
    with pytest.raises(ValueError, match="needs 2 approvals but only 1 of its members may answer"):
        ask(
            "deploy",
            policy=Policy(quorum=Quorum(2, of=["ana", "bo"]), separate_duties=True),
            requested_by="ana",
        )


# -- escalation --------------------------------------------------------------------------------


def test_a_waiter_takes_the_escalation_step_itself_and_its_person_may_answer_after(
    ask: Callable[..., Event[Any]], vote: Callable[..., Any]
) -> None:
    event = ask("page", policy=Policy(escalation=(Step(["ana"], 1), Step(["oncall"]))))
    with pytest.raises(NotAssignedError, match="oncall may not answer"):
        vote("oncall", event, True)
    result = waiting(event)
    until(lambda: bool(state_of(event).steps))  # only the waiter looks meanwhile
    step = state_of(event).steps[0]
    assert (step.step, step.assignees, step.by) == (1, ("oncall",), host_and_pid())
    assert step.at >= event.record.created_at
    assert vote("oncall", event, True).by == "oncall"
    assert result() is True
    assert [(s.step, s.assignees) for s in outcome_of(event).steps or ()] == [(1, ("oncall",))]


def test_a_person_whose_step_came_may_answer_with_no_app_or_waiter(
    ask: Callable[..., Event[Any]], vote: Callable[..., Any]
) -> None:
    event = ask("page", policy=Policy(escalation=(Step(["ana"], 0.5), Step(["oncall"]))))
    time.sleep(0.6)
    outcome = vote("oncall", event, True)
    assert outcome.by == "oncall"
    assert [s.assignees for s in outcome.steps] == [("oncall",)]


# -- timeout actions ---------------------------------------------------------------------------


def test_timeout_actions_raise_default_or_escalate_and_are_recorded(
    ask: Callable[..., Event[Any]], vote: Callable[..., Any]
) -> None:
    raising = ask("a", timeout_seconds=0.5, policy=Policy(quorum=Quorum(2, of=BOARD)))
    assert vote("ana", raising, True) is None
    with pytest.raises(EventTimeoutError):
        raising.wait()
    assert (outcome_of(raising).status, outcome_of(raising).action) == ("timed_out", "raise")
    assert [v.by for v in outcome_of(raising).votes or ()] == ["ana"]
    with pytest.raises(EventClosedError, match="timed out"):  # her vote again decides nothing
        vote("ana", raising, True)
    defaulting = ask("b", timeout_seconds=0.5, default=False, policy=Policy(on_timeout="default"))
    assert defaulting.wait() is False
    assert (outcome_of(defaulting).status, outcome_of(defaulting).action) == (
        "defaulted",
        "default",
    )
    escalating = ask(
        "c",
        timeout_seconds=1,
        policy=Policy(escalation=(Step(["ana"], 0.5), Step(["bo"])), on_timeout="escalate"),
    )
    with pytest.raises(EventTimeoutError):
        escalating.wait()
    outcome = outcome_of(escalating)
    assert (outcome.status, outcome.action) == ("timed_out", "escalate")
    assert outcome.reason == "escalated: no decision by the deadline"
    assert [s.assignees for s in outcome.steps or ()] == [("bo",)]


# -- delegation --------------------------------------------------------------------------------


def test_delegation_is_recorded_limited_and_ends_the_delegators_vote(
    ask: Callable[..., Event[Any]], vote: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    event = ask(
        "deploy",
        policy=Policy(quorum=Quorum(2, of=BOARD), delegation=True, separate_duties=True),
        requested_by="req",
    )
    as_user(monkeypatch, "ana")
    with pytest.raises(SeparationOfDutiesError, match="may not be handed to req"):
        event.delegate("req", "they know it best")
    with pytest.raises(DelegationError, match="say why"):
        event.delegate("dan", " ")
    handed = event.delegate("dan", "on leave this week")
    assert (handed.by, handed.to, handed.reason) == ("ana", "dan", "on leave this week")
    with pytest.raises(NotAssignedError, match=r"ana handed event .* to dan"):
        event.answer(True)
    assert state_of(event).may_answer == ("dan", "bo", "cy")
    vote("dan", event, True)
    outcome = vote("bo", event, True)
    assert outcome.decision == "approved"
    assert [(v.by, v.seat) for v in outcome.votes] == [("dan", "ana"), ("bo", None)]
    assert [(d.by, d.to, d.reason) for d in outcome.delegations] == [
        ("ana", "dan", "on leave this week")
    ]
    plain = ask("no-delegation", policy=Quorum(1, of=BOARD))
    with pytest.raises(DelegationError, match="its policy does not allow it"):
        plain.delegate("dan", "on leave")


def test_one_identity_votes_once_even_when_a_racing_delegation_gives_it_a_second_seat(
    ask: Callable[..., Event[Any]], vote: Callable[..., Any], store: str
) -> None:
    event = ask(
        "deploy",
        policy=Policy(
            quorum=Quorum(2, of=BOARD),
            delegation=True,
            escalation=(Step(BOARD, 0.3), Step(["dan"])),
        ),
    )
    time.sleep(0.4)
    assert vote("dan", event, True) is None  # dan's own seat, from step 2
    # ana handed her seat to dan, having read the records before step 2 was taken.
    handed = Delegation(
        request_id=event.request_id, by="ana", to="dan", reason="away", at=utcnow(), via="python"
    )
    key = _delegation_key(event.request_id, "ana")
    assert asyncio.run(
        open_store(store).put_if_absent_async(key, handed.model_dump_json().encode())
    )
    assert vote("dan", event, True) is None  # the same vote: not a second one
    state = state_of(event)
    assert [(v.by, v.seat) for v in state.votes] == [("dan", None)]
    assert state.approvals == 1
    outcome = vote("bo", event, True)
    assert [v.by for v in outcome.votes] == ["dan", "bo"]


# -- standing approvals ---------------------------------------------------------------------


def test_a_standing_approval_answers_a_later_matching_event_at_once(
    ask: Callable[..., Event[Any]], store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "ana")
    scoped = Policy(grant_scope="db:prod")
    first = ask("migrate", run_id="r1", policy=scoped, assignees=["ana", "bo"])
    as_user(monkeypatch, "bo")
    with pytest.raises(GrantError, match="bo is not a grantor"):
        first.answer(True, grant_seconds=3600)
    as_user(monkeypatch, "ana")
    first.answer(True, grant_seconds=3600)
    later = ask("migrate", run_id="r2", policy=scoped, assignees=["ana", "bo"])
    outcome = later.outcome()
    assert outcome is not None
    assert (outcome.decision, outcome.by, outcome.value) == ("granted", "ana", True)
    assert outcome.grant is not None
    assert (outcome.grant.source, outcome.grant.scope) == (first.request_id, "db:prod")
    assert later.wait() is True
    # Another scope, or another type, is another request.
    other_scope = ask("migrate", run_id="r3", policy=Policy(grant_scope="db:staging"))
    other_type = ask("migrate", int, run_id="r4", policy=scoped)
    assert other_scope.outcome() is None
    assert other_type.outcome() is None
    grants = asyncio.run(list_grants(open_store(store)))
    assert [(g.by, g.name, r) for g, r in grants] == [("ana", "migrate", None)]
    grant = grants[0][0]
    with pytest.raises(GrantError, match="bo is not a grantor"):
        asyncio.run(revoke_grant(open_store(store), grant.id, by="bo"))
    revoked = asyncio.run(revoke_grant(open_store(store), grant.id, by="ana", reason="done"))
    assert revoked.by == "ana"
    assert ask("migrate", run_id="r5", policy=scoped).outcome() is None


def test_a_standing_approval_whose_decider_died_before_making_it_is_made_by_the_next_look(
    ask: Callable[..., Event[Any]], store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "ana")
    as_user(monkeypatch, "ana")
    scoped = Policy(grant_scope="db:prod")
    first = ask("migrate", run_id="r1", policy=scoped, assignees=["ana"])
    decided = outcome_of_answer(first.answer(True, grant_seconds=3600))
    the_store = open_store(store)
    (grant_key,) = the_store.list("grants/")
    made = the_store.get(grant_key)
    the_store.delete(grant_key)  # as if the decider had died before writing it
    assert ask("migrate", run_id="r2", policy=scoped, assignees=["ana"]).outcome() is None
    assert first.wait() is True  # a look at the event settles it again
    assert the_store.get(grant_key) == made  # the same grant, from the decision's time
    (grant, _), *_ = asyncio.run(list_grants(the_store))
    assert (grant.at, grant.source) == (decided.at, first.request_id)
    assert outcome_of(ask("migrate", run_id="r3", policy=scoped, assignees=["ana"])).grant == grant


def test_a_rejection_does_not_stand_for_later_requests(
    ask: Callable[..., Event[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "ana")
    as_user(monkeypatch, "ana")
    scoped = Policy(grant_scope="db:prod")
    first = ask("migrate", run_id="r1", policy=scoped, assignees=["ana"])
    assert outcome_of_answer(first.answer(False, grant_seconds=3600)).value is False
    assert ask("migrate", run_id="r2", policy=scoped, assignees=["ana"]).outcome() is None


def test_an_expired_standing_approval_answers_nothing(
    ask: Callable[..., Event[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "ana")
    as_user(monkeypatch, "ana")
    scoped = Policy(grant_scope="cache:flush")
    ask("flush", run_id="r1", policy=scoped, assignees=["ana"]).answer(True, grant_seconds=0.5)
    assert ask("flush", run_id="r2", policy=scoped, assignees=["ana"]).outcome() is not None
    time.sleep(0.6)
    assert ask("flush", run_id="r3", policy=scoped, assignees=["ana"]).outcome() is None


def test_a_standing_approval_never_answers_its_grantors_own_request_or_one_they_may_not_answer(
    ask: Callable[..., Event[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "ana")
    as_user(monkeypatch, "ana")
    scoped = Policy(grant_scope="db:prod", separate_duties=True)
    ask("migrate", run_id="r1", policy=scoped, assignees=["ana"], requested_by="ci").answer(
        True, grant_seconds=3600
    )
    own = ask("migrate", run_id="r2", policy=scoped, assignees=["ana", "bo"], requested_by="ana")
    assert own.outcome() is None
    others = ask("migrate", run_id="r3", policy=scoped, assignees=["bo"], requested_by="ci")
    assert others.outcome() is None
    covered = ask("migrate", run_id="r4", policy=scoped, assignees=["ana"], requested_by="ci")
    assert outcome_of(covered).decision == "granted"


# -- asking again -----------------------------------------------------------------------------

REVISE = """
import sys, hitlkit
from hitlkit import Quorum
event = hitlkit.new_event("change", bool, prompt="Resize the cluster to 12?", run_id="rev",
                          store=sys.argv[1], serve=False, policy=Quorum(1, of=["ana"]))
if not event.wait():
    event = event.ask_again("Resize the cluster to 8?")
print(event.request_id, event.record.version, event.record.previous_id)
"""


def test_a_rejected_question_is_asked_again_as_its_next_version(
    ask: Callable[..., Event[Any]], vote: Callable[..., Any], store: str, tmp_path: Path
) -> None:
    first = ask(
        "change", prompt="Resize the cluster to 12?", run_id="rev", policy=Quorum(1, of=["ana"])
    )
    with pytest.raises(ValueError, match="still open"):
        first.ask_again("Resize the cluster to 8?")
    vote("ana", first, False)
    assert first.wait() is False
    second = first.ask_again("Resize the cluster to 8?")
    assert second.request_id != first.request_id
    assert (second.record.version, second.record.previous_id) == (2, first.request_id)
    assert second.record.policy == first.record.policy
    # A restarted program running the same code finds the same second version.
    again = subprocess.run(
        [sys.executable, "-c", REVISE, store],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=True,
    )
    assert again.stdout.split() == [second.request_id, "2", first.request_id]
    vote("ana", second, True)
    assert second.wait() is True
    with pytest.raises(ValueError, match="was approved: there is nothing to revise"):
        second.ask_again("Resize the cluster to 6?")


# -- a voter that died before settling ------------------------------------------------------


def test_votes_recorded_by_a_voter_that_died_before_settling_are_decided_by_the_waiter(
    ask: Callable[..., Event[Any]], store: str
) -> None:
    event = ask("deploy", policy=Quorum(2, of=BOARD))

    async def write_votes() -> None:
        # What cast_vote writes before it settles: a vote record per seat, no outcome.
        the_store = open_store(store)
        for who in ("ana", "bo"):
            entry = Vote(request_id=event.request_id, by=who, value=True, at=utcnow(), via="python")
            written = await the_store.put_if_absent_async(
                _vote_key(event.request_id, who), entry.model_dump_json().encode()
            )
            assert written

    asyncio.run(write_votes())
    assert event.outcome() is None
    assert event.wait() is True
    outcome = outcome_of(event)
    assert (outcome.decision, [v.by for v in outcome.votes or ()]) == ("approved", ["ana", "bo"])


# -- what a review found -----------------------------------------------------------------


def test_a_standing_approval_answers_only_events_under_the_same_policy(
    ask: Callable[..., Event[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "ana")
    as_user(monkeypatch, "ana")
    alone = Policy(grant_scope="prod")
    ask("mig", run_id="g1", policy=alone, assignees=["ana"]).answer(True, grant_seconds=3600)
    board = Policy(quorum=Quorum(3, of=["ana", "bo", "cy"]), grant_scope="prod")

    assert ask("mig", run_id="g2", policy=board, requested_by="req").outcome() is None
    assert ask("mig", run_id="g3", policy=alone, assignees=["ana"]).outcome() is not None


def test_under_a_quorum_a_grant_needs_every_approval_to_ask_for_it(
    ask: Callable[..., Event[Any]], vote: Any, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "ana,bo")
    policy = Policy(quorum=Quorum(2, of=["ana", "bo"]), grant_scope="prod")
    first = ask("mig", run_id="q1", policy=policy)
    Client(store=store, user="ana").answer(first.request_id, True, grant_seconds=3600)
    vote("bo", first, True)  # approves, but lets nothing stand

    assert outcome_of(first).decision == "approved"
    assert asyncio.run(list_grants(open_store(store))) == []
    assert ask("mig", run_id="q2", policy=policy).outcome() is None

    both = ask("mig", run_id="q3", policy=policy)
    Client(store=store, user="ana").answer(both.request_id, True, grant_seconds=3600)
    Client(store=store, user="bo").answer(both.request_id, True, grant_seconds=600)
    [(grant, _)] = asyncio.run(list_grants(open_store(store)))
    assert (grant.by, grant.co_signers) == ("ana", ("bo",))
    assert ask("mig", run_id="q4", policy=policy).outcome() is not None


def test_an_approvals_grant_stands_whatever_its_reason_says(
    ask: Callable[..., Event[Any]], store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "ana")
    policy = Policy(grant_scope="prod")
    first = ask("ship", hitlkit.Approval, run_id="a1", policy=policy, assignees=["ana"])
    Client(store=store, user="ana").answer(
        first.request_id, {"approved": True, "reason": "fine for a day"}, grant_seconds=3600
    )
    later = ask("ship", hitlkit.Approval, run_id="a2", policy=policy, assignees=["ana"])
    assert outcome_of(later).decision == "granted"


def test_separation_of_duties_compares_identities_without_case_or_width(
    ask: Callable[..., Event[Any]], vote: Any
) -> None:
    event = ask("deploy", policy=Policy(separate_duties=True), requested_by="ana")
    for spelling in ("Ana", "ANA", "\uff41\uff4e\uff41"):
        with pytest.raises(SeparationOfDutiesError, match="asked for it"):
            vote(spelling, event, True)


def test_a_delegation_names_a_plain_identity_and_never_closes_a_loop(
    ask: Callable[..., Event[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    event = ask(
        "deploy", policy=Policy(quorum=Quorum(2, of=BOARD), delegation=True), requested_by="req"
    )
    as_user(monkeypatch, "ana")
    for hidden in ("dan\u200b", "d an", "dan\x1b[31m"):
        with pytest.raises(DelegationError, match="no spaces, control or invisible"):
            event.delegate(hidden, "on leave")
    event.delegate("dan", "on leave")
    as_user(monkeypatch, "dan")
    event.delegate("eve", "busy")
    as_user(monkeypatch, "eve")
    with pytest.raises(DelegationError, match="dan handed their place on"):
        event.delegate("dan", "back to you")


def test_events_no_one_may_answer_are_refused_at_creation(
    ask: Callable[..., Event[Any]],
) -> None:
    with pytest.raises(ValueError, match="of=, not assignees="):
        ask("d1", policy=Quorum(1, of=BOARD), assignees=["ana"])
    with pytest.raises(ValueError, match="no one may answer this event"):
        ask("d2", policy=Policy(separate_duties=True), assignees=["ana"], requested_by="ana")
    with pytest.raises(ValueError, match="no one may answer this event"):
        ask("d3", policy=Policy(excluded=["ana", "bo"]), assignees=["ana", "bo"])
    with pytest.raises(ValueError, match="add delegation=True"):
        ask("d4", policy=Policy(delegate_to=["dan"]), assignees=["ana"])


def test_the_people_of_steps_to_come_keep_approvals_in_reach(
    ask: Callable[..., Event[Any]], vote: Any
) -> None:
    policy = Policy(
        quorum=Quorum(2, of=["ana", "bo"], veto=False),
        escalation=[Step(["ana", "bo"], 600), Step(["cy", "dan"])],
    )
    event = ask("restore", policy=policy, timeout_seconds=3600, requested_by="req")
    vote("ana", event, False)
    assert event.outcome() is None  # cy and dan may yet approve, from step 2
    assert state_of(event).summary.startswith("0 of 2 approved, 1 rejected")


def test_a_rejections_reason_holds_the_reasons_of_those_who_rejected(
    ask: Callable[..., Event[Any]], store: str
) -> None:
    event = ask("deploy", policy=Quorum(2, of=BOARD), requested_by="req")
    Client(store=store, user="ana").answer(event.request_id, True, comment="looks good")
    Client(store=store, user="cy").answer(event.request_id, False, comment="no rollback plan")
    assert outcome_of(event).reason == "cy: no rollback plan"


def test_hitlkit_answer_votes_with_a_comment(
    ask: Callable[..., Event[Any]], store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = ask("deploy", policy=Quorum(1, of=["ana"]), requested_by="req")
    as_user(monkeypatch, "ana")
    outcome = hitlkit.answer(event.request_id, False, store=store, comment="no rollback plan")
    assert outcome is not None
    assert (outcome.decision, outcome.reason) == ("vetoed", "ana: no rollback plan")


def test_a_quorum_that_separation_of_duties_makes_impossible_is_refused_in_any_spelling(
    ask: Callable[..., Event[Any]],
) -> None:
    policy = Policy(quorum=Quorum(2, of=["ana", "bo"]), separate_duties=True)
    with pytest.raises(ValueError, match="only 1 of its members may answer"):
        ask("d", policy=policy, requested_by="ANA")


def test_one_identity_is_handed_one_place_even_when_two_hand_theirs_at_once(
    ask: Callable[..., Event[Any]], store: str
) -> None:
    policy = Policy(
        quorum=Quorum(2, of=BOARD, veto=False),
        delegation=True,
        escalation=[Step(BOARD, 600), Step(["eve"])],
    )
    event = ask("deploy", policy=policy, requested_by="req", timeout_seconds=3600)
    with pytest.raises(DelegationError, match="eve already has a place"):
        Client(store=store, user="ana").delegate(event.request_id, "eve", "eve joins later")
    results: list[object] = []

    def hand(who: str) -> None:
        try:
            results.append(Client(store=store, user=who).delegate(event.request_id, "dan", "x"))
        except DelegationError as exc:
            results.append(exc)

    threads = [threading.Thread(target=hand, args=(who,)) for who in ("ana", "bo")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(type(r).__name__ for r in results) == ["Delegation", "DelegationError"]
    assert state_of(event).may_answer is not None
    assert list(state_of(event).may_answer or ()).count("dan") == 1
