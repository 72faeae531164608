"""Decision policies through the JSON API of a real app: votes, refusals, delegation,
standing approvals and signed evidence, with identities known by API tokens."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import hitlkit
from hitlkit import _evidence
from hitlkit._policy import Policy, Quorum
from hitlkit._tokens import create_token
from tests.security.conftest import App


@pytest.fixture
def board(secured: App) -> dict[str, str]:
    """API tokens for ana, bo, cy (the board) and dev (who asks)."""
    assert secured.tokens_file is not None
    more = {name: create_token(secured.tokens_file, name) for name in ("cy", "dev")}
    return {**secured.tokens, **more}


def answer(app: App, token: str | None, request_id: str, value: Any, **body: Any) -> Any:
    with app.client(token) as http:
        return http.post(f"/api/events/{request_id}/answer", json={"value": value, **body})


def quorum_event(app: App, name: str = "deploy", **policy: Any) -> hitlkit.Event[bool]:
    return app.ask(
        name,
        bool,
        prompt="Deploy 4.2 to prod?",
        policy=Policy(quorum=Quorum(2, of=["ana", "bo", "cy"]), **policy),
        requested_by="dev",
    )


def test_a_quorum_waits_with_202_then_decides_with_200(secured: App, board: dict[str, str]) -> None:
    event = quorum_event(secured)

    first = answer(secured, board["ana"], event.request_id, True, comment="tests pass")
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["outcome"] is None
    assert (body["vote"]["by"], body["vote"]["proof"], body["vote"]["comment"]) == (
        "ana",
        "token",
        "tests pass",
    )
    assert body["policy_state"]["summary"] == "1 of 2 approved"
    assert body["policy_state"]["may_answer"] == ["bo", "cy"]

    again = answer(secured, board["ana"], event.request_id, True)
    assert again.status_code == 202
    assert again.json()["already_recorded"] is True

    changed = answer(secured, board["ana"], event.request_id, False)
    assert changed.status_code == 409
    assert changed.json()["error"] == "vote_changed"

    second = answer(secured, board["bo"], event.request_id, "yes")
    assert second.status_code == 200, second.text
    outcome = second.json()["outcome"]
    assert (outcome["value"], outcome["decision"]) == (True, "approved")
    assert [v["by"] for v in outcome["votes"]] == ["ana", "bo"]
    assert second.json()["vote"]["by"] == "bo"
    assert event.wait() is True

    late = answer(secured, board["cy"], event.request_id, True)
    assert late.status_code == 409
    assert late.json()["error"] == "already_answered"

    with secured.client(board["cy"]) as http:
        shown = http.get(f"/api/events/{event.request_id}").json()
    assert shown["policy"]["quorum"]["count"] == 2
    assert shown["requested_by"] == "dev"
    assert (shown["version"], shown["previous_id"]) == (1, None)
    assert shown["policy_state"]["summary"] == "approved by 2 of 2 votes (2 needed)"
    assert [v["by"] for v in shown["policy_state"]["votes"]] == ["ana", "bo"]


def test_a_listing_names_the_policy_but_leaves_its_state_out(
    secured: App, board: dict[str, str]
) -> None:
    event = quorum_event(secured)
    with secured.client(board["ana"]) as http:
        listed = http.get("/api/events").json()["events"]
    (shown,) = [e for e in listed if e["request_id"] == event.request_id]
    assert shown["policy"]["quorum"]["of"] == ["ana", "bo", "cy"]
    assert shown["policy_state"] is None


def test_one_members_rejection_vetoes_at_once(secured: App, board: dict[str, str]) -> None:
    event = quorum_event(secured)
    assert answer(secured, board["ana"], event.request_id, True).status_code == 202

    vetoed = answer(secured, board["cy"], event.request_id, False, comment="no rollback plan")

    assert vetoed.status_code == 200
    outcome = vetoed.json()["outcome"]
    assert (outcome["value"], outcome["decision"], outcome["by"]) == (False, "vetoed", "cy")
    assert "no rollback plan" in outcome["reason"]
    assert event.wait() is False


def test_who_asked_may_not_answer_under_separation_of_duties(
    secured: App, board: dict[str, str]
) -> None:
    event = secured.ask(
        "release",
        bool,
        policy=Policy(separate_duties=True),
        requested_by="ana",
        assignees=["ana", "bo"],
    )

    refused = answer(secured, board["ana"], event.request_id, True)

    assert refused.status_code == 403
    assert refused.json()["error"] == "separation_of_duties"
    assert "ana asked for it" in refused.json()["message"]
    assert answer(secured, board["bo"], event.request_id, True).status_code == 200


def test_a_policy_that_counts_identities_refuses_declared_names(open_app: App) -> None:
    event = quorum_event(open_app)

    for path, body in (
        (f"/api/events/{event.request_id}/answer", {"value": True, "by": "ana"}),
        ("/submit/json", {"request_id": event.request_id, "value": True}),
        (f"/api/events/{event.request_id}/cancel", {"by": "ana", "reason": "typed name"}),
    ):
        with open_app.client() as http:
            refused = http.post(path, json=body)
        assert refused.status_code == 403, path
        assert refused.json()["error"] == "identity_required"
        assert "tokens" in refused.json()["message"]
    assert event.outcome() is None


def test_submit_json_votes_too(secured: App, board: dict[str, str]) -> None:
    event = quorum_event(secured)
    with secured.client(board["ana"]) as http:
        first = http.post("/submit/json", json={"request_id": event.request_id, "value": True})
    assert first.status_code == 202
    assert first.json()["outcome"] is None
    assert first.json()["policy_state"]["approvals"] == 1
    with secured.client(board["bo"]) as http:
        second = http.post("/submit/json", json={"request_id": event.request_id, "value": True})
    assert second.status_code == 200
    assert second.json()["outcome"]["decision"] == "approved"


def test_a_member_hands_their_place_on(secured: App, board: dict[str, str]) -> None:
    event = quorum_event(secured, separate_duties=True, delegation=True)

    def delegate(who: str, to: str, reason: str = "on leave") -> Any:
        with secured.client(board[who]) as http:
            return http.post(
                f"/api/events/{event.request_id}/delegate", json={"to": to, "reason": reason}
            )

    to_requester = delegate("ana", "dev")
    assert to_requester.status_code == 403
    assert to_requester.json()["error"] == "separation_of_duties"

    to_member = delegate("ana", "bo")
    assert to_member.status_code == 422
    assert to_member.json()["error"] == "delegation_refused"

    made = delegate("ana", "eve")
    assert made.status_code == 200, made.text
    assert {k: made.json()[k] for k in ("by", "to", "reason")} == {
        "by": "ana",
        "to": "eve",
        "reason": "on leave",
    }
    assert delegate("ana", "eve").json() == made.json()  # the same again: the first
    assert delegate("ana", "zed").json()["error"] == "delegation_refused"

    handed_on = answer(secured, board["ana"], event.request_id, True)
    assert handed_on.status_code == 403
    assert handed_on.json()["error"] == "not_assigned"

    eve = create_token(secured.tokens_file, "eve")  # type: ignore[arg-type]
    voted = answer(secured, eve, event.request_id, True)
    assert voted.status_code == 202, voted.text
    assert (voted.json()["vote"]["by"], voted.json()["vote"]["seat"]) == ("eve", "ana")
    with secured.client(board["bo"]) as http:
        state = http.get(f"/api/events/{event.request_id}").json()["policy_state"]
    assert [(d["by"], d["to"]) for d in state["delegations"]] == [("ana", "eve")]


def test_delegation_needs_a_policy_that_allows_it(secured: App, board: dict[str, str]) -> None:
    event = quorum_event(secured)
    with secured.client(board["ana"]) as http:
        refused = http.post(
            f"/api/events/{event.request_id}/delegate", json={"to": "eve", "reason": "away"}
        )
        no_reason = http.post(f"/api/events/{event.request_id}/delegate", json={"to": "eve"})
    assert refused.status_code == 422
    assert refused.json()["error"] == "delegation_refused"
    assert no_reason.status_code == 422
    assert no_reason.json()["error"] == "invalid_request"


def test_a_grantor_approves_identical_requests_until_revoked(
    secured: App, board: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "ana")
    policy = Policy(grant_scope="db:prod")
    first = secured.ask("migrate", bool, policy=policy, assignees=["ana", "bo"])

    not_grantor = answer(secured, board["bo"], first.request_id, True, grant_seconds=3600)
    assert not_grantor.status_code == 403
    assert not_grantor.json()["error"] == "grant_refused"

    granted = answer(secured, board["ana"], first.request_id, True, grant_seconds=3600)
    assert granted.status_code == 200, granted.text

    with secured.client(board["bo"]) as http:
        grants = http.get("/api/grants", params={"active": "true"}).json()["grants"]
    assert len(grants) == 1
    grant = grants[0]
    assert (grant["by"], grant["scope"], grant["source"], grant["active"]) == (
        "ana",
        "db:prod",
        first.request_id,
        True,
    )
    assert grant["revoked"] is None

    again = secured.ask("migrate", bool, policy=policy, assignees=["ana", "bo"], run_id="run-2")
    outcome = again.outcome()
    assert outcome is not None
    assert (outcome.decision, outcome.value) == ("granted", True)
    assert outcome.grant is not None
    assert outcome.grant.id == grant["id"]

    with secured.client(board["bo"]) as http:
        refused = http.post(f"/api/grants/{grant['id']}/revoke", json={"reason": "mine"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "grant_refused"

    with secured.client(board["ana"]) as http:
        revoked = http.post(f"/api/grants/{grant['id']}/revoke", json={"reason": "schema changed"})
        assert revoked.status_code == 200, revoked.text
        assert (revoked.json()["by"], revoked.json()["reason"]) == ("ana", "schema changed")
        assert http.get("/api/grants", params={"active": "true"}).json()["grants"] == []
        (listed,) = http.get("/api/grants").json()["grants"]
    assert (listed["active"], listed["revoked"]["by"]) == (False, "ana")

    later = secured.ask("migrate", bool, policy=policy, assignees=["ana", "bo"], run_id="run-3")
    assert later.outcome() is None


def test_revoking_needs_a_token(open_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "anonymous,ana")
    with open_app.client() as http:
        refused = http.post("/api/grants/0123456789abcdef/revoke", json={})
        listed = http.get("/api/grants")
    assert refused.status_code == 403
    assert refused.json()["error"] == "identity_required"
    assert listed.json() == {"grants": []}


def test_the_grants_need_an_api_token(secured: App) -> None:
    event = secured.ask("deploy", bool, policy=Quorum(1, of=["ana"]))
    link = secured.link(event.request_id)
    with secured.client() as http:
        assert http.get("/api/grants").status_code == 401
    with secured.client(link) as http:
        assert http.get("/api/grants").json()["error"] == "forbidden"


def test_evidence_is_signed_with_the_apps_key(
    secured: App, board: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = quorum_event(secured)
    answer(secured, board["ana"], event.request_id, True, comment="fine")
    answer(secured, board["cy"], event.request_id, True)
    path = f"/api/events/{event.request_id}/evidence"

    with secured.client(board["bo"]) as http:
        unsigned = http.get(path).json()
    assert unsigned["signature"] is None
    assert "HITL_EVIDENCE_KEY" in unsigned["note"]

    pub, key_id = _evidence.generate_key(tmp_path / "evidence.pem")
    monkeypatch.setenv("HITL_EVIDENCE_KEY", str(tmp_path / "evidence.pem"))
    with secured.client(board["bo"]) as http:
        signed = {k: v for k, v in http.get(path).json().items() if v is not None}
        assert http.get(path.replace(event.request_id, "0" * 24)).status_code == 404
    assert signed["key_id"] == key_id
    document = signed["document"]
    assert document["format"] == "hitlkit-evidence/1"
    assert document["shown_matches"] is True
    assert [v["by"] for v in document["votes"]] == ["ana", "cy"]
    assert document["outcome"]["decision"] == "approved"

    verified = _evidence.verify(json.dumps(signed).encode(), _evidence.load_public_key(pub))
    assert verified.line().startswith(f"valid: signed by key {key_id}, event {event.request_id}")
    assert "decided approved (true) by ana (token), cy (token)" in verified.line()


def test_a_standing_approval_needs_a_policy_that_takes_one(
    secured: App, board: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "ana")
    plain = secured.ask("migrate", bool)
    no_scope = quorum_event(secured)

    for event in (plain, no_scope):
        refused = answer(secured, board["ana"], event.request_id, True, grant_seconds=60)
        assert refused.status_code == 403
        assert refused.json()["error"] == "grant_refused"
        assert "takes no standing approvals" in refused.json()["message"]
    assert plain.outcome() is None
    with secured.client(board["ana"]) as http:
        too_long = http.post(
            f"/api/events/{plain.request_id}/answer", json={"value": True, "grant_seconds": 1e9}
        )
    assert too_long.json()["error"] == "invalid_request"


def test_the_client_over_http_votes_grants_and_revokes(
    secured: App, board: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "ana,bo")
    ana = hitlkit.Client(endpoint=secured.url, token=board["ana"])
    bo = hitlkit.Client(endpoint=secured.url, token=board["bo"])
    cy = hitlkit.Client(endpoint=secured.url, token=board["cy"])
    event = quorum_event(secured, grant_scope="prod")

    assert ana.answer(event.request_id, True, comment="ok", grant_seconds=600) is None
    state = bo.policy_state(event.request_id)
    assert state is not None
    assert (state.summary, state.votes[0].comment) == ("1 of 2 approved", "ok")
    # Under a quorum, every approval must ask for the grant: both grantors do.
    outcome = bo.answer(event.request_id, True, grant_seconds=300)
    assert outcome is not None
    assert outcome.decision == "approved"

    [grant] = bo.grants(active_only=True)
    assert (grant.by, grant.co_signers, grant.source) == ("ana", ("bo",), event.request_id)
    assert grant.active
    assert grant.expires_at - grant.at == timedelta(seconds=300)  # the shorter asked
    with pytest.raises(hitlkit.GrantError, match="cy is not a grantor"):
        cy.revoke_grant(grant.id)
    revoked = ana.revoke_grant(grant.id, reason="done")
    assert (revoked.by, revoked.reason) == ("ana", "done")
    assert bo.grants(active_only=True) == []
    assert bo.policy_state(secured.ask("plain", bool).request_id) is None


def test_under_a_policy_only_who_asked_calls_the_event_off(
    secured: App, board: dict[str, str]
) -> None:
    event = secured.ask(
        "deploy",
        bool,
        policy=Policy(quorum=Quorum(2, of=["ana", "bo", "cy"], veto=False)),
        requested_by="dev",
    )
    assert answer(secured, board["ana"], event.request_id, False).status_code == 202
    url = f"/api/events/{event.request_id}/cancel"

    with secured.client(board["ana"]) as http:
        refused = http.post(url, json={"reason": "I said no"})
    with secured.client(board["dev"]) as http:
        withdrawn = http.post(url, json={"reason": "superseded"})

    assert refused.status_code == 403
    assert refused.json()["error"] == "not_assigned"
    assert "only who asked (dev) may call it off" in refused.json()["message"]
    assert withdrawn.status_code == 200
    assert withdrawn.json()["outcome"]["by"] == "dev"
