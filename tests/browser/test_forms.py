"""Answering through the form in a real browser: each type, field errors, one-click approval."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

import hitlkit
from hitlkit import LocalStore
from tests.browser.conftest import Pages
from tests.browser.support import Served

pytestmark = pytest.mark.browser


def ask(store: LocalStore, name: str, data_type: type[Any], **options: Any) -> hitlkit.Event[Any]:
    options.setdefault("run_id", "browser-run")
    return hitlkit.new_event(name, data_type, store=store, serve=False, **options)


@pytest.mark.parametrize(
    ("data_type", "typed", "expected", "shown"),
    [
        (int, "42", 42, "42"),
        (float, "-2.5", -2.5, "-2.5"),
        (str, "ship it\non Monday", "ship it\non Monday", "ship it"),
    ],
)
def test_answer_through_the_form(
    page: Page,
    served: Served,
    store: LocalStore,
    data_type: type[Any],
    typed: str,
    expected: Any,
    shown: str,
) -> None:
    event = ask(store, "question", data_type, prompt="What now?")

    page.goto(f"{served.url}/form/{event.request_id}")
    expect(page.get_by_text("What now?")).to_be_visible()
    page.get_by_label("Your answer").fill(typed)
    page.get_by_label("Your name").fill("ana")
    page.get_by_role("button", name="Submit answer").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Recorded")
    expect(page.locator(".facts")).to_contain_text(shown)
    assert event.wait() == expected
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.by, outcome.via) == ("ana", "form")


@pytest.mark.parametrize(("button", "expected"), [("Yes", True), ("No", False)])
def test_answer_yes_or_no_through_the_form(
    page: Page, served: Served, store: LocalStore, button: str, expected: bool
) -> None:
    event = ask(store, "deploy", bool, prompt="Deploy now?")

    page.goto(f"{served.url}/form/{event.request_id}")
    page.get_by_role("button", name=button, exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Recorded: {button.lower()}")
    assert event.wait() is expected


def test_field_error_keeps_the_input_then_accepts_a_fix(
    page: Page, served: Served, store: LocalStore
) -> None:
    event = ask(store, "replicas", int, prompt="How many replicas?")

    page.goto(f"{served.url}/form/{event.request_id}")
    # A number the browser lets through (1000 in exponent form) but that is not written as
    # an integer: the server refuses it and says what it expected.
    page.get_by_label("Your answer").fill("1e3")
    page.get_by_label("Your name").fill("ana")
    page.get_by_role("button", name="Submit answer").click()

    error = page.get_by_role("alert")
    expect(error).to_contain_text("expected an integer")
    answer = page.get_by_label("Your answer")
    expect(answer).to_have_value("1e3")
    expect(answer).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Your name")).to_have_value("ana")
    assert event.outcome() is None

    answer.fill("3")
    page.get_by_role("button", name="Submit answer").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Recorded: 3")
    assert event.wait() == 3


def test_one_click_approval_from_the_inbox_shows_the_resolved_event(
    page: Page, served: Served, store: LocalStore
) -> None:
    approve = ask(store, "approve_deploy", bool, prompt="Deploy build 7?")
    reject = ask(store, "drop_table", bool, prompt="Drop the old table?")

    page.goto(served.url + "/")
    page.get_by_role("button", name="Approve approve_deploy").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Recorded: yes")
    assert approve.wait() is True
    page.get_by_role("link", name="Inbox", exact=True).first.click()
    expect(page.get_by_role("link", name="approve_deploy")).to_have_count(0)
    page.get_by_role("button", name="Reject drop_table").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recorded: no")
    assert reject.wait() is False

    page.goto(f"{served.url}/form/{approve.request_id}")
    facts = page.locator(".facts")
    expect(page.get_by_role("heading", level=1)).to_have_text("Answered")
    expect(facts).to_contain_text("yes")
    expect(facts).to_contain_text("via form")
    expect(facts).to_contain_text("anonymous")
    expect(page.locator("form")).to_have_count(0)


def test_resolved_events_are_reachable_from_the_inbox(
    page: Page, served: Served, store: LocalStore
) -> None:
    done = ask(store, "ratio", float, prompt="Which ratio?")
    done.answer(0.25)
    ask(store, "open_question", int)

    page.goto(served.url + "/")
    page.get_by_role("link", name="Resolved").click()
    expect(page).to_have_url(f"{served.url}/?status=resolved")
    expect(page.get_by_role("link", name="open_question")).to_have_count(0)
    page.get_by_role("link", name="ratio").click()

    expect(page).to_have_url(f"{served.url}/form/{done.request_id}")
    expect(page.get_by_text("Which ratio?")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("0.25")
    expect(page.locator(".facts")).to_contain_text("tester")


def test_every_page_works_without_javascript(
    pages: Pages, served: Served, store: LocalStore
) -> None:
    event = ask(store, "approve_without_js", bool, prompt="Fine?")
    ask(store, "other", str, run_id="other-run")
    page = pages.open(javascript=False)

    page.goto(served.url + "/")
    page.get_by_label("Run contains").fill("browser")
    page.get_by_label("Run contains").press("Enter")
    expect(page).to_have_url(re.compile(r"/\?(.*&)?run_id=browser"))
    expect(page.get_by_role("link", name="other", exact=True)).to_have_count(0)
    page.get_by_role("button", name="Approve approve_without_js").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Recorded: yes")
    assert event.wait() is True


def test_open_form_says_when_the_event_is_resolved_elsewhere(
    page: Page, served: Served, store: LocalStore
) -> None:
    answered = ask(store, "count", int)

    page.goto(f"{served.url}/form/{answered.request_id}")
    notice = page.get_by_role("alert")
    expect(notice).to_be_hidden()
    page.get_by_label("Your answer").fill("7")
    answered.answer(5)
    expect(notice).to_contain_text("answered or closed while the page was open")
    expect(page.get_by_label("Your answer")).to_have_value("7")  # nothing typed is lost
    notice.get_by_role("link", name="See how it ended").click()
    expect(page.locator(".facts")).to_contain_text("5")

    closing = ask(store, "hurry", int, timeout_seconds=4)
    page.goto(f"{served.url}/form/{closing.request_id}")
    expect(page.get_by_label("Your answer")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("answered or closed")


@pytest.mark.parametrize("width", [360, 768, 1280])
def test_pages_fit_the_width_without_sideways_scrolling(
    pages: Pages, served: Served, store: LocalStore, width: int
) -> None:
    long = "a_name_with_no_spaces_that_goes_on_" * 3
    text = ask(store, long, str, prompt="word " * 80, run_id="run-" + "x" * 80)
    ask(store, "approve", bool, prompt="Ship?")
    done = ask(store, "done", float)
    done.answer(1.5)
    page = pages.open(width=width)

    for path in ("/", f"/form/{text.request_id}", f"/form/{done.request_id}", "/?status=all"):
        page.goto(served.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than a {width}px window"
    page.goto(served.url + "/")
    # Measured in one step: the script may replace the list at any moment.
    height = page.evaluate(
        """() => document.querySelector('[aria-label="Approve approve"]')
            .getBoundingClientRect().height"""
    )
    assert height >= 36  # a comfortable target for a finger


def test_keyboard_focus_is_always_visible(page: Page, served: Served, store: LocalStore) -> None:
    event = ask(store, "approve", bool, prompt="Ship?")
    page.goto(served.url + "/")

    for _ in range(12):
        page.keyboard.press("Tab")
        outline = page.evaluate(
            """() => {
                const el = document.activeElement;
                const style = getComputedStyle(el);
                const card = el.closest(".event");
                const ring = card ? getComputedStyle(card).boxShadow : "none";
                return [el.tagName + " " + el.textContent.trim(), style.outlineStyle, ring];
            }"""
        )
        name, style, ring = outline
        assert style != "none" or ring != "none", f"no visible focus on {name}"
    assert event.outcome() is None


@pytest.mark.parametrize(("button", "approved"), [("Approve", True), ("Reject", False)])
def test_an_approval_is_decided_with_a_button_and_a_reason(
    page: Page, served: Served, store: LocalStore, button: str, approved: bool
) -> None:
    event = hitlkit.ask_approval(
        "payments.refund", {"order": 42, "payment_token": "tok_live"}, store=store, serve=False
    )

    page.goto(f"{served.url}/form/{event.request_id}")
    expect(page.locator(".prompt-markdown")).to_contain_text('"payment_token": "[redacted]"')
    page.get_by_label("Reason for your decision").fill("checked with finance")
    page.get_by_label("Your name").fill("ana")
    page.get_by_role("button", name=button, exact=True).click()

    headline = "Approved" if approved else "Rejected: checked with finance"
    expect(page.get_by_role("heading", level=1)).to_have_text(headline)
    outcome = event.outcome()
    assert outcome is not None
    assert outcome.value == {"approved": approved, "reason": "checked with finance"}
    assert (outcome.by, outcome.via) == ("ana", "form")
    if approved:
        assert hitlkit.wait_for_approval(event).reason == "checked with finance"
    else:
        with pytest.raises(hitlkit.ApprovalRejected, match="checked with finance"):
            hitlkit.wait_for_approval(event)


def test_enter_on_an_approval_page_decides_nothing(
    page: Page, served: Served, store: LocalStore
) -> None:
    event = hitlkit.ask_approval("deploy", {"service": "api"}, store=store, serve=False)

    page.goto(f"{served.url}/form/{event.request_id}")
    page.get_by_label("Your name").fill("ana")
    page.get_by_label("Your name").press("Enter")
    page.wait_for_timeout(300)

    expect(page.get_by_role("button", name="Approve", exact=True)).to_be_visible()
    assert event.outcome() is None
    page.goto(f"{served.url}/")  # the inbox sends approvals to their page, arguments and all
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
