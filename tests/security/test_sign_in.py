"""Signing a browser in with an API token: pages only, revocable, forgery-proof."""

from __future__ import annotations

import json
import re

import httpx

from tests.forms import form_fields
from tests.security.conftest import App

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def sign_in(browser: httpx.Client, token: str) -> httpx.Response:
    page = browser.get("/login")
    match = _CSRF.search(page.text)
    assert match, page.text
    return browser.post("/login", data={"csrf": match.group(1), "token": token})


def test_a_signed_in_browser_uses_the_inbox_and_answers_as_the_token(secured: App) -> None:
    event = secured.ask("count", prompt="How many?")
    with secured.client() as browser:
        before = browser.get("/")
        signed = sign_in(browser, secured.tokens["bo"])
        inbox = browser.get("/")
        fields = form_fields(browser, f"/form/{event.request_id}")
        posted = browser.post("/submit", data={**fields, "value": "8", "by": "ana"})

    assert before.status_code == 401
    assert 'href="/login"' in before.text
    assert signed.status_code == 303
    assert signed.headers["location"] == "/"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert inbox.status_code == 200
    assert "How many?" in inbox.text
    assert posted.status_code == 303
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == (8, "bo", "form")


def test_a_wrong_token_or_a_forged_post_does_not_sign_in(secured: App) -> None:
    with secured.client() as browser:
        wrong = sign_in(browser, secured.tokens["ana"][:-1] + "x")
        unknown = sign_in(browser, "nope")
        no_form_token = browser.post("/login", data={"token": secured.tokens["ana"]})
        inbox = browser.get("/")

    assert wrong.status_code == unknown.status_code == 401
    assert "That token is not valid." in wrong.text
    assert no_form_token.status_code == 403
    assert inbox.status_code == 401


def test_the_sign_in_cookie_counts_on_pages_only(secured: App) -> None:
    with secured.client() as browser:
        sign_in(browser, secured.tokens["ana"])
        api = browser.get("/api/events")
        page = browser.get("/")

    assert api.status_code == 401
    assert page.status_code == 200


def test_deleting_a_token_signs_its_browsers_out(secured: App) -> None:
    assert secured.tokens_file is not None
    with secured.client() as browser:
        sign_in(browser, secured.tokens["ana"])
        before = browser.get("/")
        data = json.loads(secured.tokens_file.read_text())
        data["tokens"] = [t for t in data["tokens"] if t["name"] != "ana"]
        secured.tokens_file.write_text(json.dumps(data))
        after = browser.get("/")

    assert before.status_code == 200
    assert after.status_code == 401


def test_an_altered_session_cookie_is_refused(secured: App) -> None:
    with secured.client() as browser:
        sign_in(browser, secured.tokens["ana"])
        value = browser.cookies["hitl_session"]
        browser.cookies.set("hitl_session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
        page = browser.get("/")

    assert page.status_code == 401
