"""Browser sessions over real HTTP: form tokens bound to the sign-in, a new session at every
sign-in, sign-out, same-origin writes, `__Host-` cookies over HTTPS, credentials kept out of
pages and URLs, and assignees who alone may cancel."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from hitlkit import ConfigurationError, LocalStore
from hitlkit._server import create_app
from tests.forms import form_fields
from tests.integration.conftest import serve_in_thread
from tests.security.conftest import SECRET, App
from tests.security.test_sign_in import sign_in

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _login_pair(app: App) -> tuple[str, str]:
    """What an attacker gets from `/login` for itself: a form-token cookie and its field."""
    with app.client() as attacker:
        page = attacker.get("/login")
        match = _CSRF.search(page.text)
        assert match
        return attacker.cookies["hitl_csrf"], match.group(1)


def test_a_form_token_pair_from_login_does_not_answer_for_a_signed_in_browser(
    secured: App,
) -> None:
    event = secured.ask("approve", bool, assignees=["ana"])
    cookie, field = _login_pair(secured)
    with secured.client() as victim:
        sign_in(victim, secured.tokens["ana"])
        victim.cookies.set("hitl_csrf", cookie)  # planted by a sibling subdomain
        posted = victim.post(
            "/submit", data={"request_id": event.request_id, "value": "true", "csrf": field}
        )

    assert posted.status_code == 403
    assert event.outcome() is None


def test_a_form_token_planted_before_sign_in_is_worth_nothing_after_it(secured: App) -> None:
    event = secured.ask("approve", bool)
    cookie, field = _login_pair(secured)
    with secured.client() as victim:
        victim.cookies.set("hitl_csrf", cookie)  # fixed before the victim signs in
        signed = sign_in(victim, secured.tokens["ana"])
        posted = victim.post(
            "/submit", data={"request_id": event.request_id, "value": "true", "csrf": field}
        )
        again = sign_in(victim, secured.tokens["ana"])

    assert signed.status_code == 303
    assert posted.status_code == 403
    assert event.outcome() is None
    assert "hitl_csrf=" in signed.headers.get_list("set-cookie")[-1]  # the old pair is dropped
    session = [c for c in signed.headers.get_list("set-cookie") if "hitl_session=" in c]
    renewed = [c for c in again.headers.get_list("set-cookie") if "hitl_session=" in c]
    assert session
    assert renewed
    assert session != renewed  # every sign-in is a new session


def test_signing_out_ends_the_session_and_needs_the_page(secured: App) -> None:
    with secured.client() as browser:
        sign_in(browser, secured.tokens["bo"])
        inbox = browser.get("/")
        forged = browser.post("/logout", data={"csrf": "0" * 64})
        still = browser.get("/")
        match = re.search(
            r'action="/logout"><input type="hidden" name="csrf" value="([^"]+)"', inbox.text
        )
        assert match, inbox.text
        out = browser.post("/logout", data={"csrf": match.group(1)})
        after = browser.get("/")

    assert "Sign out" in inbox.text
    assert forged.status_code == 403
    assert still.status_code == 200
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert after.status_code == 401


def test_writes_must_come_from_the_apps_own_origin(open_app: App) -> None:
    event = open_app.ask("count")
    other_port = f"http://127.0.0.1:{int(open_app.url.rsplit(':', 1)[1]) + 1}"
    path = f"/api/events/{event.request_id}/answer"
    with open_app.client() as http:
        refused = [
            http.post(path, json={"value": 1}, headers={"Sec-Fetch-Site": "same-site"}),
            http.post(path, json={"value": 1}, headers={"Sec-Fetch-Site": "cross-site"}),
            http.post(path, json={"value": 1}, headers={"Origin": other_port}),
            http.post(path, json={"value": 1}, headers={"Origin": "null"}),
            http.post(
                f"/api/events/{event.request_id}/cancel", json={}, headers={"Origin": "null"}
            ),
            http.post("/login", data={}, headers={"Sec-Fetch-Site": "same-site"}),
            http.post("/logout", data={}, headers={"Origin": other_port}),
        ]
        assert event.outcome() is None
        own = http.post(path, json={"value": 2}, headers={"Origin": open_app.url})

    for response in refused:
        assert response.status_code == 403, response.request.url
        assert response.json()["error"] == "cross_site"
    assert own.status_code == 200
    assert event.wait() == 2


def test_same_origin_pages_and_programs_still_write(open_app: App) -> None:
    first, second = open_app.ask("first"), open_app.ask("second")
    with open_app.client() as browser:
        fields = form_fields(browser, f"/form/{first.request_id}")
        page = browser.post(
            "/submit", data={**fields, "value": "3"}, headers={"Sec-Fetch-Site": "same-origin"}
        )
        program = browser.post(f"/api/events/{second.request_id}/answer", json={"value": 4})

    assert page.status_code == 303
    assert program.status_code == 200
    assert (first.wait(), second.wait()) == (3, 4)


def test_a_bodyless_cancel_cancels_nothing(open_app: App) -> None:
    event = open_app.ask("count")
    with open_app.client() as http:
        bodyless = http.post(f"/api/events/{event.request_id}/cancel")
        as_text = http.post(
            f"/api/events/{event.request_id}/cancel",
            content=b"{}",
            headers={"Content-Type": "text/plain"},
        )

    assert bodyless.status_code == as_text.status_code == 422
    assert event.outcome() is None


def test_only_assignees_cancel(secured: App) -> None:
    event = secured.ask("approve", bool, assignees=["ana"])
    with secured.client(secured.tokens["bo"]) as bo:
        refused = bo.post(f"/api/events/{event.request_id}/cancel", json={"reason": "no"})
    assert event.outcome() is None
    with secured.client(secured.tokens["ana"]) as ana:
        accepted = ana.post(f"/api/events/{event.request_id}/cancel", json={"reason": "mine"})

    assert refused.status_code == 403
    assert refused.json()["error"] == "not_assigned"
    assert accepted.status_code == 200
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.status, outcome.by) == ("cancelled", "ana")


def test_an_api_token_in_a_url_is_refused(secured: App) -> None:
    event = secured.ask("count")
    token = secured.tokens["ana"]
    with secured.client() as browser:
        page = browser.get(f"/form/{event.request_id}", params={"token": token})
        api = browser.post(
            f"/api/events/{event.request_id}/answer", params={"token": token}, json={"value": 1}
        )

    assert page.status_code == api.status_code == 401
    assert event.outcome() is None
    assert "never goes in a link" in page.text  # said to a person, not as a header
    assert "Authorization" not in page.text
    assert "Authorization: Bearer" in api.json()["message"]  # said to a program as one
    assert token not in page.text
    assert "set-cookie" not in page.headers


def test_a_link_is_never_written_into_the_page(secured: App) -> None:
    event = secured.ask("count")
    link = secured.link(event.request_id, "ana")
    with secured.client() as browser:
        page = browser.get(secured.link_url(event.request_id, link))
        fields = form_fields(browser, f"/form/{event.request_id}")  # the cookie alone will do
        posted = browser.post("/submit", data={**fields, "value": "9"})

    assert page.status_code == 200
    assert link not in page.text
    assert "link" not in fields
    assert f"hitl_link_{event.request_id}=" in page.headers["set-cookie"]
    assert posted.status_code == 303
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by) == (9, "ana")


def test_over_https_cookies_are_host_only_and_secure(behind_proxy: App) -> None:
    secured = behind_proxy
    https = {"X-Forwarded-Proto": "https"}
    with secured.client() as browser:
        login = browser.get("/login", headers=https)
        match = _CSRF.search(login.text)
        assert match
        cookie = login.cookies["__Host-hitl_csrf"]
        signed = browser.post(
            "/login",
            data={"csrf": match.group(1), "token": secured.tokens["ana"]},
            headers={**https, "Cookie": f"__Host-hitl_csrf={cookie}"},
        )
        session = signed.cookies["__Host-hitl_session"]
    with secured.client() as browser:
        bare = browser.get("/", headers={**https, "Cookie": f"hitl_session={session}"})
        prefixed = browser.get("/", headers={**https, "Cookie": f"__Host-hitl_session={session}"})

    for response in (login, signed):
        for header in response.headers.get_list("set-cookie"):
            assert header.startswith("__Host-hitl_")
            assert "; secure" in header.lower()
            assert "path=/;" in header.lower() or header.lower().endswith("path=/")
            assert "domain" not in header.lower()
    assert bare.status_code == 401  # an unprefixed cookie could have come from a sibling
    assert prefixed.status_code == 200


@pytest.fixture
def rotated(secured: App) -> Iterator[str]:
    """An app over the same store and tokens, its secret rotated: the old one is previous."""
    app = create_app(
        secured.store,
        tokens_file=secured.tokens_file,
        secret="the-new-secret-0123456789abcdef",
        previous_secrets=[SECRET],
    )
    server, thread, port = serve_in_thread(app)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_sign_ins_and_forms_survive_a_rotation_of_the_secret(secured: App, rotated: str) -> None:
    first, second = secured.ask("first"), secured.ask("second")
    with secured.client() as browser:
        sign_in(browser, secured.tokens["ana"])
        fields = form_fields(browser, f"/form/{first.request_id}")
        posted = browser.post(f"{rotated}/submit", data={**fields, "value": "1"})
        page = browser.get(f"{rotated}/form/{second.request_id}")

    assert posted.status_code == 303, posted.text
    assert page.status_code == 200
    assert first.wait() == 1


def test_a_previous_secret_that_is_too_short_is_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    try:
        with pytest.raises(ConfigurationError, match="HITL_SECRET_PREVIOUS must be at least"):
            create_app(store, secret=SECRET, previous_secrets=["short"])
    finally:
        store.close()
