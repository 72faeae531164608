"""`/docs` in Chromium with no network but the app: the reference renders, nothing else loads."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.support import Served

pytestmark = pytest.mark.browser


def test_docs_render_offline_from_the_app_alone(page: Page, served: Served) -> None:
    app = urlsplit(served.url).netloc
    elsewhere: list[str] = []

    def only_the_app(route: Route) -> None:
        if urlsplit(route.request.url).netloc == app:
            route.continue_()
        else:  # a CDN, or anything else: as if there were no network
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_the_app)
    page.goto(f"{served.url}/docs")

    expect(page.get_by_role("heading", name="API", exact=True)).to_be_visible()
    expect(page.locator("h2", has_text="POST /api/events/{request_id}/answer")).to_be_visible()
    expect(page.locator("#schema-EventInfo")).to_be_visible()
    page.get_by_role("link", name="GET /health", exact=True).click()
    expect(page.get_by_role("heading", name="GET /health", exact=True)).to_be_in_viewport()
    assert elsewhere == []
