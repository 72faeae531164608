"""A real browser (Chromium) answers through a link and signs in: the form token's cookie is
set and sent back, the page's policy lets the form post, and nothing else gets through."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

# Headless Chromium for this module; fails under CI=true when Chromium is missing, else skips.
from tests.browser.conftest import browser as browser
from tests.security.conftest import App


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def test_a_browser_answers_through_a_link(secured: App, page: Page) -> None:
    event = secured.ask("count", prompt="How many?")
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text))

    page.goto(secured.link_url(event.request_id, secured.link(event.request_id, "ana")))
    assert page.get_by_text("Answering as").is_visible()
    page.fill("#value", "12")
    page.click("button[type=submit]")

    assert "Recorded" in page.content()
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == (12, "ana", "form")
    assert not [v for v in violations if "Content Security Policy" in v]


def test_a_browser_signs_in_and_answers_from_the_inbox(secured: App, page: Page) -> None:
    event = secured.ask("approve", bool, prompt="Ship it?")

    page.goto(f"{secured.url}/")
    assert "Sign-in needed" in page.content()
    assert "Sign in with your API token" in page.content()
    assert "Authorization" not in page.content()  # a header is for programs, not people
    page.click("text=Sign in with an API token")
    page.fill("#token", secured.tokens["bo"])
    page.click("button[type=submit]")
    page.click("text=approve")
    page.click("button:has-text('Yes')")

    assert "Recorded" in page.content()
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by) == (True, "bo")


def test_a_stale_form_is_shown_again_and_then_accepted(open_app: App, page: Page) -> None:
    event = open_app.ask("count")
    page.goto(f"{open_app.url}/form/{event.request_id}")
    page.context.clear_cookies()  # as if the cookie had expired, or another site posted
    page.fill("#value", "5")
    page.click("button[type=submit]")

    assert "Please submit it again" in page.content()
    assert event.outcome() is None
    page.click("button[type=submit]")  # the value was kept, the new form token set
    assert "Recorded" in page.content()
    assert event.wait() == 5
