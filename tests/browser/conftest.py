"""Browser tests: Debian's Chromium, driven by Playwright, against a real `hitl serve`.

Without Chromium they are skipped, except under `CI=true`, where they fail.
Select them with `-m browser`, or leave them out with `-m "not browser"`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from hitlkit import LocalStore
from tests.browser.support import Served, chromium, find_chromium, hitl_serve
from tests.servers import in_ci

expect.set_options(timeout=15_000)

_CLIENT_ERROR = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for one test module.

    Not for the session: Playwright's sync API runs an event loop in the main thread
    while it is open, and later tests must be free to call `asyncio.run`.
    """
    if find_chromium() is None:
        message = "no Chromium at /usr/bin/chromium: apt-get install chromium"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    with chromium() as the_browser:
        yield the_browser


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`hitl serve` over a fresh store folder, on a free port."""
    with hitl_serve(tmp_path / "store", tmp_path / "serve.log") as app:
        yield app


@pytest.fixture
def store(served: Served) -> Iterator[LocalStore]:
    """The served store, opened in the test process too."""
    the_store = LocalStore(served.store)
    yield the_store
    the_store.close()


class Pages:
    """Opens browser pages (each in its own context) and checks none reported an error."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.errors: list[str] = []
        self.contexts: list[BrowserContext] = []

    def open(self, *, javascript: bool = True, width: int = 1100) -> Page:
        context = self.browser.new_context(
            java_script_enabled=javascript, viewport={"width": width, "height": 800}
        )
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("console", self._on_console)
        return page

    def _on_console(self, message: ConsoleMessage) -> None:
        # 4xx pages (a field error is 422, a late answer 409) are expected; anything else
        # (a script error, a refusal by the content security policy) is not.
        if message.type == "error" and not _CLIENT_ERROR.match(message.text):
            self.errors.append(f"console: {message.text}")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser: Browser, served: Served) -> Iterator[Pages]:
    """Browser pages for one test; fails the test if a page logged an error (a CSP refusal).

    Closed before the app stops, so no page sees its stream cut.
    """
    opened = Pages(browser)
    yield opened
    opened.close()
    assert opened.errors == []


@pytest.fixture
def page(pages: Pages) -> Page:
    """One browser page with JavaScript on."""
    return pages.open()
