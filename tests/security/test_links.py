"""Signed answer links: one event, one identity, until they expire, never altered or replayed."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from itsdangerous import BadSignature, URLSafeSerializer

from hitlkit import ConfigurationError, InvalidLinkError
from hitlkit._links import answer_url, sign_answer_link, verify_answer_link
from hitlkit._records import utcnow
from hitlkit._server import create_app
from tests.forms import form_fields
from tests.integration.conftest import serve_in_thread
from tests.security.conftest import SECRET, App

INVALID = {"error": "unauthorized", "message": "the credential is not valid"}


def test_a_link_answers_its_event_as_its_identity_through_the_api(secured: App) -> None:
    event = secured.ask("count")
    with secured.client(secured.link(event.request_id, identity="ana")) as http:
        response = http.post(
            f"/api/events/{event.request_id}/answer", json={"value": 3, "by": "mallory"}
        )

    assert response.status_code == 200, response.text
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == (3, "ana", "api")


def test_a_link_answers_through_the_form_and_the_page_names_who_answers(secured: App) -> None:
    event = secured.ask("count")
    url = secured.link_url(event.request_id, secured.link(event.request_id, identity="ana"))

    with secured.client() as browser:
        page = browser.get(url)
        fields = form_fields(browser, url)
        posted = browser.post("/submit", data={**fields, "value": "5", "by": "mallory"})

    assert page.status_code == 200
    assert "Answering as <strong>ana</strong>" in page.text
    assert 'name="by"' not in page.text
    assert posted.status_code == 303, posted.text
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == (5, "ana", "form")


def test_forged_and_altered_links_are_refused_like_unknown_tokens(secured: App) -> None:
    event = secured.ask("count")
    good = secured.link(event.request_id)
    payload, _, signature = good.rpartition(".")
    flipped = "A" if signature[0] != "A" else "B"
    other_secret = sign_answer_link(
        "another-secret-0123456789abcdef",
        event.request_id,
        identity="ana",
        expires_at=utcnow() + timedelta(hours=1),
    )
    forged = [
        "not-a-link",
        good + "x",
        f"{payload}.{flipped}{signature[1:]}",
        f"{payload[:-2]}{payload[-1]}{payload[-2]}.{signature}",
        other_secret,
        "hitl_" + "a" * 43,
    ]

    for token in forged:
        with secured.client(token) as http:
            response = http.post(f"/api/events/{event.request_id}/answer", json={"value": 1})
        assert response.status_code == 401, token
        assert response.json() == INVALID
    assert event.outcome() is None


def test_an_expired_link_is_refused_on_the_form_and_the_api(secured: App) -> None:
    event = secured.ask("count")
    token = sign_answer_link(
        SECRET, event.request_id, identity="ana", expires_at=utcnow() - timedelta(seconds=1)
    )

    with secured.client() as browser:
        page = browser.get(secured.link_url(event.request_id, token))
    with secured.client(token) as http:
        api = http.post(f"/api/events/{event.request_id}/answer", json={"value": 1})

    assert page.status_code == 401
    assert "expired" in page.text
    assert "<form" not in page.text
    assert api.status_code == 401
    assert api.json()["error"] == "link_expired"
    assert event.outcome() is None


def test_a_link_cannot_be_replayed_once_the_event_is_resolved(secured: App) -> None:
    event = secured.ask("count")
    token = secured.link(event.request_id)
    with secured.client(token) as http:
        first = http.post(f"/api/events/{event.request_id}/answer", json={"value": 1})
        again = http.post(f"/api/events/{event.request_id}/answer", json={"value": 2})
    with secured.client() as browser:
        page = browser.get(secured.link_url(event.request_id, token))

    assert first.status_code == 200
    assert again.status_code == 409
    assert "<form" not in page.text
    assert "Answered" in page.text
    outcome = event.outcome()
    assert outcome is not None
    assert outcome.value == 1


def test_a_link_for_one_event_does_not_answer_another(secured: App) -> None:
    mine = secured.ask("mine")
    other = secured.ask("other")
    token = secured.link(mine.request_id)

    with secured.client(token) as http:
        api = http.post(f"/api/events/{other.request_id}/answer", json={"value": 1})
        seed_route = http.post("/submit/json", json={"request_id": other.request_id, "value": 1})
        read = http.get(f"/api/events/{other.request_id}")
    with secured.client() as browser:
        fields = form_fields(browser, secured.link_url(mine.request_id, token))
        form = browser.post("/submit", data={**fields, "request_id": other.request_id, "value": 1})
        page = browser.get(secured.link_url(other.request_id, token))

    for response in (api, seed_route, read):
        assert response.status_code == 403
        assert response.json()["error"] == "wrong_event"
    assert page.status_code == 403
    assert form.status_code == 401  # the link's cookie goes with its own event only
    assert other.outcome() is None
    assert mine.outcome() is None


def test_a_link_neither_lists_nor_cancels_nor_reads_the_audit(secured: App) -> None:
    event = secured.ask("count")
    with secured.client(secured.link(event.request_id)) as http:
        responses = [
            http.get("/api/events"),
            http.post(f"/api/events/{event.request_id}/cancel", json={}),
            http.get(f"/api/events/{event.request_id}/audit"),
        ]
        own = http.get(f"/api/events/{event.request_id}")

    for response in responses:
        assert response.status_code == 403
        assert response.json()["error"] == "forbidden"
    assert own.status_code == 200
    assert event.outcome() is None


def test_events_make_links_with_the_configured_secret(
    open_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = open_app.ask("count", endpoint=open_app.url)
    with pytest.raises(ConfigurationError, match="HITL_SECRET"):
        event.answer_link(identity="ana")

    monkeypatch.setenv("HITL_SECRET", SECRET)
    url = event.answer_link(identity="ana", expires_in=60)
    with open_app.client() as browser:
        fields = form_fields(browser, url)
        posted = browser.post("/submit", data={**fields, "value": "9"})

    assert url.startswith(f"{open_app.url}/form/{event.request_id}?token=")
    assert posted.status_code == 303
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by) == (9, "ana")


def test_a_link_lasts_until_the_deadline_by_default(open_app: App) -> None:
    event = open_app.ask("count", timeout_seconds=120)
    url = event.answer_link(secret=SECRET)
    token = url.partition("?token=")[2]

    link = verify_answer_link(SECRET, token, request_id=event.request_id)

    assert link.identity is None
    assert abs((link.expires_at - event.deadline).total_seconds()) < 1


def test_verification_names_why_a_link_is_refused() -> None:
    request_id = "0123456789abcdef01234567"
    soon = datetime.now(timezone.utc) + timedelta(minutes=5)
    token = sign_answer_link(SECRET, request_id, identity="ana", expires_at=soon)

    with pytest.raises(InvalidLinkError) as other:
        verify_answer_link(SECRET, token, request_id="f" * 24)
    with pytest.raises(InvalidLinkError) as expired:
        verify_answer_link(SECRET, token, now=soon + timedelta(seconds=1))
    with pytest.raises(InvalidLinkError) as forged:
        verify_answer_link("x" * 32, token)
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_answer_link(SECRET, request_id, identity=None, expires_at=datetime(2030, 1, 1))
    with pytest.raises(ConfigurationError, match="at least 16"):
        sign_answer_link("short", request_id, identity=None, expires_at=soon)

    assert (other.value.reason, expired.value.reason, forged.value.reason) == (
        "other_event",
        "expired",
        "invalid",
    )
    assert verify_answer_link(SECRET, token).identity == "ana"
    assert answer_url("http://h:1/", request_id, "a.b") == f"http://h:1/form/{request_id}?token=a.b"


def test_an_empty_link_parameter_counts_as_no_link(open_app: App) -> None:
    event = open_app.ask("count")
    with open_app.client() as browser:
        page = browser.get(f"/form/{event.request_id}", params={"token": ""})

    assert page.status_code == 200
    assert 'name="by"' in page.text


def test_an_empty_link_parameter_is_no_credential(secured: App) -> None:
    event = secured.ask("count")
    with secured.client() as browser:
        page = browser.get(f"/form/{event.request_id}", params={"token": ""})

    assert page.status_code == 401
    assert "Sign in" in page.text


def _itsdangerous(secret: str, digest: Any) -> URLSafeSerializer:
    """A serializer made apart from hitlkit's, with the link salt and `digest`."""
    return URLSafeSerializer(
        secret, salt="hitlkit.answer-link.v1", signer_kwargs={"digest_method": digest}
    )


def test_links_are_signed_with_sha256_and_sha1_links_still_answer(secured: App) -> None:
    new, old = secured.ask("new"), secured.ask("old")
    expires = int((utcnow() + timedelta(minutes=10)).timestamp())
    new_link = secured.link(new.request_id, "ana")
    sha1_link = _itsdangerous(SECRET, hashlib.sha1).dumps(
        {"r": old.request_id, "i": "bo", "e": expires}
    )
    assert isinstance(sha1_link, str)
    with secured.client(new_link) as http:
        first = http.post(f"/api/events/{new.request_id}/answer", json={"value": 1})
    with secured.client(sha1_link) as http:
        second = http.post(f"/api/events/{old.request_id}/answer", json={"value": 2})

    assert _itsdangerous(SECRET, hashlib.sha256).loads(new_link)["r"] == new.request_id
    with pytest.raises(BadSignature):
        _itsdangerous(SECRET, hashlib.sha1).loads(new_link)
    assert first.status_code == second.status_code == 200
    assert (new.wait(), old.wait()) == (1, 2)
    outcome = old.outcome()
    assert outcome is not None
    assert outcome.by == "bo"


def test_rotation_new_links_use_the_new_secret_old_ones_verify_until_they_expire() -> None:
    request_id = "0123456789abcdef01234567"
    soon = utcnow() + timedelta(minutes=5)
    new_secret = "the-new-secret-0123456789abcdef"
    old = sign_answer_link(SECRET, request_id, identity="ana", expires_at=soon)
    old_sha1 = _itsdangerous(SECRET, hashlib.sha1).dumps(
        {"r": request_id, "i": "cy", "e": int(soon.timestamp())}
    )
    new = sign_answer_link(new_secret, request_id, identity="bo", expires_at=soon)

    assert verify_answer_link(new_secret, old, previous=[SECRET]).identity == "ana"
    assert verify_answer_link(new_secret, old_sha1, previous=[SECRET]).identity == "cy"
    assert verify_answer_link(new_secret, new, previous=[SECRET]).identity == "bo"
    with pytest.raises(InvalidLinkError) as retired:
        verify_answer_link(new_secret, old)  # the old secret no longer listed
    with pytest.raises(InvalidLinkError) as expired:
        verify_answer_link(new_secret, old, previous=[SECRET], now=soon)
    with pytest.raises(InvalidLinkError):
        verify_answer_link(SECRET, new)  # a new link is not signed with the old secret
    assert (retired.value.reason, expired.value.reason) == ("invalid", "expired")


def test_the_app_takes_former_secrets_from_hitl_secret_previous(
    secured: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = secured.ask("count")
    old_link = secured.link(event.request_id, "ana")
    monkeypatch.setenv("HITL_SECRET_PREVIOUS", f" {'z' * 20} , {SECRET} ")
    app = create_app(secured.store, secret="the-new-secret-0123456789abcdef")
    server, thread, port = serve_in_thread(app)
    try:
        with httpx.Client(trust_env=False) as browser:
            fields = form_fields(
                browser, answer_url(f"http://127.0.0.1:{port}", event.request_id, old_link)
            )
            posted = browser.post(f"http://127.0.0.1:{port}/submit", data={**fields, "value": "6"})
    finally:
        server.should_exit = True
        thread.join(10)

    assert posted.status_code == 303, posted.text
    assert event.wait() == 6
