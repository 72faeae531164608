"""A page's post in a real browser: a reload after it posts nothing again; the cancel button
with its reason; and each person sees only the actions they may take."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

import hitlkit
from hitlkit import LocalStore, _audit
from hitlkit._sync import run_sync
from hitlkit._tokens import create_token
from tests.browser.conftest import Pages
from tests.browser.support import Served, hitl_serve

pytestmark = pytest.mark.browser


def ask(store: LocalStore, name: str, data_type: type[Any], **options: Any) -> hitlkit.Event[Any]:
    options.setdefault("run_id", "browser-run")
    return hitlkit.new_event(name, data_type, store=store, serve=False, **options)


def audit_actions(store: LocalStore, request_id: str) -> list[str]:
    entries = run_sync(_audit.read_audit(store, request_id))
    return [entry.action for entry in entries]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_reload_after_answering_shows_the_outcome_and_posts_nothing(
    pages: Pages, served: Served, store: LocalStore, javascript: bool
) -> None:
    event = ask(store, "replicas", int, prompt="How many replicas?")
    page = pages.open(javascript=javascript)

    page.goto(f"{served.url}/form/{event.request_id}")
    page.get_by_label("Your answer").fill("5")
    page.get_by_role("button", name="Submit answer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recorded: 5")
    assert page.url == f"{served.url}/form/{event.request_id}?done"
    page.reload()

    expect(page.get_by_role("heading", level=1)).to_have_text("Recorded: 5")
    assert event.wait() == 5
    assert audit_actions(store, event.request_id) == ["answered"]


def test_a_late_answer_says_who_answered_first_even_after_a_reload(
    pages: Pages, served: Served, store: LocalStore
) -> None:
    event = ask(store, "replicas", int)
    page = pages.open()
    page.goto(f"{served.url}/form/{event.request_id}")
    event.answer(3)  # someone else, while this page is open

    page.get_by_label("Your answer").fill("4")
    page.get_by_role("button", name="Submit answer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Already answered")
    page.reload()

    expect(page.get_by_role("heading", level=1)).to_have_text("Already answered")
    expect(page.locator(".facts")).to_contain_text("3")
    expect(page.locator(".facts")).to_contain_text("4 (not recorded)")
    assert event.wait() == 3


def test_the_cancel_button_calls_the_event_off_with_a_reason_by_keyboard(
    page: Page, served: Served, store: LocalStore
) -> None:
    event = ask(store, "deploy", bool, prompt="Deploy build 7?")

    page.goto(f"{served.url}/form/{event.request_id}")
    summary = page.get_by_text("Cancel this event")
    summary.focus()
    page.keyboard.press("Enter")  # a <details>: opens from the keyboard
    page.get_by_label("Reason").fill("build 7 is broken")
    page.get_by_role("button", name="Cancel event").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Cancelled")
    expect(page.locator(".facts")).to_contain_text("build 7 is broken")
    with pytest.raises(hitlkit.EventCancelledError, match="build 7 is broken"):
        event.wait()
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.via, outcome.reason) == ("form", "build 7 is broken")


@pytest.fixture
def two_people(tmp_path: Path) -> Iterator[tuple[Served, dict[str, str]]]:
    """`hitl serve` with a tokens file holding "ana" and "bo", and their tokens."""
    tokens_file = tmp_path / "tokens.json"
    tokens = {name: create_token(tokens_file, name) for name in ("ana", "bo")}
    options = ("--tokens-file", str(tokens_file), "--secret", "browser-test-secret-0123456789")
    with hitl_serve(tmp_path / "store", tmp_path / "serve.log", *options) as app:
        yield app, tokens


def signed_in(browser: Browser, served: Served, token: str) -> Page:
    page = browser.new_context().new_page()
    page.goto(served.url + "/login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    return page


def test_only_the_assignee_sees_approve_answer_and_cancel(
    browser: Browser, two_people: tuple[Served, dict[str, str]]
) -> None:
    served, tokens = two_people
    store = LocalStore(served.store)
    try:
        event = ask(store, "ship", bool, prompt="Ship it?", assignees=["ana"])
        bo, ana = (
            signed_in(browser, served, tokens["bo"]),
            signed_in(browser, served, tokens["ana"]),
        )
        for page in (bo, ana):
            page.reload()

        expect(bo.get_by_role("link", name="ship")).to_be_visible()
        expect(bo.get_by_role("button", name="Approve ship")).to_have_count(0)
        expect(bo.get_by_text("Assigned to ana")).to_be_visible()
        bo.get_by_role("link", name="ship").click()
        expect(bo.get_by_text("Only ana may answer this event; you are bo.")).to_be_visible()
        expect(bo.get_by_role("button", name="Yes")).to_have_count(0)
        expect(bo.get_by_text("Cancel this event")).to_have_count(0)

        ana.get_by_role("link", name="ship").click()
        expect(ana.get_by_role("button", name="Yes")).to_be_visible()
        expect(ana.get_by_text("Cancel this event")).to_be_visible()
        ana.go_back()
        ana.get_by_role("button", name="Approve ship").click()
        expect(ana.get_by_role("heading", level=1)).to_have_text("Recorded: yes")
        outcome = event.outcome()
        assert outcome is not None
        assert outcome.by == "ana"
        for page in (bo, ana):
            page.context.close()
    finally:
        store.close()
