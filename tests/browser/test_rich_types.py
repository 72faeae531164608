"""Rich answer types through the form in a real browser: choices, lists, optional values,
dates, and a nested model, with the app's field errors."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Literal

import pytest
from playwright.sync_api import Page, expect

import hitlkit
from hitlkit import LocalStore
from tests.browser.support import Served
from tests.models import Deploy, Env, Limits

pytestmark = pytest.mark.browser


def ask(store: LocalStore, data_type: Any, **options: Any) -> hitlkit.Event[Any]:
    options.setdefault("run_id", "browser-types")
    return hitlkit.new_event("question", data_type, store=store, serve=False, **options)


def submit(page: Page) -> None:
    page.get_by_role("button", name="Submit answer").click()


def recorded(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_contain_text("Recorded")


def without_browser_checks(page: Page) -> None:
    """Post what the fields hold as they are, as a browser without form validation would.

    The browser checks most constraints itself (required, pattern, min, max) before
    posting; the app's own field errors are what the rest of the test looks at.
    """
    page.locator("form.answer").evaluate("form => { form.noValidate = true; }")


def test_choice(page: Page, served: Served, store: LocalStore) -> None:
    event = ask(store, Literal["ship", "hold"], prompt="Ship or hold?")
    page.goto(f"{served.url}/form/{event.request_id}")
    page.get_by_label("hold").check()
    submit(page)
    recorded(page)
    assert event.wait() == "hold"


def test_multi_select(page: Page, served: Served, store: LocalStore) -> None:
    event = ask(store, list[Env], prompt="Where?")
    page.goto(f"{served.url}/form/{event.request_id}")
    page.get_by_label("prod").check()
    page.get_by_label("staging").check()
    submit(page)
    recorded(page)
    assert event.wait() == [Env.PROD, Env.STAGING]


@pytest.mark.parametrize(("typed", "expected"), [("", None), ("4", 4)])
def test_optional(
    page: Page, served: Served, store: LocalStore, typed: str, expected: int | None
) -> None:
    event = ask(store, int | None, prompt="How many, if any?")
    page.goto(f"{served.url}/form/{event.request_id}")
    page.locator("#f-value").fill(typed)
    submit(page)
    recorded(page)
    assert event.wait() == expected


def test_date_and_datetime(page: Page, served: Served, store: LocalStore) -> None:
    day = ask(store, date, prompt="Which day?", run_id="dates")
    moment = ask(store, datetime, prompt="When exactly?", run_id="moments")

    page.goto(f"{served.url}/form/{day.request_id}")
    page.locator("#f-value").fill("2025-01-31")
    submit(page)
    recorded(page)
    page.goto(f"{served.url}/form/{moment.request_id}")
    page.locator("#f-value").fill("2025-01-31T10:30")
    submit(page)
    recorded(page)

    assert day.wait() == date(2025, 1, 31)
    assert moment.wait() == datetime(2025, 1, 31, 10, 30, tzinfo=timezone.utc)


def test_nested_model_with_field_errors_then_fixed(
    page: Page, served: Served, store: LocalStore
) -> None:
    event = ask(store, Deploy, prompt="Deploy what, where?")
    page.goto(f"{served.url}/form/{event.request_id}")
    version = page.locator("#f-value-version")
    cpu = page.locator("#f-value-limits-cpu")
    version.fill("2.0")
    cpu.fill("12")
    page.get_by_label("canary").check()
    page.get_by_label("Your name").fill("ana")
    without_browser_checks(page)
    submit(page)

    expect(page.locator("#f-value-version-error")).to_contain_text("pattern")
    expect(page.locator("#f-value-env-error")).to_contain_text("required")
    expect(page.locator("#f-value-limits-cpu-error")).to_contain_text("at most 8")
    expect(version).to_have_attribute("aria-invalid", "true")
    expect(version).to_have_value("2.0")
    expect(cpu).to_have_value("12")
    expect(page.get_by_label("canary")).to_be_checked()
    expect(page.get_by_label("Your name")).to_have_value("ana")
    assert event.outcome() is None

    version.fill("v2")
    cpu.fill("4")
    page.get_by_label("prod", exact=True).check()
    submit(page)

    recorded(page)
    assert event.wait() == Deploy(
        version="v2", env=Env.PROD, limits=Limits(cpu=4), flags={"canary"}
    )
