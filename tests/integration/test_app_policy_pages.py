"""Decision policies through the app's pages and background driver, over real HTTP: what a
post the page would not offer gets (a clear 403 or 409 page, never a 500, and nothing
recorded), the inbox's policy line, and timeout actions with no waiter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import hitlkit
from hitlkit import LocalStore, Policy, Quorum, Step, _policy_ops
from hitlkit._server import create_app
from hitlkit._server._policy_driver import drive_once
from hitlkit._tokens import create_token
from tests.forms import followed, form_fields
from tests.integration.conftest import serve_in_thread

PEOPLE = ("ana", "bo", "dev")


def ask(store: LocalStore, name: str, policy: Any, **options: Any) -> hitlkit.Event[Any]:
    options.setdefault("requested_by", "dev")
    return hitlkit.new_event(name, bool, store=store, serve=False, policy=policy, **options)


@pytest.fixture
def signed(app_store: LocalStore, tmp_path: Path) -> Iterator[dict[str, httpx.Client]]:
    """An app with tokens (and a quick policy driver), and a client for each of `PEOPLE`."""
    tokens_file = tmp_path / "tokens.json"
    tokens = {who: create_token(tokens_file, who) for who in PEOPLE}
    app = create_app(app_store, tokens_file=tokens_file, secret="s" * 32, drive_every=0.2)
    server, thread, port = serve_in_thread(app)
    clients = {
        who: httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
            trust_env=False,
        )
        for who, token in tokens.items()
    }
    yield clients
    for http in clients.values():
        http.close()
    server.should_exit = True
    thread.join(10)


def test_an_app_without_tokens_refuses_a_forged_vote_with_a_clear_page(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "deploy", Quorum(2, of=["ana", "bo"]))
    page = client.get(f"/form/{event.request_id}")
    # This page offers no form at all: a plain event's page gives a form token.
    plain = hitlkit.new_event("plain", bool, store=app_store, serve=False)
    fields = {**form_fields(client, f"/form/{plain.request_id}"), "request_id": event.request_id}

    voted = client.post("/submit", data={**fields, "value": "true", "by": "ana"})
    handed = client.post("/delegate", data={**fields, "to": "bo", "reason": "away", "by": "ana"})

    assert "Answers here need a signed-in identity." in page.text
    assert 'name="value"' not in page.text
    for refused in (voted, handed):
        assert refused.status_code == 403
        assert "A signed-in identity is needed" in refused.text
        assert "--tokens-file" in refused.text
    state = event.policy_state()
    assert state is not None
    assert state.votes == ()
    assert state.delegations == ()


def test_the_requester_is_refused_under_separation_of_duties(
    signed: dict[str, httpx.Client], app_store: LocalStore
) -> None:
    event = ask(app_store, "payout", Policy(separate_duties=True), assignees=["dev", "bo"])
    dev = signed["dev"]
    fields = form_fields(dev, f"/form/{event.request_id}")

    posted = dev.post("/submit", data={**fields, "value": "true"})

    assert posted.status_code == 403
    assert "Separation of duties" in posted.text
    assert "dev asked for it" in posted.text
    assert event.outcome() is None


def test_a_changed_vote_is_a_409_page_and_the_first_vote_stands(
    signed: dict[str, httpx.Client], app_store: LocalStore
) -> None:
    event = ask(app_store, "deploy", Quorum(2, of=["ana", "bo"]))
    ana = signed["ana"]
    fields = form_fields(ana, f"/form/{event.request_id}")

    first = followed(ana, ana.post("/submit", data={**fields, "value": "true", "comment": "ok"}))
    again = ana.post("/submit", data={**fields, "value": "true", "comment": "ok"})
    changed = ana.post("/submit", data={**fields, "value": "false"})

    assert "Your vote is recorded; 1 of 2 approved." in first.text
    assert again.status_code == 303  # the same vote again is a retry
    assert changed.status_code == 409
    assert "a vote cannot be changed" in changed.text
    state = event.policy_state()
    assert state is not None
    assert [(v.by, v.value, v.comment) for v in state.votes] == [("ana", True, "ok")]


def test_the_inbox_row_says_where_a_quorum_stands(
    signed: dict[str, httpx.Client], app_store: LocalStore
) -> None:
    event = ask(app_store, "deploy", Quorum(2, of=["ana", "bo"]))
    ana = signed["ana"]
    fields = form_fields(ana, f"/form/{event.request_id}")
    ana.post("/submit", data={**fields, "value": "true"})

    inbox = ana.get("/")

    assert inbox.status_code == 200
    assert '<span class="quiet">Policy:</span> 1 of 2 approved' in inbox.text


def test_a_delegation_needs_the_form_token_and_a_grant_needs_a_grantor(
    signed: dict[str, httpx.Client], app_store: LocalStore
) -> None:
    policy = Policy(
        quorum=Quorum(2, of=["ana", "bo"]),
        separate_duties=True,
        delegation=True,
        grant_scope="db:prod",
    )
    event = ask(app_store, "migrate", policy)
    ana = signed["ana"]
    fields = form_fields(ana, f"/form/{event.request_id}")

    forged = ana.post(
        "/delegate", data={"request_id": event.request_id, "to": "eve", "reason": "trust me"}
    )
    to_requester = ana.post("/delegate", data={**fields, "to": "dev", "reason": "they know"})
    no_reason = ana.post("/delegate", data={**fields, "to": "eve", "reason": " "})
    granted = ana.post("/submit", data={**fields, "value": "true", "grant_seconds": "86400"})

    assert forged.status_code == 403
    assert "This form expired or was not sent from this page" in forged.text
    assert to_requester.status_code == 403
    assert "may not be handed to dev" in to_requester.text
    assert no_reason.status_code == 422
    assert "Not handed on: say why" in no_reason.text
    assert granted.status_code == 403
    assert "ana is not a grantor" in granted.text
    state = event.policy_state()
    assert state is not None
    assert (state.votes, state.delegations) == ((), ())


def test_the_app_records_the_timeout_action_with_no_waiter(
    signed: dict[str, httpx.Client], app_store: LocalStore
) -> None:
    policy = Policy(quorum=Quorum(2, of=["ana", "bo"]), on_timeout="default")
    event = ask(app_store, "deploy", policy, timeout_seconds=1, default=False)

    deadline = time.monotonic() + 20
    while (outcome := event.outcome()) is None:
        assert time.monotonic() < deadline, "the app's driver recorded no outcome"
        time.sleep(0.1)
    page = signed["ana"].get(f"/form/{event.request_id}")

    assert (outcome.status, outcome.action, outcome.value) == ("defaulted", "default", False)
    assert "<h1>No decision</h1>" in page.text


def test_a_policy_that_counts_no_identity_takes_a_typed_name_and_a_comment(
    client: httpx.Client, app_store: LocalStore
) -> None:
    policy = Policy(escalation=(Step(["ana"], 60), Step(["oncall"])))
    event = ask(app_store, "restart", policy, timeout_seconds=300)
    fields = form_fields(client, f"/form/{event.request_id}")

    early = client.post("/submit", data={**fields, "value": "true", "by": "oncall"})
    posted = client.post(
        "/submit", data={**fields, "value": "true", "by": "ana", "comment": "Safe now"}
    )
    page = followed(client, posted)

    assert early.status_code == 403
    assert "<h1>Recorded: yes</h1>" in page.text
    assert "Safe now" in page.text
    outcome = event.outcome()
    assert outcome is not None
    assert [(v.by, v.comment, v.proof) for v in outcome.votes or ()] == [
        ("ana", "Safe now", "declared")
    ]


def test_opening_the_page_takes_a_step_that_is_due(app_store: LocalStore) -> None:
    server, thread, port = serve_in_thread(create_app(app_store, drive_every=3600))
    policy = Policy(escalation=(Step(["ana"], 0.5), Step(["oncall"])))
    event = ask(app_store, "restart", policy, timeout_seconds=300)
    time.sleep(0.6)
    try:
        # Nothing has looked yet (reading the state would take the step too).
        assert asyncio.run(_policy_ops.read_records(app_store, event.record)).steps == ()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
            page = http.get(f"/form/{event.request_id}")
    finally:
        server.should_exit = True
        thread.join(10)

    assert "Escalation steps taken" in page.text
    assert "Step 2 at" in page.text
    (step,) = event.policy_state().steps  # type: ignore[union-attr]
    assert step.assignees == ("oncall",)


def test_an_approvals_reason_is_the_votes_comment(
    signed: dict[str, httpx.Client], app_store: LocalStore
) -> None:
    event = hitlkit.new_event(
        "deploy",
        hitlkit.Approval,
        store=app_store,
        serve=False,
        policy=Quorum(2, of=["ana", "bo"]),
        requested_by="dev",
    )
    ana = signed["ana"]
    form = ana.get(f"/form/{event.request_id}")
    fields = form_fields(ana, f"/form/{event.request_id}")

    posted = ana.post(
        "/submit", data={**fields, "value.approved": "false", "value.reason": "No rollback plan"}
    )
    page = followed(ana, posted)

    assert form.text.count("<textarea") == 1  # the reason: only who asked may cancel
    assert "<h1>Vetoed by ana</h1>" in page.text
    assert "No rollback plan" in page.text
    outcome = event.outcome()
    assert outcome is not None
    assert outcome.decision == "vetoed"
    assert [(v.by, v.comment) for v in outcome.votes or ()] == [("ana", "No rollback plan")]


def test_two_drivers_at_once_take_each_step_and_timeout_once(app_store: LocalStore) -> None:
    stepping = ask(app_store, "restart", Policy(escalation=(Step(["ana"], 0.2), Step(["oncall"]))))
    expiring = ask(app_store, "deploy", Policy(quorum=Quorum(1, of=["ana"])), timeout_seconds=0.3)
    plain = hitlkit.new_event("plain", int, store=app_store, serve=False)
    time.sleep(0.4)

    async def race() -> list[int]:
        return list(await asyncio.gather(drive_once(app_store), drive_once(app_store)))

    looked = asyncio.run(race())

    assert looked == [2, 2]  # the plain event is no policy's
    state = stepping.policy_state()
    assert state is not None
    assert [s.step for s in state.steps] == [1]
    outcome = expiring.outcome()
    assert outcome is not None
    assert (outcome.status, outcome.action) == ("timed_out", "raise")
    assert plain.outcome() is None


def test_a_comment_too_long_is_shown_again_and_nothing_recorded(
    signed: dict[str, httpx.Client], app_store: LocalStore
) -> None:
    event = ask(app_store, "deploy", Quorum(2, of=["ana", "bo"]))
    ana = signed["ana"]
    fields = form_fields(ana, f"/form/{event.request_id}")

    posted = ana.post("/submit", data={**fields, "value": "true", "comment": "why " * 600})

    assert posted.status_code == 422
    assert "at most 2000 are kept" in posted.text
    assert ("why " * 600).strip() in posted.text  # kept, to shorten rather than type again
    assert event.policy_state().votes == ()  # type: ignore[union-attr]
