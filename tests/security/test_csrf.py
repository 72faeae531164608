"""Form posts need the form token the page set; state never changes on GET."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from hitlkit._server import create_app
from tests.forms import followed, form_fields
from tests.integration.conftest import serve_in_thread
from tests.security.conftest import SECRET, App


def test_a_post_without_the_form_token_shows_the_form_again(open_app: App) -> None:
    event = open_app.ask("count")
    with open_app.client() as browser:
        form_fields(browser, f"/form/{event.request_id}")  # has the cookie, not the field
        posted = browser.post("/submit", data={"request_id": event.request_id, "value": "41"})

    assert posted.status_code == 403
    assert "Please submit it again" in posted.text
    assert 'value="41"' in posted.text  # the answer typed is kept
    assert 'name="csrf"' in posted.text
    assert event.outcome() is None


def test_a_typed_form_without_its_token_keeps_what_was_chosen(open_app: App) -> None:
    event = open_app.ask("where", Literal["prod", "staging"])
    with open_app.client() as browser:
        fields = form_fields(browser, f"/form/{event.request_id}")
        posted = browser.post(
            "/submit", data={"request_id": fields["request_id"], "value": "staging"}
        )
        again = browser.post("/submit", data={**fields, "value": "staging"})

    assert posted.status_code == 403
    assert "Please submit it again" in posted.text
    assert re.search(r'value="staging"\s+checked', posted.text)
    assert again.status_code == 303
    assert event.wait() == "staging"


def test_a_post_without_the_form_token_to_a_closed_event_shows_how_it_ended(
    open_app: App,
) -> None:
    event = open_app.ask("count")
    event.answer(3)
    with open_app.client() as browser:
        redirect = browser.post("/submit", data={"request_id": event.request_id, "value": "4"})
        posted = followed(browser, redirect)

    assert posted.status_code == 200
    assert "<form" not in posted.text
    assert "Already answered" not in posted.text  # nothing was tried: the post was not its page's
    assert "Answered" in posted.text
    outcome = event.outcome()
    assert outcome is not None
    assert outcome.value == 3


def test_a_form_token_only_goes_with_its_own_cookie(open_app: App) -> None:
    event = open_app.ask("count")
    with open_app.client() as attacker, open_app.client() as victim:
        stolen = form_fields(attacker, f"/form/{event.request_id}")
        form_fields(victim, f"/form/{event.request_id}")
        mixed = victim.post("/submit", data={**stolen, "value": "1"})
    with open_app.client() as no_cookie:
        bare = no_cookie.post("/submit", data={**stolen, "value": "1"})

    assert mixed.status_code == bare.status_code == 403
    assert event.outcome() is None


def test_the_form_cookie_is_http_only_and_same_site_strict(open_app: App) -> None:
    event = open_app.ask("count")
    with open_app.client() as browser:
        page = browser.get(f"/form/{event.request_id}")

    cookie = page.headers["set-cookie"].lower()
    assert cookie.startswith("hitl_csrf=")
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/" in cookie


def test_state_never_changes_on_get(open_app: App) -> None:
    event = open_app.ask("count")
    with open_app.client() as http:
        responses = [
            http.get("/submit", params={"request_id": event.request_id, "value": "1"}),
            http.get(f"/api/events/{event.request_id}/answer", params={"value": "1"}),
            http.get(f"/api/events/{event.request_id}/cancel"),
            http.get("/submit/json", params={"request_id": event.request_id, "value": "1"}),
        ]

    assert [r.status_code for r in responses] == [405, 405, 405, 405]
    assert event.outcome() is None


@pytest.fixture
def replica(open_app: App, tmp_path: Path) -> Iterator[str]:
    """A second app over the same store with the same secret."""
    server, thread, port = serve_in_thread(create_app(open_app.store, secret=SECRET))
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_replicas_sharing_the_secret_accept_each_others_forms(open_app: App, replica: str) -> None:
    event = open_app.ask("count")
    with open_app.client() as browser:
        fields = form_fields(browser, f"/form/{event.request_id}")
        # The browser sends the same cookie to the other replica behind one address.
        posted = browser.post(f"{replica}/submit", data={**fields, "value": "7"})

    assert posted.status_code == 303, posted.text
    assert event.wait() == 7
