"""Decision policies as values: what votes decide (`_policy.decide`) and what a policy accepts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hitlkit import Policy, Quorum, Step, Vote
from hitlkit._policy import Decision, Tally, as_policy, check_policy, decide

START = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
BOARD = ("ana", "bo", "cy", "dee", "eve")


def votes(*given: tuple[str, Any], seat: dict[str, str] | None = None) -> list[Vote]:
    """Votes in the order given, one second apart."""
    return [
        Vote(
            request_id="0" * 24,
            by=by,
            value=value,
            at=START + timedelta(seconds=n),
            via="python",
            seat=(seat or {}).get(by),
        )
        for n, (by, value) in enumerate(given)
    ]


def yes_no(
    quorum: Quorum | None, cast: Sequence[Vote], seats: int | None = None
) -> Decision | None:
    if seats is None and quorum is not None:
        seats = len(quorum.of)
    return decide(
        Tally(
            kind="yes_no",
            quorum=quorum,
            votes=cast,
            seats=seats,
            yes=tuple(v.value is True for v in cast),
        )
    )


def values(
    quorum: Quorum | None, cast: Sequence[Vote], seats: int | None = None
) -> Decision | None:
    if seats is None and quorum is not None:
        seats = len(quorum.of)
    return decide(Tally(kind="value", quorum=quorum, votes=cast, seats=seats))


# -- quorum counts ---------------------------------------------------------------------


def test_a_quorum_approves_at_its_count_and_counts_the_votes_up_to_it() -> None:
    quorum = Quorum(2, of=BOARD[:3])
    assert yes_no(quorum, votes(("ana", True))) is None
    decision = yes_no(quorum, votes(("ana", True), ("bo", True), ("cy", True)))
    assert decision is not None
    assert decision.kind == "approved"
    assert decision.value is True
    assert [v.by for v in decision.counted] == ["ana", "bo"]
    assert decision.by == "bo"


def test_three_of_five_needs_three() -> None:
    quorum = Quorum(3, of=BOARD)
    assert yes_no(quorum, votes(("ana", True), ("bo", True))) is None
    decision = yes_no(quorum, votes(("ana", True), ("bo", True), ("eve", True)))
    assert decision is not None
    assert decision.kind == "approved"


# -- veto --------------------------------------------------------------------------------


def test_any_members_rejection_vetoes_at_once() -> None:
    decision = yes_no(Quorum(2, of=BOARD[:3]), votes(("ana", True), ("cy", False)))
    assert decision is not None
    assert (decision.kind, decision.value, decision.by) == ("vetoed", False, "cy")
    assert [v.by for v in decision.counted] == ["ana", "cy"]


def test_only_the_listed_vetoers_veto() -> None:
    quorum = Quorum(2, of=BOARD[:4], vetoers=["cy"])
    assert yes_no(quorum, votes(("ana", False))) is None  # ana may not veto
    decision = yes_no(quorum, votes(("ana", False), ("cy", False)))
    assert decision is not None
    assert (decision.kind, decision.by) == ("vetoed", "cy")


def test_a_vetoers_place_held_by_a_delegate_still_vetoes() -> None:
    quorum = Quorum(2, of=BOARD[:3], vetoers=["cy"])
    decision = yes_no(quorum, votes(("dan", False), seat={"dan": "cy"}))
    assert decision is not None
    assert decision.kind == "vetoed"


def test_without_veto_a_rejection_waits_until_approval_is_out_of_reach() -> None:
    quorum = Quorum(2, of=BOARD[:3], veto=False)
    assert yes_no(quorum, votes(("ana", False))) is None
    decision = yes_no(quorum, votes(("ana", False), ("bo", False)))
    assert decision is not None
    assert (decision.kind, decision.value, decision.by) == ("rejected", False, "bo")


def test_without_veto_approval_still_in_reach_keeps_the_event_open() -> None:
    quorum = Quorum(3, of=BOARD[:4], veto=False)
    assert yes_no(quorum, votes(("ana", False), ("bo", True))) is None
    decision = yes_no(quorum, votes(("ana", False), ("bo", True), ("cy", False)))
    assert decision is not None
    assert decision.kind == "rejected"


def test_seats_that_cannot_vote_do_not_keep_approval_in_reach() -> None:
    # Three members, one barred (it asked): two seats; one rejection puts 2 out of reach.
    quorum = Quorum(2, of=BOARD[:3], veto=False)
    decision = yes_no(quorum, votes(("bo", False)), seats=2)
    assert decision is not None
    assert decision.kind == "rejected"


# -- other types -----------------------------------------------------------------------


def test_other_types_need_that_many_identical_answers() -> None:
    quorum = Quorum(2, of=BOARD[:3])
    assert values(quorum, votes(("ana", 3), ("bo", 4))) is None
    decision = values(quorum, votes(("ana", 3), ("bo", 4), ("cy", 3)))
    assert decision is not None
    assert (decision.kind, decision.value) == ("agreed", 3)
    assert [v.by for v in decision.counted] == ["ana", "bo", "cy"]


def test_identical_means_the_same_json_whatever_the_key_order() -> None:
    quorum = Quorum(2, of=BOARD[:3])
    decision = values(quorum, votes(("ana", {"a": 1, "b": 2}), ("bo", {"b": 2, "a": 1})))
    assert decision is not None
    assert decision.kind == "agreed"


def test_other_types_fail_when_agreement_is_out_of_reach() -> None:
    quorum = Quorum(2, of=BOARD[:3])
    decision = values(quorum, votes(("ana", 1), ("bo", 2), ("cy", 3)))
    assert decision is not None
    assert (decision.kind, decision.value, decision.by) == ("failed", None, None)
    assert len(decision.counted) == 3
    three_of_four = Quorum(3, of=BOARD[:4])
    assert values(three_of_four, votes(("ana", 1), ("bo", 2))) is None
    failed = values(three_of_four, votes(("ana", 1), ("bo", 2), ("cy", 3)))
    assert failed is not None
    assert failed.kind == "failed"


# -- without a quorum --------------------------------------------------------------------


def test_without_a_quorum_the_first_answer_decides() -> None:
    for first in (True, False):
        decision = yes_no(None, votes(("ana", first), ("bo", not first)), seats=2)
        assert decision is not None
        assert (decision.kind, decision.value, decision.by) == ("agreed", first, "ana")
        assert [v.by for v in decision.counted] == ["ana"]
    decision = values(None, votes(("ana", "blue"), ("bo", "red")))
    assert decision is not None
    assert (decision.value, decision.by) == ("blue", "ana")


def test_no_votes_decide_nothing() -> None:
    assert yes_no(Quorum(1, of=["ana"]), []) is None
    assert values(None, []) is None


# -- one identity, one vote --------------------------------------------------------------


def test_an_identity_holding_two_seats_counts_once() -> None:
    quorum = Quorum(2, of=BOARD[:3])
    cast = votes(("dan", True), ("dan", True), seat={"dan": "ana"})
    assert yes_no(quorum, cast) is None
    decision = yes_no(quorum, [*cast, *votes(("bo", True))])
    assert decision is not None
    assert [v.by for v in decision.counted] == ["dan", "bo"]


# -- properties --------------------------------------------------------------------------


@st.composite
def quorum_votes(draw: st.DrawFn) -> tuple[Quorum, list[Vote], list[bool]]:
    members = BOARD[: draw(st.integers(1, len(BOARD)))]
    count = draw(st.integers(1, len(members)))
    veto = draw(st.sampled_from([None, True, False]))
    vetoers = draw(st.one_of(st.none(), st.sets(st.sampled_from(members), min_size=1)))
    quorum = Quorum(
        count, of=members, veto=veto, vetoers=None if vetoers is None else sorted(vetoers)
    )
    # Voters in any order, some of them twice (a second seat through a delegation).
    order = draw(st.lists(st.sampled_from(members), max_size=2 * len(members)))
    cast = votes(*((who, draw(st.booleans())) for who in order))
    return quorum, cast, [v.value for v in cast]


@settings(max_examples=400, deadline=None)
@given(quorum_votes())
def test_votes_in_any_order_decide_once_counting_only_votes_given_each_identity_once(
    drawn: tuple[Quorum, list[Vote], list[bool]],
) -> None:
    quorum, cast, _ = drawn
    decision = yes_no(quorum, cast)
    firsts: list[Decision] = []
    for n in range(len(cast) + 1):
        made = yes_no(quorum, cast[:n])
        if made is not None:
            firsts.append(made)
    if decision is None:
        assert firsts == []
        return
    # The first prefix that decides is the decision; no later vote makes another one.
    assert all(d == decision for d in firsts)
    counted = list(decision.counted)
    # Only votes given, in their order, each identity's first: up to the deciding one.
    upto = next(n for n, v in enumerate(cast) if v is counted[-1])
    firsts_only = [
        v for n, v in enumerate(cast[: upto + 1]) if v.by not in {w.by for w in cast[:n]}
    ]
    assert counted == firsts_only
    assert len({v.by for v in counted}) == len(counted)
    approvals = sum(1 for v in counted if v.value is True)
    if decision.kind == "approved":
        assert approvals == quorum.count
    elif decision.kind == "vetoed":
        assert quorum.veto is not False
        assert counted[-1].value is False
        assert quorum.vetoers is None or counted[-1].by in quorum.vetoers
    else:
        assert decision.kind == "rejected"
        rejections = len(counted) - approvals
        assert len(quorum.of) - rejections < quorum.count


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda size: st.tuples(
            st.integers(1, size),
            st.lists(st.tuples(st.sampled_from(BOARD[:size]), st.integers(0, 2)), max_size=10),
            st.just(size),
        )
    )
)
def test_identical_answers_decide_once_from_votes_given(drawn: tuple[int, list[Any], int]) -> None:
    count, order, size = drawn
    quorum = Quorum(count, of=BOARD[:size])
    cast = votes(*order)
    decision = values(quorum, cast)
    if decision is None:
        return
    counted = list(decision.counted)
    assert all(any(v is c for c in cast) for v in counted)
    assert len({v.by for v in counted}) == len(counted)
    if decision.kind == "agreed":
        assert sum(1 for v in counted if v.value == decision.value) == count
    else:
        assert decision.kind == "failed"
        tallies = [sum(1 for v in counted if v.value == x) for x in {v.value for v in counted}]
        assert max(tallies) + size - len(counted) < count
    for n in range(len(cast)):
        later = values(quorum, cast[:n])
        assert later is None or later == decision


# -- what a policy accepts ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Quorum(0, of=["ana"]), "between 1 and the number of members (1), got 0"),
        (lambda: Quorum(3, of=["ana", "bo"]), "between 1 and the number of members (2), got 3"),
        (lambda: Quorum(1, of=[]), "must name at least one identity"),
        (lambda: Quorum(1, of="ana"), "must be a list of identities, not one string"),
        (lambda: Quorum(True, of=["ana"]), "count must be a whole number"),
        (lambda: Quorum(1.5, of=["ana"]), "count must be a whole number"),  # type: ignore[arg-type]
        (lambda: Quorum(1, of=["ana", ""]), "non-empty text of at most 100 characters"),
        (lambda: Quorum(1, of=["ana"], vetoers=["zed"]), "vetoers must be members"),
        (lambda: Step(["ana"], 0), "after_seconds must be a positive number, got 0"),
        (lambda: Step(["ana"], float("inf")), "after_seconds must be a positive number"),
        (lambda: Step([], 10), "a step's assignees must name at least one identity"),
        (lambda: Step(["ana"], 10, notify="json://x"), "notify must be a list of URLs"),
        (lambda: as_policy("quorum"), "policy must be a hitlkit.Policy or a Quorum, got str"),
        (
            lambda: as_policy({"escalation": [42]}),
            "an escalation step is a Step or an (assignees, after_seconds, notify) tuple",
        ),
    ],
)
def test_a_bad_policy_is_refused_naming_what_was_expected(make: Any, message: str) -> None:
    with pytest.raises((TypeError, ValueError)) as caught:
        make()
    assert message in str(caught.value)


def test_a_policy_rejects_unknown_fields_and_a_bad_timeout_action() -> None:
    with pytest.raises(ValidationError, match="quorom"):
        Policy(quorom=Quorum(1, of=["ana"]))
    with pytest.raises(ValidationError, match="quorom"):
        Policy.model_validate({"quorom": {"count": 1, "of": ["ana"]}})
    with pytest.raises(ValidationError, match="'raise', 'default' or 'escalate'"):
        Policy(on_timeout="wait")  # type: ignore[arg-type]


def test_a_policy_from_json_data_reads_steps_as_tuples_or_objects() -> None:
    policy = as_policy(
        {
            "quorum": {"count": 2, "of": ["ana", "bo", "cy"], "veto": False},
            "escalation": [(["ana"], 60), {"assignees": ["oncall"]}],
        }
    )
    assert policy is not None
    assert policy.quorum == Quorum(2, of=["ana", "bo", "cy"], veto=False)
    assert policy.escalation == (Step(["ana"], 60), Step(["oncall"]))
    assert as_policy(Quorum(1, of=["ana"])) == Policy(quorum=Quorum(1, of=["ana"]))


@pytest.mark.parametrize(
    ("policy", "options", "message"),
    [
        (
            Policy(escalation=(Step(["ana"]), Step(["bo"]))),
            {},
            "escalation step 1 needs after_seconds (only the last may omit it)",
        ),
        (
            Policy(escalation=(Step(["ana"], 60), Step(["bo"]))),
            {"timeout_seconds": 60},
            "the last starts after 60 seconds, the event times out after 60",
        ),
        (Policy(on_timeout="default"), {}, 'on_timeout="default" needs the event\'s default='),
        (Policy(on_timeout="escalate"), {}, "needs escalate_to= URLs or escalation steps"),
        (
            Policy(quorum=Quorum(1, of=["ana"], veto=True)),
            {"answers_yes_no": False},
            "a veto applies to a yes or no (bool or Approval) only",
        ),
        (Policy(delegate_to=()), {}, "delegate_to must name at least one identity"),
    ],
)
def test_a_policy_that_does_not_fit_its_event_is_refused(
    policy: Policy, options: dict[str, Any], message: str
) -> None:
    given = {"timeout_seconds": 3600.0, "has_default": False, "answers_yes_no": True, **options}
    with pytest.raises(ValueError, match=re.escape(message)):
        check_policy(policy, **given)


def test_escalation_steps_start_one_after_another() -> None:
    policy = Policy(escalation=(Step(["ana"], 60), Step(["bo"], 30), Step(["cy"])))
    assert policy.starts(START) == [
        START,
        START + timedelta(seconds=60),
        START + timedelta(seconds=90),
    ]


def test_a_policy_from_json_data_checks_its_quorum_as_the_class_does() -> None:
    with pytest.raises(ValueError, match=r"between 1 and the number of members \(2\), got 5"):
        as_policy({"quorum": {"count": 5, "of": ["ana", "bo"]}})
    with pytest.raises(ValueError, match="vetoers must be members"):
        as_policy({"quorum": {"count": 1, "of": ["ana"], "vetoers": ["zed"]}})
    with pytest.raises(ValueError, match=r"a quorum takes count .required., of, veto and vetoers"):
        as_policy({"quorum": {"count": 1, "of": ["ana"], "members": ["bo"]}})
