"""A retry is known by the credential's identity, never by the `by` a client claims."""

from __future__ import annotations

from tests.security.conftest import App


def test_with_tokens_the_same_answer_again_is_known_by_the_tokens_name(secured: App) -> None:
    event = secured.ask("count")
    url = f"/api/events/{event.request_id}/answer"
    with secured.client(secured.tokens["ana"]) as ana, secured.client(secured.tokens["bo"]) as bo:
        first = ana.post(url, json={"value": 3, "by": "claimed"})
        again = ana.post("/submit/json", json={"request_id": event.request_id, "value": 3})
        # bo claims to be ana: the token says who answers, so this is bo's answer, refused.
        impostor = bo.post(url, json={"value": 3, "by": "ana"})

    assert first.json()["outcome"]["by"] == "ana"
    assert (again.status_code, again.json()["already_recorded"]) == (200, True)
    assert impostor.status_code == 409
    assert impostor.json()["outcome"]["by"] == "ana"


def test_an_answer_link_sent_again_is_already_recorded(secured: App) -> None:
    event = secured.ask("count")
    url = f"/api/events/{event.request_id}/answer"
    link = secured.link(event.request_id, identity="ana")
    with secured.client(link) as holder, secured.client(secured.tokens["bo"]) as bo:
        first = holder.post(url, json={"value": 3})
        again = holder.post(url, json={"value": 3})
        other = bo.post(url, json={"value": 3})

    assert first.status_code == 200
    assert (again.status_code, again.json()["already_recorded"]) == (200, True)
    assert other.status_code == 409
