"""What clients cannot do: reach paths, inject markup, send huge bodies, leave files behind."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

import hitlkit
from hitlkit import LocalStore
from hitlkit._server import MAX_BODY_BYTES
from tests.forms import followed, form_fields

SCRIPT = '<script>alert("x")</script>'
OUR_SCRIPT = '<script src="/static/hitlkit.js" defer></script>'
HTML = {"accept": "text/html"}
BAD_IDS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "a" * 5000,
    "0" * 23,
    "0" * 25,
    "A" * 24,
    "events",
]


def ask(store: LocalStore, name: str, data_type: type[Any], **options: Any) -> hitlkit.Event[Any]:
    options.setdefault("run_id", "run-1")
    return hitlkit.new_event(name, data_type, store=store, serve=False, **options)


def assert_no_server_path(text: str, tmp_path: Path) -> None:
    assert str(tmp_path) not in text
    assert "/etc/passwd" not in text.replace("../../etc/passwd", "")
    assert ".py" not in text


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_malformed_and_unknown_ids_are_404_without_server_paths(
    client: httpx.Client, app_store: LocalStore, tmp_path: Path, bad_id: str
) -> None:
    ask(app_store, "count", int)
    in_path = quote(bad_id, safe="%")  # literal dot segments: see the raw-path test
    responses = [
        client.get(f"/api/events/{in_path}"),
        client.post(f"/api/events/{in_path}/answer", json={"value": 1}),
        client.post(f"/api/events/{in_path}/cancel", json={}),
        client.get(f"/status/{in_path}"),
        client.get(f"/form/{in_path}"),
        client.post("/submit/json", json={"request_id": bad_id, "value": 1}),
        client.post("/submit", data={"request_id": bad_id, "value": "1"}),
    ]

    for response in responses:
        assert response.status_code == 404, (response.request.url, response.text)
        assert len(response.text) < 5000
        assert_no_server_path(response.text, tmp_path)


@pytest.mark.parametrize(
    "raw_path",
    ["/api/events/../../etc/passwd", "/form/../../../etc/passwd", "/status/..%2f..%2fetc"],
)
def test_raw_dot_segments_reach_no_file(app_url: str, tmp_path: Path, raw_path: str) -> None:
    # http.client sends the path as written; httpx would normalize the dots away.
    parts = urlsplit(app_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("GET", raw_path)
        response = connection.getresponse()
        body = response.read().decode()
    finally:
        connection.close()

    assert response.status == 404
    assert "root:" not in body
    assert_no_server_path(body, tmp_path)


def test_paths_sent_by_clients_are_ignored(
    client: httpx.Client, app_store: LocalStore, tmp_path: Path
) -> None:
    first = ask(app_store, "first", int)
    second = ask(app_store, "second", str)
    targets = {name: tmp_path / f"{name}.json" for name in ("json", "form", "request")}

    by_json = client.post(
        "/submit/json",
        json={
            "request_id": first.request_id,
            "value": 1,
            "response_path": str(targets["json"]),
            "request_path": str(targets["request"]),
        },
    )
    by_form = client.post(
        "/submit",
        data={
            **form_fields(client, f"/form/{second.request_id}"),
            "value": "hi",
            "response_path": str(targets["form"]),
            "data_type": "int",
        },
    )

    assert by_json.status_code == 200
    assert by_form.status_code == 303
    assert not any(path.exists() for path in targets.values())
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.is_relative_to(app_store.root) for p in written)
    assert second.wait() == "hi"


def test_markup_from_names_prompts_values_and_paths_is_always_escaped(
    client: httpx.Client, app_store: LocalStore
) -> None:
    text = ask(app_store, f"name {SCRIPT}", str, prompt=f"prompt {SCRIPT}", run_id=SCRIPT)
    number = ask(app_store, f"number {SCRIPT}", int, prompt=SCRIPT, run_id=SCRIPT)
    number_form = form_fields(client, f"/form/{number.request_id}")
    text_form = form_fields(client, f"/form/{text.request_id}")
    pages = [
        client.get("/"),
        client.get("/form/" + text.request_id),
        client.post("/submit", data={**number_form, "value": SCRIPT}),
        followed(client, client.post("/submit", data={**text_form, "value": SCRIPT, "by": SCRIPT})),
        followed(client, client.post("/submit", data={**text_form, "value": SCRIPT})),
        client.get("/form/" + text.request_id),
        client.get("/?status=all"),
        client.get("/form/%3Cscript%3Ealert(1)%3C%2Fscript%3E", headers=HTML),
        client.get("/form/%3Cscript%3Ealert(1)", headers=HTML),
        client.get("/%3Cscript%3Ealert(1)%3C%2Fscript%3E", headers=HTML),
    ]

    assert [p.status_code for p in pages] == [200, 200, 422, 200, 200, 200, 200, 404, 404, 404]
    assert "Already answered" in pages[4].text
    for page in pages:
        assert page.headers["content-type"].startswith("text/html")
        markup = page.text.lower().replace(OUR_SCRIPT, "")
        assert "<script" not in markup, page.request.url
    assert "&lt;script&gt;" in pages[1].text
    assert "&lt;script&gt;" in pages[3].text


def test_html_pages_forbid_scripts_and_framing(client: httpx.Client) -> None:
    page = client.get("/")

    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    # Scripts only from the app itself: no inline script, no other site, no eval.
    assert "script-src 'self';" in policy
    assert "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert OUR_SCRIPT in page.text
    assert not re.search(r"<style|style=|<script|\son\w+=", page.text.replace(OUR_SCRIPT, ""))


def test_a_body_declared_too_large_is_413(client: httpx.Client, app_store: LocalStore) -> None:
    event = ask(app_store, "note", str)

    response = client.post(
        f"/api/events/{event.request_id}/answer",
        content=b"x" * (MAX_BODY_BYTES + 1),
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert str(MAX_BODY_BYTES) in response.json()["message"]
    assert event.outcome() is None


def test_a_chunked_body_over_the_limit_is_413(client: httpx.Client, app_store: LocalStore) -> None:
    event = ask(app_store, "note", str)

    def chunks() -> Iterator[bytes]:
        yield b'{"value": "'
        for _ in range(MAX_BODY_BYTES // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    response = client.post(
        f"/api/events/{event.request_id}/answer",
        content=chunks(),
        headers={"content-type": "application/json"},
    )

    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert event.outcome() is None


def test_a_body_of_exactly_the_limit_is_accepted(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "note", str)
    empty = json.dumps({"value": ""}).encode()
    body = json.dumps({"value": "x" * (MAX_BODY_BYTES - len(empty))}).encode()

    response = client.post(
        f"/api/events/{event.request_id}/answer",
        content=body,
        headers={"content-type": "application/json"},
    )

    assert len(body) == MAX_BODY_BYTES
    assert response.status_code == 200


def test_a_form_over_the_limit_is_413(client: httpx.Client, app_store: LocalStore) -> None:
    event = ask(app_store, "note", str)

    response = client.post(
        "/submit", data={"request_id": event.request_id, "value": "x" * MAX_BODY_BYTES}
    )

    assert response.status_code == 413
    assert event.outcome() is None


def test_multipart_forms_are_refused(client: httpx.Client, app_store: LocalStore) -> None:
    event = ask(app_store, "note", str)

    response = client.post(
        "/submit",
        data={"request_id": event.request_id},
        files={"value": ("answer.txt", b"hello", "text/plain")},
    )

    assert response.status_code == 415
    assert "x-www-form-urlencoded" in response.text
    assert event.outcome() is None


def test_writes_from_other_websites_are_refused(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "deploy", bool)
    cross_site = {"sec-fetch-site": "cross-site"}

    form = client.post(
        "/submit", data={"request_id": event.request_id, "value": "true"}, headers=cross_site
    )
    cancel = client.post(f"/api/events/{event.request_id}/cancel", headers=cross_site)
    read = client.get(f"/api/events/{event.request_id}", headers=cross_site)
    own_page = client.post(
        "/submit",
        data={**form_fields(client, f"/form/{event.request_id}"), "value": "true"},
        headers={"sec-fetch-site": "same-origin"},
    )

    assert form.status_code == cancel.status_code == 403
    assert form.json()["error"] == "cross_site"
    assert read.status_code == 200
    assert own_page.status_code == 303
    assert event.wait() is True


def test_requests_leave_no_temporary_files(
    client: httpx.Client, app_store: LocalStore, tmp_path: Path
) -> None:
    events = [ask(app_store, f"e{i}", int) for i in range(3)]
    client.post(f"/api/events/{events[0].request_id}/answer", json={"value": 1})
    client.post(f"/api/events/{events[0].request_id}/answer", json={"value": 2})
    fields = form_fields(client, f"/form/{events[1].request_id}")
    client.post("/submit", data={**fields, "value": "nope"})
    client.post("/submit", data={**fields, "value": "3"})
    client.post(f"/api/events/{events[2].request_id}/cancel", json={"reason": "r"})
    client.post(
        "/submit",
        data={"request_id": events[2].request_id},
        files={"value": ("v.txt", b"1", "text/plain")},
    )

    assert list((app_store.root / ".tmp").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
