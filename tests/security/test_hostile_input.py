"""Hostile input against an app with authentication on: ids, markup, sizes, hosts, headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from hitlkit._server import MAX_BODY_BYTES, create_app
from tests.forms import form_fields
from tests.integration.conftest import serve_in_thread
from tests.security.conftest import App

SCRIPT = '<script>alert("x")</script>'
BAD_IDS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "....//....//etc",
    "0" * 23,
    "A" * 24,
    "a" * 5000,
    "%00",
    SCRIPT,
]


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_hostile_ids_reach_nothing_on_any_route(secured: App, tmp_path: Path, bad_id: str) -> None:
    secured.ask("count")
    in_path = quote(bad_id, safe="%")
    with secured.client(secured.tokens["ana"]) as http:
        responses = [
            http.get(f"/api/events/{in_path}"),
            http.post(f"/api/events/{in_path}/answer", json={"value": 1}),
            http.post(f"/api/events/{in_path}/cancel", json={}),
            http.get(f"/api/events/{in_path}/audit"),
            http.get(f"/status/{in_path}"),
            http.get(f"/form/{in_path}"),
            http.post("/submit/json", json={"request_id": bad_id, "value": 1}),
        ]
        fields = form_fields(http, f"/form/{secured.ask('other').request_id}")
        responses.append(http.post("/submit", data={**fields, "request_id": bad_id, "value": "1"}))

    for response in responses:
        assert response.status_code == 404, (response.request.url, response.text[:200])
        assert str(tmp_path) not in response.text
        assert len(response.text) < 5000
        if response.headers["content-type"].startswith("text/html"):
            assert "<script>" not in response.text
        else:  # JSON may quote the id; served as JSON with nosniff, no browser runs it
            assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "params",
    [
        {"status": "../../etc"},
        {"run_id": "../../etc/passwd"},
        {"name": SCRIPT},
        {"status": "all", "run_id": "%00", "name": "a" * 5000},
    ],
)
def test_hostile_query_parameters_are_refused_or_match_nothing(
    secured: App, tmp_path: Path, params: dict[str, str]
) -> None:
    secured.ask("count")
    with secured.client(secured.tokens["ana"]) as http:
        listed = http.get("/api/events", params=params)
        inbox = http.get("/", params=params)

    assert listed.status_code in (200, 422)
    if listed.status_code == 200:
        assert listed.json()["events"] == []
    assert inbox.status_code == 200
    for response in (listed, inbox):
        assert str(tmp_path) not in response.text
        assert "<script>" not in response.text


@pytest.mark.parametrize("prefix", ["../", "outcomes/../events/", "outcomes/ABCDEFGH/", "events/"])
def test_the_change_stream_only_follows_outcome_prefixes(secured: App, prefix: str) -> None:
    with secured.client() as http:
        response = http.get("/api/changes", params={"prefix": prefix})

    assert response.status_code == 422


def test_link_tokens_carrying_markup_are_refused_and_escaped(secured: App) -> None:
    event = secured.ask("count")
    with secured.client() as browser:
        page = browser.get(f"/form/{event.request_id}", params={"token": SCRIPT})

    assert page.status_code == 401
    assert "<script>" not in page.text


def test_markup_in_every_field_is_escaped_on_every_page(secured: App) -> None:
    event = secured.ask(f"name {SCRIPT}", str, prompt=f"prompt {SCRIPT}", run_id=SCRIPT)
    link = secured.link(event.request_id, identity=SCRIPT)
    url = secured.link_url(event.request_id, link)
    with secured.client() as browser:
        pages = [browser.get(url)]
        fields = form_fields(browser, url)
        pages.append(browser.post("/submit", data={**fields, "value": SCRIPT}))
        pages.append(browser.get(url))
    with secured.client(secured.tokens["ana"]) as http:
        pages += [http.get("/?status=all"), http.get(f"/form/{event.request_id}")]
        pages.append(http.get("/form/%3Cscript%3Ealert(1)%3C%2Fscript%3E"))

    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.value, outcome.by) == (SCRIPT, SCRIPT)
    for page in pages:
        assert "<script>" not in page.text, page.request.url
    assert "&lt;script&gt;" in pages[2].text


def test_oversized_bodies_are_413_before_any_credential_check(secured: App) -> None:
    event = secured.ask("note", str)
    big = "x" * MAX_BODY_BYTES
    with secured.client() as http:
        responses = [
            http.post("/submit", data={"request_id": event.request_id, "value": big}),
            http.post("/submit/json", json={"request_id": event.request_id, "value": big}),
            http.post(f"/api/events/{event.request_id}/answer", json={"value": big}),
            http.post(f"/api/events/{event.request_id}/cancel", json={"reason": big}),
        ]

    for response in responses:
        assert response.status_code == 413
        assert response.json()["error"] == "payload_too_large"
    assert event.outcome() is None


def test_html_pages_carry_a_strict_policy_and_json_is_nosniff(secured: App) -> None:
    event = secured.ask("count")
    answered = secured.ask("done")
    answered.answer(1)
    with secured.client(secured.tokens["ana"]) as http:
        pages = [
            http.get("/"),
            http.get(f"/form/{event.request_id}"),
            http.get(f"/form/{answered.request_id}"),
            http.get(f"/form/{'0' * 24}"),
            http.get("/no/such/page", headers={"accept": "text/html"}),
        ]
        data = [http.get("/api/events"), http.get("/health"), http.get("/api/nope")]
    with secured.client() as anonymous:
        pages.append(anonymous.get("/"))
        data.append(anonymous.get("/api/events"))

    for page in pages:
        assert page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self';" in policy  # the app's own script file, nothing else
        assert "unsafe" not in policy
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "strict-origin"
        markup = page.text.replace('<script src="/static/hitlkit.js" defer></script>', "")
        assert not re.search(r"<script|\son[a-z]+=", markup)
    for response in data:
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.fixture
def loopback_app(open_app: App) -> Iterator[str]:
    """An app answering only to loopback host names, as `hitl serve` starts it on 127.0.0.1."""
    app = create_app(open_app.store, allowed_hosts=["127.0.0.1", "localhost", "::1"])
    server, thread, port = serve_in_thread(app)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_other_host_names_are_refused_against_dns_rebinding(loopback_app: str) -> None:
    port = loopback_app.rpartition(":")[2]
    with httpx.Client(base_url=loopback_app, trust_env=False) as http:
        own = http.get("/api/events")
        local_name = http.get("/api/events", headers={"host": f"localhost:{port}"})
        rebound = http.get("/api/events", headers={"host": f"attacker.example:{port}"})
        spoofed = http.get("/api/events", headers={"host": "127.0.0.1.attacker.example"})

    assert own.status_code == local_name.status_code == 200
    for response in (rebound, spoofed):
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_host"


def test_an_unpaired_surrogate_is_refused_as_an_invalid_value_on_every_channel(
    secured: App,
) -> None:
    # Valid JSON (an escape), but no UTF-8 can hold it: neither a record nor a reply can.
    event = secured.ask("note", str)
    body = f'{{"request_id": "{event.request_id}", "value": "a\\ud800"}}'
    with secured.client(secured.tokens["ana"]) as http:
        fast = http.post("/submit/json", content=body, headers={"content-type": "application/json"})
        routed = http.post(
            f"/api/events/{event.request_id}/answer",
            content='{"value": "\\udfff b"}',
            headers={"content-type": "application/json"},
        )
        after = http.get(f"/api/events/{event.request_id}")

    for response in (fast, routed):
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "invalid_value"
        assert "unpaired surrogate" in response.json()["message"]
        assert response.headers["x-content-type-options"] == "nosniff"
    assert after.json()["status"] == "pending"
