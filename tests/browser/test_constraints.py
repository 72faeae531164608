"""Field constraints in Chromium: shown as hints, checked by the browser before posting,
and still refused by the app over HTTP; patterns given to the browser mean what they
mean to the app. And the keyboard: every control reached by Tab with a visible focus,
Enter and Space answering."""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from pydantic import BaseModel, Field

import hitlkit
from hitlkit import LocalStore
from hitlkit._values._regex import browser_pattern
from tests.browser.support import Served
from tests.forms import form_fields
from tests.models import Deploy

pytestmark = pytest.mark.browser


class Order(BaseModel):
    count: int = Field(gt=0, lt=10)
    note: str = Field(min_length=2, max_length=5)
    code: str = Field(pattern=r"^[A-Z]{2}-\d{2}$")
    weight: float = Field(ge=0.5, le=2, multiple_of=0.5)


VALID = {"count": "9", "note": "ok", "code": "AB-12", "weight": "1.5"}


def ask(
    store: LocalStore, data_type: Any, name: str = "order", **options: Any
) -> hitlkit.Event[Any]:
    options.setdefault("run_id", "constraints")
    return hitlkit.new_event(name, data_type, store=store, serve=False, **options)


def fill(page: Page, values: dict[str, str]) -> None:
    for name, text in values.items():
        page.locator(f"#f-value-{name}").fill(text)


def validity(page: Page, name: str) -> dict[str, bool]:
    result: dict[str, bool] = page.locator(f"#f-value-{name}").evaluate(
        "input => { const v = input.validity; return {valid: v.valid, rangeOverflow: "
        "v.rangeOverflow, rangeUnderflow: v.rangeUnderflow, stepMismatch: v.stepMismatch, "
        "tooShort: v.tooShort, tooLong: v.tooLong, patternMismatch: v.patternMismatch}; }"
    )
    return result


@pytest.mark.parametrize(
    ("name", "text", "flag"),
    [
        ("count", "10", "rangeOverflow"),  # lt=10
        ("count", "0", "rangeUnderflow"),  # gt=0
        ("note", "x", "tooShort"),
        ("code", "ab-12", "patternMismatch"),
        ("code", "AB-1x", "patternMismatch"),
        ("weight", "1.2", "stepMismatch"),
        ("weight", "2.5", "rangeOverflow"),
    ],
)
def test_the_browser_blocks_what_the_app_refuses(
    page: Page, served: Served, store: LocalStore, name: str, text: str, flag: str
) -> None:
    event = ask(store, Order)
    url = f"{served.url}/form/{event.request_id}"
    page.goto(url)
    expect(page.locator("#f-value-count-hint")).to_have_text("Between 1 and 9.")
    expect(page.locator("#f-value-note-hint")).to_have_text("2 to 5 characters.")
    expect(page.locator("#f-value-weight-hint")).to_have_text(
        "Between 0.5 and 2, a multiple of 0.5."
    )
    fill(page, {**VALID, name: text})

    page.get_by_role("button", name="Submit answer").click()

    assert validity(page, name)[flag] is True
    assert page.locator("form.answer").evaluate("form => form.checkValidity()") is False
    expect(page).to_have_url(url)  # not posted
    assert event.outcome() is None

    # The app refuses the same value, posted without a browser's checks.
    with httpx.Client(base_url=served.url, trust_env=False) as client:
        fields = form_fields(client, url)
        posted = {**fields, **{f"value.{k}": v for k, v in {**VALID, name: text}.items()}}
        refused = client.post("/submit", data=posted, headers={"Origin": served.url})
    assert refused.status_code == 422, refused.text
    assert event.outcome() is None

    fill(page, VALID)
    page.get_by_role("button", name="Submit answer").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Recorded")
    assert event.wait() == Order(count=9, note="ok", code="AB-12", weight=1.5)


def test_the_browser_stops_typing_past_the_longest(
    page: Page, served: Served, store: LocalStore
) -> None:
    event = ask(store, Order)
    page.goto(f"{served.url}/form/{event.request_id}")
    page.locator("#f-value-note").press_sequentially("abcdefgh")
    expect(page.locator("#f-value-note")).to_have_value("abcde")


PATTERNS = [
    r"^v[0-9]+$",
    r"^[A-Z]{2}-\d{2}$",
    r"a.b",
    r"^(ab|c)+$",
    r"^[^a-c.\-]*$",
    r"\Aé/?\Z",
    r"^x{2,3}y?$",
    r"b",
    r"^$",
]
ALPHABET = ["a", "b", "c", "-", ".", "/", "x", "y", "v", "1", "\u0663", "\u2028", "é", "A", "Z"]


def test_a_pattern_given_to_the_browser_means_what_it_means_to_the_app(page: Page) -> None:
    """Every text up to 3 characters over an alphabet of troublemakers: JavaScript's
    `v`-flag regex, as a browser applies the attribute, agrees with Python's `re.search`."""
    texts = ["".join(chars) for n in range(4) for chars in itertools.product(ALPHABET, repeat=n)]
    texts += ["v12", "AB-\u0661\u0662", "AB-12", "xxy", "abab", "ccab"]
    for pattern in PATTERNS:
        attribute = browser_pattern(pattern)
        assert attribute is not None, pattern
        in_browser: list[bool] = page.evaluate(
            "([p, texts]) => { const r = new RegExp('^(?:' + p + ')$', 'v'); "
            "return texts.map(t => r.test(t)); }",
            [attribute, texts],
        )
        in_python = [re.search(pattern, text) is not None for text in texts]
        differ = [t for t, b, p in zip(texts, in_browser, in_python, strict=True) if b != p]
        assert differ == [], f"{pattern!r} as {attribute!r} differs on {differ[:5]!r}"


def test_tab_reaches_every_control_with_a_visible_focus(
    page: Page, served: Served, store: LocalStore
) -> None:
    event = ask(store, Deploy)
    page.goto(f"{served.url}/form/{event.request_id}")
    # Folded parts (the cancel form) are opened, so that their controls count too.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    reached: list[dict[str, str]] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        focused: dict[str, str] = page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e); "
            "return {id: e.id, name: e.name || '', tag: e.tagName, text: e.textContent.trim(), "
            "outline: s.outlineStyle, width: s.outlineWidth}; }"
        )
        if focused["tag"] == "BODY" or (reached and focused == reached[0]):
            break
        reached.append(focused)
    assert reached[0]["text"] == "Skip to content"
    controls: list[str] = page.evaluate(
        "() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]"
        ".map(e => e.type === 'radio' ? 'radio:' + e.name : e.id)"
    )
    got = {f"radio:{f['name']}" if f["id"].startswith("f-value-env-") else f["id"] for f in reached}
    assert set(controls) <= got
    assert "Submit answer" in [f["text"] for f in reached]
    assert "Cancel this event" in [f["text"] for f in reached]
    for focused in reached:
        assert focused["outline"] != "none", focused
        assert float(focused["width"].removesuffix("px")) >= 2, focused


def test_the_keyboard_answers(page: Page, served: Served, store: LocalStore) -> None:
    number = ask(store, int, "number", run_id="keys")
    page.goto(f"{served.url}/form/{number.request_id}")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link: focus moves to the content
    expect(page.locator("main")).to_be_focused()
    while not page.evaluate("() => document.activeElement.id === 'value'"):
        page.keyboard.press("Tab")
    page.keyboard.type("5")
    page.keyboard.press("Enter")  # Enter in a field submits its form
    expect(page.get_by_role("heading", level=1)).to_contain_text("Recorded")
    assert number.wait() == 5

    approve = ask(store, bool, "ship", run_id="keys")
    page.goto(f"{served.url}/")
    button = page.get_by_role("button", name=f"Approve {approve.name}")
    while not button.evaluate("b => b === document.activeElement"):
        page.keyboard.press("Tab")
    page.keyboard.press("Space")  # a button, so Space presses it
    expect(page.get_by_role("heading", level=1)).to_contain_text("Recorded")
    assert approve.wait() is True
