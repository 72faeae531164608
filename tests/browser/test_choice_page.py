"""The one-click choice page in Chromium: open the link, read what will be recorded, confirm."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, expect

import hitlkit
from hitlkit import LocalStore
from hitlkit._links import choice_url, sign_choice_link
from hitlkit._records import utcnow
from tests.browser.support import Served, assert_accessible, hitl_serve

pytestmark = pytest.mark.browser

SECRET = "browser-secret-0123456789abcdef"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`hitl serve` with a link secret, over a fresh store folder."""
    env = {"HITL_SECRET": SECRET}
    with hitl_serve(tmp_path / "store", tmp_path / "serve.log", env=env) as app:
        yield app


def test_a_choice_link_shows_what_it_records_and_records_it_on_confirm(
    browser: Browser, served: Served, tmp_path: Path
) -> None:
    store = LocalStore(served.store)
    event = hitlkit.new_event(
        "deploy",
        bool,
        prompt="Deploy **build 2041** to production?\n\nAll 312 checks passed.",
        prompt_type="markdown",
        assignees=["ana"],
        store=store,
        serve=False,
        run_id="nightly-2041",
    )
    token = sign_choice_link(
        SECRET,
        event.request_id,
        True,
        identity="ana",
        expires_at=utcnow() + timedelta(hours=1),
        channel="email",
    )
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if isinstance(m, ConsoleMessage) and m.type == "error"
                else None
            ),
        )
        page.goto(choice_url(served.url, event.request_id, token))

        expect(page.locator("h1")).to_have_text("deploy")
        expect(page.locator(".prompt strong")).to_have_text("build 2041")
        expect(page.locator("#chosen")).to_have_text("Approve")
        expect(page.locator("#recorded-as")).to_have_text("ana")
        confirm = page.get_by_role("button", name="Confirm: Approve")
        expect(confirm).to_be_visible()
        page.screenshot(path=str(tmp_path / "choose.png"), full_page=True)
        assert event.outcome() is None  # opening the page answered nothing
        assert_accessible(page)

        confirm.click()

        expect(page.locator("#choose-outcome h1")).to_have_text("Answer recorded")
        expect(page.locator("#choose-outcome")).to_contain_text("Approve, recorded as ana")
        page.screenshot(path=str(tmp_path / "chosen.png"), full_page=True)
        assert_accessible(page)
    finally:
        context.close()
        store.close()
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == (True, "ana", "email")
    assert errors == []
