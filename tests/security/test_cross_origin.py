"""Attacks from another origin on loopback, in a real Chromium: a page on a sibling subdomain
plants a form-token pair (before or after its victim signs in) and posts a form; a page on
another port of 127.0.0.1 cancels with a bodyless POST. None of them changes anything.

Chromium resolves `*.hitl.test` to 127.0.0.1: the app answers as `app.hitl.test`, the
attacker's page is served from `evil.hitl.test` on another port, the same site for cookies.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

import hitlkit
from hitlkit import LocalStore
from hitlkit._config import LOOPBACK_HOSTS
from hitlkit._links import sign_answer_link
from hitlkit._records import utcnow
from hitlkit._server import create_app
from hitlkit._tokens import create_token
from tests.browser.support import find_chromium
from tests.integration.conftest import serve_in_thread
from tests.security.conftest import SECRET
from tests.servers import in_ci

pytestmark = pytest.mark.browser

_SITE = "hitl.test"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium resolving every `*.hitl.test` name to 127.0.0.1."""
    path = find_chromium()
    if path is None:
        message = "no Chromium at /usr/bin/chromium: apt-get install chromium"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        the_browser = playwright.chromium.launch(
            executable_path=path,
            headless=True,
            args=[f"--host-resolver-rules=MAP *.{_SITE} 127.0.0.1"],
        )
        try:
            yield the_browser
        finally:
            the_browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@dataclass
class Attacker:
    """A web server on 127.0.0.1 serving the pages put in `pages` (path: HTML)."""

    port: int
    pages: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    served = Attacker(0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = served.pages.get(self.path, "not here").encode()
            self.send_response(200 if self.path in served.pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class Target:
    url: str
    port: int
    store: LocalStore
    token: str


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    """An app with sign-in (ana's token), answering to `app.hitl.test`."""
    store = LocalStore(tmp_path / "store")
    tokens_file = tmp_path / "tokens.json"
    token = create_token(tokens_file, "ana")
    app = create_app(store, tokens_file=tokens_file, secret=SECRET, allowed_hosts=[f"app.{_SITE}"])
    server, thread, port = serve_in_thread(app)
    yield Target(f"http://app.{_SITE}:{port}", port, store, token)
    server.should_exit = True
    thread.join(10)
    store.close()


def _login_pair(target: Target) -> tuple[str, str]:
    """The form-token cookie and field the attacker gets from `/login` for itself."""
    headers = {"Host": f"app.{_SITE}:{target.port}"}
    with httpx.Client(trust_env=False) as http:
        page = http.get(f"http://127.0.0.1:{target.port}/login", headers=headers)
    field = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return page.cookies["hitl_csrf"], field


def _plant(cookie: str) -> str:
    return f'<script>document.cookie = "hitl_csrf={cookie}; domain={_SITE}; path=/";</script>'


def _post(target: Target, request_id: str, field: str) -> str:
    return f"""
<form id="f" method="post" action="{target.url}/submit">
  <input name="request_id" value="{request_id}"><input name="value" value="true">
  <input name="csrf" value="{field}">
</form>
<script>document.getElementById("f").submit();</script>"""


def _sign_in(page: Page, target: Target) -> None:
    page.goto(f"{target.url}/login")
    page.locator("#token").fill(target.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()


def _ask(target: Target) -> hitlkit.Event[Any]:
    return hitlkit.new_event(
        "ship", bool, assignees=["ana"], run_id="r", store=target.store, serve=False
    )


def test_a_planted_form_token_pair_does_not_answer_as_the_signed_in_victim(
    page: Page, target: Target, attacker: Attacker
) -> None:
    event = _ask(target)
    _sign_in(page, target)
    cookie, field = _login_pair(target)
    attacker.pages["/"] = _plant(cookie) + _post(target, event.request_id, field)

    page.goto(f"http://evil.{_SITE}:{attacker.port}/")
    page.wait_for_url(f"{target.url}/submit")

    assert event.outcome() is None


def test_a_pair_fixed_before_sign_in_does_not_answer_after_it(
    page: Page, target: Target, attacker: Attacker
) -> None:
    event = _ask(target)
    cookie, field = _login_pair(target)
    attacker.pages["/plant"] = _plant(cookie) + "<p>planted</p>"
    attacker.pages["/post"] = _post(target, event.request_id, field)

    page.goto(f"http://evil.{_SITE}:{attacker.port}/plant")
    expect(page.get_by_text("planted")).to_be_visible()
    _sign_in(page, target)
    page.goto(f"http://evil.{_SITE}:{attacker.port}/post")
    page.wait_for_url(f"{target.url}/submit")

    assert event.outcome() is None


def test_a_page_on_another_port_cannot_cancel_or_answer(
    page: Page, attacker: Attacker, tmp_path: Path
) -> None:
    store = LocalStore(tmp_path / "store")
    server, thread, port = serve_in_thread(
        create_app(store, allowed_hosts=sorted(LOOPBACK_HOSTS))  # no sign-in: loopback
    )
    try:
        event = hitlkit.new_event("count", int, run_id="r", store=store, serve=False)
        api = f"http://127.0.0.1:{port}/api/events/{event.request_id}"
        attacker.pages["/"] = f"""<script>
(async () => {{
  const post = (path, body) => fetch("{api}" + path, {{method: "POST", mode: "no-cors", body}});
  await post("/cancel");
  await post("/cancel", new Blob(["{{}}"]));
  await post("/answer", new Blob(['{{"value": 1}}']));
  document.title = "done";
}})();
</script>"""
        page.goto(f"http://127.0.0.1:{attacker.port}/")
        expect(page).to_have_title("done")

        assert event.outcome() is None
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


def test_a_link_another_site_sends_the_browser_to_does_not_replace_its_sign_in(
    page: Page, target: Target, attacker: Attacker
) -> None:
    event = _ask(target)
    theirs = sign_answer_link(
        SECRET,
        event.request_id,
        identity="mallory",
        expires_at=utcnow() + timedelta(minutes=10),
    )
    _sign_in(page, target)
    # A link of the attacker's own: opening it would keep it in the event's cookie.
    form = f"{target.url}/form/{event.request_id}"
    attacker.pages["/"] = f'<script>location.href = "{form}?token={theirs}";</script>'
    page.goto(f"http://evil.{_SITE}:{attacker.port}/")
    page.wait_for_url(f"{form}?token=*")

    page.goto(form)
    expect(page.locator(".answering-as")).to_have_text("Answering as ana")
    page.get_by_role("button", name="Yes").click()
    expect(page.get_by_role("heading", name="Recorded: yes")).to_be_visible()

    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by) == (True, "ana")
