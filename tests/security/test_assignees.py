"""Events with assignees: only they may answer; others learn no more than that."""

from __future__ import annotations

import pytest

from hitlkit import NotAssignedError
from tests.forms import followed, form_fields
from tests.security.conftest import App


def test_only_an_assignee_token_answers(secured: App) -> None:
    event = secured.ask("approve", bool, assignees=["ana"])
    with secured.client(secured.tokens["bo"]) as bo:
        refused = bo.post(f"/api/events/{event.request_id}/answer", json={"value": True})
        seed_route = bo.post("/submit/json", json={"request_id": event.request_id, "value": True})
    with secured.client(secured.tokens["ana"]) as ana:
        accepted = ana.post(f"/api/events/{event.request_id}/answer", json={"value": False})
    with secured.client(secured.tokens["bo"]) as bo:
        after = bo.post(f"/api/events/{event.request_id}/answer", json={"value": True})

    for response in (refused, seed_route, after):
        assert response.status_code == 403
        body = response.json()
        assert body["error"] == "not_assigned"
        assert "assigned to other people" in body["message"]
        assert "ana" not in body["message"]  # who is assigned is not disclosed
        assert "outcome" not in body  # nor, once answered, the answer
    assert accepted.status_code == 200
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by) == (False, "ana")


def test_links_answer_only_as_an_assignee(secured: App) -> None:
    event = secured.ask("approve", bool, assignees=["ana", "cy"])
    for identity in ("bo", None):
        with secured.client() as browser:
            url = secured.link_url(event.request_id, secured.link(event.request_id, identity))
            page = browser.get(url)
            posted = browser.post("/submit", data={"request_id": event.request_id, "value": "true"})
        assert page.status_code == 200
        assert 'action="/submit"' not in page.text  # no form to fill in for nothing
        assert "Only ana, cy may answer this event" in page.text
        assert posted.status_code == 403
    assert event.outcome() is None

    with secured.client() as browser:
        url = secured.link_url(event.request_id, secured.link(event.request_id, "cy"))
        fields = form_fields(browser, url)
        page = followed(browser, browser.post("/submit", data={**fields, "value": "true"}))

    assert "Recorded: yes" in page.text
    outcome = event.outcome()
    assert outcome is not None
    assert outcome.by == "cy"


def test_without_auth_the_claimed_name_is_checked(
    open_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = open_app.ask("count", assignees=["ana"])
    with open_app.client() as http:
        refused = http.post(f"/api/events/{event.request_id}/answer", json={"value": 1, "by": "bo"})
        shown = http.get(f"/api/events/{event.request_id}").json()
    with pytest.raises(NotAssignedError):
        event.answer(2)  # HITL_USER is "tester"
    monkeypatch.setenv("HITL_USER", "ana")
    event.answer(3)

    assert refused.status_code == 403
    assert shown["assignees"] == ["ana"]
    assert event.wait() == 3


def test_assignees_are_checked_when_the_event_is_made(open_app: App) -> None:
    with pytest.raises(TypeError, match="list of identities"):
        open_app.ask("a", assignees="ana")
    with pytest.raises(ValueError, match="1 to 100"):
        open_app.ask("b", assignees=[])
    with pytest.raises(ValueError, match="non-empty"):
        open_app.ask("c", assignees=["ana", " "])
    assert open_app.ask("d", assignees=["ana", "ana", "bo"]).assignees == ("ana", "bo")
