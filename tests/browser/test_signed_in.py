"""The inbox of an app that needs a token, in a real browser: signed in, it is live and
one click records who approved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

import hitlkit
from hitlkit import LocalStore
from hitlkit._tokens import create_token
from tests.browser.support import Served, hitl_serve, run_python

pytestmark = pytest.mark.browser

CREATE = """
import hitlkit
print(hitlkit.new_event("ship", bool, prompt="Ship it?", run_id="secured", serve=False).request_id)
"""


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[Served, str]]:
    """`hitl serve` with a tokens file, and the API token of "bo"."""
    tokens_file = tmp_path / "tokens.json"
    token = create_token(tokens_file, "bo")
    options = ("--tokens-file", str(tokens_file), "--secret", "browser-test-secret-0123456789")
    with hitl_serve(tmp_path / "store", tmp_path / "serve.log", *options) as app:
        yield app, token


@pytest.fixture
def secured_page(browser: Browser, secured: tuple[Served, str]) -> Iterator[Page]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


def test_a_signed_in_inbox_is_live_and_one_click_records_who(
    secured: tuple[Served, str], secured_page: Page
) -> None:
    served, token = secured
    page = secured_page

    page.goto(served.url + "/")
    expect(page.get_by_text("Sign-in needed")).to_be_visible()
    page.get_by_role("link", name="Sign in with an API token").click()
    page.locator("#token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(page.locator("body[data-live=on]")).to_have_count(1)

    (request_id,) = run_python(served.store, CREATE).split()

    page.get_by_role("button", name="Approve ship").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recorded: yes")
    store = LocalStore(served.store)
    try:
        outcome = hitlkit.get_event(request_id, store=store).outcome
    finally:
        store.close()
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == (True, "bo", "form")
