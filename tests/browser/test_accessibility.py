"""Every page the app shows, checked by axe-core in Chromium: no serious or critical
violation (missing labels, low contrast, broken ARIA, ...). And what axe cannot see:
the keyboard reaches and works every control, and focus is visible.

Each page is one entry of `PAGES` (the open app), `SIGNED_PAGES` (an app with tokens, before
signing in) or `SIGNED_IN_PAGES` (signed in): a name and how to get there (ask something,
answer it, post a bad form, ...). A new page or state is one more entry.
"""

from __future__ import annotations

import enum
import time as clock
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.sync_api import Browser, Page, expect

import hitlkit
from hitlkit import LocalStore
from hitlkit._tokens import create_token
from tests.browser.support import Served, accessibility_violations, assert_accessible, hitl_serve
from tests.models import Deploy, Env

pytestmark = pytest.mark.browser


class Region(enum.Enum):
    """More choices than radio buttons show: a select."""

    EU_WEST = "eu-west"
    EU_NORTH = "eu-north"
    US_EAST = "us-east"
    US_WEST = "us-west"
    AP_SOUTH = "ap-south"
    AP_EAST = "ap-east"
    SA_EAST = "sa-east"


MARKDOWN = """Deploy **v2** to `prod`?

| stage | traffic |
|---|---|
| canary | 5% |

- [the release notes](https://example.com/notes)
- a quote:

> Ship it.
"""


@dataclass
class Site:
    """An app for one page check: where it runs, its store, and a browser page on it."""

    served: Served
    store: LocalStore
    page: Page

    def ask(self, data_type: Any, **options: Any) -> hitlkit.Event[Any]:
        options.setdefault("run_id", "a11y")
        options.setdefault("prompt", "What should happen next?")
        return hitlkit.new_event(
            f"q{clock.monotonic_ns()}", data_type, store=self.store, serve=False, **options
        )

    def open(self, path: str) -> None:
        self.page.goto(self.served.url + path)

    def form_of(self, data_type: Any, **options: Any) -> hitlkit.Event[Any]:
        event = self.ask(data_type, **options)
        self.open(f"/form/{event.request_id}")
        return event


def post_unchecked(page: Page) -> None:
    """Post the answer form as it is, as a browser without form validation would."""
    page.locator("form.answer").evaluate("form => { form.noValidate = true; }")
    page.get_by_role("button", name="Submit answer").click()


def event_page(data_type: Any, **options: Any) -> Callable[[Site], None]:
    def go(site: Site) -> None:
        site.form_of(data_type, **options)

    return go


def with_field_errors(site: Site) -> None:
    site.form_of(Deploy)
    site.page.locator("#f-value-version").fill("2.0")
    site.page.locator("#f-value-limits-cpu").fill("12")
    post_unchecked(site.page)
    expect(site.page.locator("#f-value-version-error")).to_be_visible()


def with_a_bad_number(site: Site) -> None:
    site.form_of(int)
    site.page.locator("#value").fill("12")
    site.page.locator("#value").evaluate("input => { input.type = 'text'; }")
    site.page.locator("#value").fill("twelve")
    post_unchecked(site.page)
    expect(site.page.locator("#value-error")).to_be_visible()


def answered(site: Site) -> None:
    event = site.ask(Deploy)
    event.answer(Deploy(version="v2", env=Env.PROD, limits={"cpu": 2}))  # type: ignore[arg-type]
    site.open(f"/form/{event.request_id}")


def recorded_from_the_form(site: Site) -> None:
    site.form_of(bool)
    site.page.get_by_label("Your name").fill("ana")
    site.page.get_by_role("button", name="Yes").click()
    expect(site.page.get_by_role("heading", level=1)).to_contain_text("Recorded")


def an_approval(site: Site) -> None:
    event = hitlkit.ask_approval("deploy", {"service": "api"}, store=site.store, serve=False)
    site.open(f"/form/{event.request_id}")


def rejected(site: Site) -> None:
    an_approval(site)
    site.page.get_by_label("Reason for your decision").fill("not on a Friday")
    site.page.get_by_role("button", name="Reject", exact=True).click()
    expect(site.page.get_by_role("heading", level=1)).to_have_text("Rejected: not on a Friday")


def cancelled(site: Site) -> None:
    event = site.ask(int)
    event.cancel("not needed any more")
    site.open(f"/form/{event.request_id}")


def expired(site: Site) -> None:
    event = site.ask(int, timeout_seconds=0.5)
    clock.sleep(0.7)
    site.open(f"/form/{event.request_id}")


def answered_too_late(site: Site) -> None:
    event = site.form_of(int)
    event.answer(3)
    site.page.locator("#value").fill("4")
    site.page.get_by_role("button", name="Submit answer").click()
    expect(site.page.get_by_role("heading", level=1)).to_be_visible()


def not_assigned(site: Site) -> None:
    site.form_of(bool, assignees=["ana"])
    site.page.get_by_label("Your name").fill("bo")
    site.page.get_by_role("button", name="Yes").click()
    expect(site.page.get_by_role("heading", level=1)).to_have_text("Assigned to someone else")


def cancel_form_open(site: Site) -> None:
    site.form_of(int)
    site.page.get_by_text("Cancel this event").click()
    expect(site.page.get_by_label("Reason")).to_be_visible()


def cancelled_from_the_page(site: Site) -> None:
    cancel_form_open(site)
    site.page.get_by_label("Reason").fill("superseded by run 43")
    site.page.get_by_role("button", name="Cancel event").click()
    expect(site.page.get_by_role("heading", level=1)).to_contain_text("Cancelled")


def with_a_reason_too_long(site: Site) -> None:
    cancel_form_open(site)
    reason = site.page.get_by_label("Reason")
    reason.evaluate("area => area.removeAttribute('maxlength')")
    reason.fill("x" * 5000)
    site.page.get_by_role("button", name="Cancel event").click()
    expect(site.page.locator("#reason-error")).to_be_visible()


def inbox_full(site: Site) -> None:
    for data_type in (bool, int, Deploy, list[Env]):
        site.ask(data_type, run_id="inbox-full")
    site.ask(str, run_id="inbox-full", prompt=MARKDOWN, prompt_type="markdown")
    site.ask(int, run_id="inbox-full").cancel("no longer needed")
    site.ask(bool, run_id="inbox-full").answer(True)
    site.open("/")
    expect(site.page.locator("ul.events li")).not_to_have_count(0)


def inbox_of(site: Site, **options: Any) -> None:
    site.ask(bool, run_id="inbox-of", **options)
    site.open("/")
    expect(site.page.locator("ul.events li")).not_to_have_count(0)


def inbox_page(query: str) -> Callable[[Site], None]:
    def go(site: Site) -> None:
        site.ask(bool, run_id="inbox-tabs").answer(False)
        site.ask(int, run_id="inbox-tabs")
        site.open("/" + query)

    return go


PAGES: list[tuple[str, Callable[[Site], None]]] = [
    ("event: yes/no", event_page(bool)),
    ("event: integer", event_page(int)),
    ("event: number", event_page(float)),
    ("event: text", event_page(str, description="Say why.")),
    ("event: a choice (radio buttons)", event_page(Literal["ship", "hold"])),
    ("event: a choice (select)", event_page(Region)),
    ("event: several choices", event_page(list[Env])),
    ("event: optional integer", event_page(int | None)),
    ("event: optional yes/no", event_page(bool | None)),
    ("event: date", event_page(date)),
    ("event: date and time", event_page(datetime)),
    ("event: time", event_page(time)),
    ("event: decimal", event_page(Decimal)),
    ("event: a model", event_page(Deploy, initial={"env": "staging"})),
    ("event: a Markdown prompt", event_page(bool, prompt=MARKDOWN, prompt_type="markdown")),
    ("event: field errors", with_field_errors),
    ("event: a bad number", with_a_bad_number),
    ("event: answered", answered),
    ("event: recorded from the form", recorded_from_the_form),
    ("event: an approval", an_approval),
    ("event: an approval rejected", rejected),
    ("event: cancelled", cancelled),
    ("event: expired", expired),
    ("event: answered too late", answered_too_late),
    ("event: the cancel form, open", cancel_form_open),
    ("event: cancelled from its page", cancelled_from_the_page),
    ("event: a cancel reason too long", with_a_reason_too_long),
    ("error: 403 assigned to someone else", not_assigned),
    ("error: 404 no such event", lambda site: site.open("/form/" + "0" * 24)),
    ("error: 404 no such page", lambda site: site.open("/no/such/page")),
    ("inbox: full", inbox_full),
    ("inbox: resolved", inbox_page("?status=resolved")),
    ("inbox: all", inbox_page("?status=all")),
    ("inbox: filtered, nothing matches", inbox_page("?name=nothing-like-this")),
    ("docs: the API reference", lambda site: site.open("/docs")),
]
"""Every page and state of the open app (no tokens), by name."""

SIGNED_PAGES: list[tuple[str, Callable[[Site], None]]] = [
    ("sign-in needed", lambda site: site.open("/")),
    ("sign-in page", lambda site: site.open("/login")),
    ("sign-in refused", lambda site: sign_in(site, "not-a-token")),
]
"""Pages of an app that needs a token, before signing in."""

SIGNED_IN_PAGES: list[tuple[str, Callable[[Site], None]]] = [
    ("inbox", inbox_full),
    ("event: yes/no", event_page(bool)),
    ("event: a model", event_page(Deploy)),
    ("event: assigned to someone else", event_page(bool, assignees=["ana"])),
    ("event: the cancel form, open", cancel_form_open),
    ("inbox: assigned to someone else", lambda site: inbox_of(site, assignees=["ana"])),
    ("event: answered", answered),
]
"""Pages of an app that needs a token, signed in (as "bo")."""


def sign_in(site: Site, token: str) -> None:
    site.open("/login")
    site.page.locator("#token").fill(token)
    site.page.get_by_role("button", name="Sign in").click()


@pytest.fixture(scope="module")
def open_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("open")
    with hitl_serve(folder / "store", folder / "serve.log") as app:
        yield app


@pytest.fixture(scope="module")
def secured_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    folder = tmp_path_factory.mktemp("secured")
    token = create_token(folder / "tokens.json", "bo")
    options = ("--tokens-file", str(folder / "tokens.json"), "--secret", "a11y-secret-0123456789")
    with hitl_serve(folder / "store", folder / "serve.log", *options) as app:
        yield app, token


def site_on(browser: Browser, served: Served) -> Iterator[Site]:
    context = browser.new_context()
    store = LocalStore(served.store)
    try:
        yield Site(served, store, context.new_page())
    finally:
        store.close()
        context.close()


@pytest.fixture
def site(browser: Browser, open_app: Served) -> Iterator[Site]:
    yield from site_on(browser, open_app)


@pytest.fixture
def signed_site(browser: Browser, secured_app: tuple[Served, str]) -> Iterator[Site]:
    yield from site_on(browser, secured_app[0])


@pytest.fixture
def signed_in_site(signed_site: Site, secured_app: tuple[Served, str]) -> Site:
    sign_in(signed_site, secured_app[1])
    expect(signed_site.page.get_by_role("button", name="Sign out")).to_be_visible()
    return signed_site


@pytest.mark.parametrize(("name", "go"), PAGES, ids=[name for name, _ in PAGES])
def test_every_page_is_accessible(site: Site, name: str, go: Callable[[Site], None]) -> None:
    go(site)
    assert_accessible(site.page)


@pytest.mark.parametrize(("name", "go"), SIGNED_PAGES, ids=[name for name, _ in SIGNED_PAGES])
def test_every_sign_in_page_is_accessible(
    signed_site: Site, name: str, go: Callable[[Site], None]
) -> None:
    go(signed_site)
    assert_accessible(signed_site.page)


@pytest.mark.parametrize(("name", "go"), SIGNED_IN_PAGES, ids=[name for name, _ in SIGNED_IN_PAGES])
def test_every_signed_in_page_is_accessible(
    signed_in_site: Site, name: str, go: Callable[[Site], None]
) -> None:
    go(signed_in_site)
    assert_accessible(signed_in_site.page)


def test_the_inbox_is_accessible_signed_in_and_empty(browser: Browser, tmp_path: Path) -> None:
    token = create_token(tmp_path / "tokens.json", "bo")
    options = ("--tokens-file", str(tmp_path / "tokens.json"), "--secret", "a11y-secret-0123456789")
    with hitl_serve(tmp_path / "store", tmp_path / "serve.log", *options) as served:
        for site in site_on(browser, served):
            sign_in(site, token)
            expect(site.page.get_by_text("Nothing is waiting for an answer.")).to_be_visible()
            assert_accessible(site.page)
            hitlkit.new_event("ship", bool, store=site.store, serve=False, run_id="r")
            site.page.reload()
            expect(site.page.get_by_role("button", name="Approve ship")).to_be_visible()
            assert_accessible(site.page)


def test_the_check_finds_what_it_looks_for(site: Site) -> None:
    """A page with an unlabelled input and grey on grey text fails: the check can fail."""
    site.page.set_content(
        '<html><body><input type="text">'
        '<p style="color:#aaa;background:#bbb">faint</p></body></html>'
    )
    found = " ".join(accessibility_violations(site.page))
    assert "label (critical)" in found
    assert "color-contrast (serious)" in found


def contrast(one: str, other: str) -> float:
    """WCAG's contrast ratio of two `rgb(r, g, b)` colours."""

    def luminance(color: str) -> float:
        channels = [int(c) / 255 for c in color[color.index("(") + 1 : -1].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_form_fields_stand_out_from_the_page(site: Site, scheme: Literal["light", "dark"]) -> None:
    """A field's border has 3:1 contrast with what surrounds it (WCAG 1.4.11), which axe
    does not check."""
    site.page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
    site.form_of(Deploy)
    card = site.page.locator("article.card").evaluate("e => getComputedStyle(e).backgroundColor")
    page = site.page.locator("body").evaluate("e => getComputedStyle(e).backgroundColor")
    borders: list[str] = site.page.evaluate(
        "() => [...document.querySelectorAll('input[type=text], input[type=number], select')]"
        ".map(e => getComputedStyle(e).borderTopColor)"
    )
    assert len(borders) >= 3
    for border in borders:
        assert contrast(border, card) >= 3, (border, card)
        assert contrast(border, page) >= 3, (border, page)
