"""The inbox in a real browser: it follows events that other processes create and resolve."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Pages
from tests.browser.support import TIMEOUT, Served, hitl_env, run_python

pytestmark = pytest.mark.browser

CREATE = """
import sys
import hitlkit

types = {"int": int, "float": float, "str": str, "bool": bool}
run_id, timeout = sys.argv[1], float(sys.argv[2])
for spec in sys.argv[3:]:
    name, kind = spec.split(":")
    event = hitlkit.new_event(
        name, types[kind], prompt=f"Asked by another process: {name}?",
        run_id=run_id, timeout_seconds=timeout, serve=False,
    )
    print(event.request_id)
"""


def create(
    served: Served, *specs: str, run_id: str = "elsewhere", timeout: float = 600
) -> list[str]:
    """Create events `name:type` in another process; their ids."""
    return run_python(served.store, CREATE, run_id, str(timeout), *specs).split()


def hitl(served: Served, *args: str) -> None:
    """Run the `hitl` CLI over the served store in another process."""
    subprocess.run(
        [sys.executable, "-m", "hitlkit._cli", *args],
        env=hitl_env(served.store, HITL_USER="other-process"),
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
    )


def open_inbox(page: Page, url: str) -> None:
    """Open the inbox and wait until it follows the app's change stream."""
    page.goto(url)
    expect(page.locator("body[data-live=on]")).to_have_count(1)
    page.evaluate("window.loadedOnce = true")


def still_same_page(page: Page) -> bool:
    """Whether the page was updated in place, not reloaded."""
    return bool(page.evaluate("window.loadedOnce === true"))


def test_inbox_updates_live_as_another_process_creates_and_answers(
    page: Page, served: Served
) -> None:
    open_inbox(page, served.url + "/")
    expect(page.get_by_text("Nothing is waiting for an answer")).to_be_visible()

    first, second, third = create(served, "count:int", "go:bool", "note:str")

    expect(page.locator(".event")).to_have_count(3)
    expect(page.locator(".event-name a")).to_have_text(["note", "go", "count"])  # newest first
    expect(page.get_by_text("Asked by another process: go?")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("3 events waiting for an answer")

    hitl(served, "answer", first, "5")
    expect(page.locator(".event")).to_have_count(2)
    hitl(served, "cancel", second, "--reason", "not needed")
    expect(page.locator(".event")).to_have_count(1)
    expect(page.locator(".event-name a")).to_have_text(["note"])
    assert still_same_page(page)

    page.get_by_role("link", name="Resolved").click()
    expect(page.locator(".event")).to_have_count(2)
    expect(page.locator(".event", has_text="count")).to_contain_text("Answered")
    expect(page.locator(".event", has_text="go")).to_contain_text("Cancelled")
    assert third not in page.content()


def test_filters_apply_to_live_updates(page: Page, served: Served) -> None:
    create(served, "alpha_check:int", run_id="nightly-1")
    page.goto(served.url + "/")
    page.get_by_label("Name contains").fill("CHECK")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/\?(.*&)?name=CHECK"))
    expect(page.locator("body[data-live=on]")).to_have_count(1)

    create(served, "beta_check:str", "gamma:int", run_id="nightly-2")

    expect(page.locator(".event")).to_have_count(2)
    expect(page.locator(".event-name a")).to_have_text(["beta_check", "alpha_check"])
    page.get_by_role("link", name="nightly-2").click()
    expect(page.locator(".event")).to_have_count(1)
    expect(page.locator(".event-name a")).to_have_text(["beta_check"])
    expect(page.get_by_label("Run contains")).to_have_value("nightly-2")


def test_two_pages_follow_events_that_come_and_go(pages: Pages, served: Served) -> None:
    one, two = pages.open(), pages.open(width=390)
    for page in (one, two):
        open_inbox(page, served.url + "/")

    create(served, "deploy:bool", "size:int")
    (short_lived,) = create(served, "hurry:bool", run_id="short", timeout=6)
    for page in (one, two):
        expect(page.locator(".event")).to_have_count(3)

    one.get_by_role("button", name="Approve deploy").click()
    expect(one.get_by_role("heading", level=1)).to_have_text("Recorded: yes")
    expect(two.get_by_role("link", name="deploy")).to_have_count(0)
    # No process records the short one's timeout: the inbox drops it at its deadline itself.
    expect(two.locator(".event")).to_have_count(1)
    expect(two.locator(".event-name a")).to_have_text(["size"])
    assert still_same_page(two)
    one.goto(served.url + "/?status=resolved")
    expect(one.locator(".event")).to_have_count(2)
    expect(one.locator(".event", has_text="hurry")).to_contain_text("Closed")
    assert short_lived in one.content()


def test_keyboard_users_can_skip_to_the_content_and_keep_their_place(
    page: Page, served: Served
) -> None:
    create(served, "first:bool")
    open_inbox(page, served.url + "/")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    approve = page.get_by_role("button", name="Approve first")
    approve.focus()
    create(served, "second:int")
    expect(page.locator(".event")).to_have_count(2)
    expect(page.get_by_role("button", name="Approve first")).to_be_focused()


def set_hidden(page: Page, hidden: bool) -> None:
    """Hide or show the page as switching browser tabs does."""
    page.evaluate(
        """hidden => {
            Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


def test_hidden_pages_let_go_of_their_stream_and_catch_up_when_shown(
    pages: Pages, served: Served
) -> None:
    inbox, form = pages.open(), pages.open()
    open_inbox(inbox, served.url + "/")
    (request_id,) = create(served, "count:int")
    expect(inbox.locator(".event")).to_have_count(1)
    form.goto(f"{served.url}/form/{request_id}")

    set_hidden(inbox, True)
    set_hidden(form, True)
    expect(inbox.locator("body[data-live=off]")).to_have_count(1)
    create(served, "later:str")
    hitl(served, "answer", request_id, "5")
    set_hidden(inbox, False)
    set_hidden(form, False)

    expect(inbox.locator("body[data-live=on]")).to_have_count(1)
    expect(inbox.locator(".event")).to_have_count(1)
    expect(inbox.locator(".event-name a")).to_have_text(["later"])
    expect(form.get_by_role("alert")).to_contain_text("answered or closed")
