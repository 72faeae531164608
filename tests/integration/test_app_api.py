"""The JSON API over real HTTP: every route's happy path, and the error shapes."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx
import pytest

import hitlkit
from hitlkit import LocalStore
from hitlkit._records import event_id

EVENT_KEYS = {
    "request_id",
    "assignees",
    "name",
    "scope",
    "run_id",
    "prompt",
    "data_type",
    "json_schema",
    "validation",
    "prompt_type",
    "description",
    "initial",
    "created_at",
    "deadline",
    "timeout_seconds",
    "status",
    "outcome",
    "form_url",
    "policy",
    "policy_state",
    "requested_by",
    "version",
    "previous_id",
}


def ask(store: LocalStore, name: str, data_type: type[Any], **options: Any) -> hitlkit.Event[Any]:
    options.setdefault("run_id", "run-1")
    return hitlkit.new_event(name, data_type, store=store, serve=False, **options)


def test_health_names_the_app_and_fingerprints_the_store(
    client: httpx.Client, app_store: LocalStore
) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "app": "hitlkit",
        "version": hitlkit.__version__,
        "store": hashlib.sha256(app_store.url.encode()).hexdigest()[:16],
    }
    assert str(app_store.root) not in response.text


def test_list_shows_pending_events_newest_first(
    client: httpx.Client, app_store: LocalStore, app_url: str
) -> None:
    older = ask(app_store, "older", int, prompt="How many?")
    newer = ask(app_store, "newer", str)
    answered = ask(app_store, "answered", bool)
    answered.answer(True)

    events = client.get("/api/events").json()["events"]

    assert [e["request_id"] for e in events] == [newer.request_id, older.request_id]
    assert set(events[1]) == EVENT_KEYS
    assert events[1]["prompt"] == "How many?"
    assert events[1]["data_type"] == "int"
    assert events[1]["json_schema"] == {"type": "integer"}
    assert events[1]["status"] == "pending"
    assert events[1]["outcome"] is None
    assert events[1]["form_url"] == f"{app_url}/form/{older.request_id}"


def test_list_filters_by_status_run_and_name(client: httpx.Client, app_store: LocalStore) -> None:
    a = ask(app_store, "a", int, run_id="run-a")
    b = ask(app_store, "b", int, run_id="run-b")
    b.answer(2)

    def ids(**params: str) -> list[str]:
        events = client.get("/api/events", params=params).json()["events"]
        return [e["request_id"] for e in events]

    assert ids(status="resolved") == [b.request_id]
    assert sorted(ids(status="all")) == sorted([a.request_id, b.request_id])
    assert ids(status="all", run_id="run-a") == [a.request_id]
    assert ids(status="all", name="b") == [b.request_id]
    resolved = client.get("/api/events", params={"status": "resolved"}).json()["events"][0]
    assert resolved["status"] == "answered"
    assert resolved["outcome"]["value"] == 2


def test_list_rejects_an_unknown_status_in_the_error_shape(
    client: httpx.Client, app_store: LocalStore
) -> None:
    response = client.get("/api/events", params={"status": "done"})

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "pending" in body["message"]
    assert body["errors"][0]["loc"] == ["query", "status"]


def test_get_event_shows_it_with_its_outcome(client: httpx.Client, app_store: LocalStore) -> None:
    event = ask(app_store, "ask", float, prompt="Ratio?")

    before = client.get(f"/api/events/{event.request_id}").json()
    event.answer(0.5)
    after = client.get(f"/api/events/{event.request_id}").json()

    assert before["status"] == "pending"
    assert before["outcome"] is None
    assert after["status"] == "answered"
    assert after["outcome"]["value"] == 0.5
    assert after["outcome"]["via"] == "python"


def test_answer_records_the_value_and_wakes_the_waiter(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "count", int)

    response = client.post(
        f"/api/events/{event.request_id}/answer", json={"value": 42, "by": "ana"}
    )

    assert response.status_code == 200
    outcome = response.json()["outcome"]
    assert outcome["status"] == "answered"
    assert outcome["value"] == 42
    assert (outcome["by"], outcome["via"]) == ("ana", "api")
    assert event.wait() == 42


@pytest.mark.parametrize(
    ("data_type", "sent", "stored"),
    [
        (int, "42", 42),
        (int, " -7 ", -7),
        (float, 2, 2.0),
        (float, "2.5", 2.5),
        (str, "", ""),
        (str, "  spaced  ", "  spaced  "),
        (bool, False, False),
        (bool, "yes", True),
    ],
)
def test_answer_parses_text_by_the_recorded_type(
    client: httpx.Client, app_store: LocalStore, data_type: type[Any], sent: object, stored: object
) -> None:
    event = ask(app_store, "value", data_type)

    response = client.post(f"/api/events/{event.request_id}/answer", json={"value": sent})

    assert response.status_code == 200
    assert response.json()["outcome"]["value"] == stored
    assert response.json()["outcome"]["by"] == "anonymous"


@pytest.mark.parametrize(
    ("data_type", "sent", "expected"),
    [
        (bool, "maybe", "yes or no"),
        (int, "1.5", "an integer"),
        (int, 1.5, "an integer"),
        (int, "", "an integer"),
        (int, True, "an integer"),
        (float, "nan", "a finite number"),
        (float, "inf", "a finite number"),
        (float, None, "a finite number"),
        (str, 5, "text"),
    ],
)
def test_answer_that_does_not_fit_gets_422_saying_what_was_expected(
    client: httpx.Client, app_store: LocalStore, data_type: type[Any], sent: object, expected: str
) -> None:
    event = ask(app_store, "value", data_type)

    response = client.post(f"/api/events/{event.request_id}/answer", json={"value": sent})

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_value"
    assert body["expected"].startswith(expected)
    assert f"expected {body['expected']}" in body["message"]
    assert event.outcome() is None


def test_answer_with_a_too_long_name_is_an_invalid_request(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "count", int)

    response = client.post(
        f"/api/events/{event.request_id}/answer", json={"value": 1, "by": "x" * 101}
    )

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert response.json()["errors"][0]["loc"] == ["body", "by"]


def test_answer_without_a_value_or_with_broken_json_is_an_invalid_request(
    client: httpx.Client,
    app_store: LocalStore,
) -> None:
    event = ask(app_store, "count", int)
    url = f"/api/events/{event.request_id}/answer"

    missing = client.post(url, json={"by": "ana"})
    broken = client.post(url, content=b'{"value": ', headers={"content-type": "application/json"})

    assert missing.status_code == broken.status_code == 422
    assert missing.json()["errors"] == [{"loc": ["body", "value"], "msg": "Field required"}]
    assert broken.json()["error"] == "invalid_request"
    assert "JSON" in broken.json()["message"]


def test_answer_sent_as_text_plain_is_told_to_send_json(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "count", int)

    response = client.post(
        f"/api/events/{event.request_id}/answer",
        content=b'{"value": 1}',
        headers={"content-type": "text/plain"},
    )

    assert response.status_code == 422
    assert "Content-Type: application/json" in response.json()["message"]
    assert event.outcome() is None


def test_cancel_records_who_and_why(client: httpx.Client, app_store: LocalStore) -> None:
    event = ask(app_store, "deploy", bool)

    response = client.post(
        f"/api/events/{event.request_id}/cancel", json={"reason": "not needed", "by": "bo"}
    )

    assert response.status_code == 200
    outcome = response.json()["outcome"]
    assert (outcome["status"], outcome["reason"], outcome["by"], outcome["via"]) == (
        "cancelled",
        "not needed",
        "bo",
        "api",
    )
    with pytest.raises(hitlkit.EventCancelledError):
        event.wait()


def test_cancel_needs_a_body_an_empty_object_will_do(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "deploy", bool)

    bodyless = client.post(f"/api/events/{event.request_id}/cancel")
    assert bodyless.status_code == 422
    assert event.outcome() is None
    response = client.post(f"/api/events/{event.request_id}/cancel", json={})

    assert response.status_code == 200
    assert response.json()["outcome"]["by"] == "anonymous"


def test_submit_json_keeps_the_seed_shape_and_uses_the_recorded_type(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "count", int)

    response = client.post(
        "/submit/json",
        json={"request_id": event.request_id, "value": "7", "data_type": "str"},
    )

    assert response.status_code == 200
    body = response.json()
    outcome = body.pop("outcome")
    assert (body.pop("vote"), body.pop("policy_state")) == (None, None)  # no policy
    assert body == {
        "status": "submitted",
        "request_id": event.request_id,
        "value": 7,
        "data_type": "int",
        "message": "Input received. The workflow will continue.",
        "already_recorded": False,
    }
    assert (outcome["status"], outcome["value"], outcome["via"]) == ("answered", 7, "api")
    assert event.wait() == 7


def test_submit_json_errors_use_the_error_shape(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "count", int)

    invalid = client.post("/submit/json", json={"request_id": event.request_id, "value": "x"})
    unknown = client.post("/submit/json", json={"request_id": "0" * 24, "value": 1})

    assert (invalid.status_code, invalid.json()["error"]) == (422, "invalid_value")
    assert invalid.json()["expected"] == "an integer"
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("content_type", "body", "status", "error"),
    [
        ("application/json", b'{"request_id": ', 422, "invalid_request"),
        ("application/json", b'{"value": 1}', 422, "invalid_request"),
        ("application/json", b"[1, 2]", 422, "invalid_request"),
        ("text/plain", b'{"request_id": "ID", "value": 1}', 422, "invalid_request"),
        ("application/json; charset=utf-8", b'{"request_id": "ID", "value": 1}', 200, None),
        ("Application/JSON", b'{"request_id": "ID", "value": "1"}', 200, None),
    ],
)
def test_submit_json_reads_json_bodies_and_explains_the_rest(
    client: httpx.Client,
    app_store: LocalStore,
    content_type: str,
    body: bytes,
    status: int,
    error: str | None,
) -> None:
    event = ask(app_store, "count", int)

    response = client.post(
        "/submit/json",
        content=body.replace(b"ID", event.request_id.encode()),
        headers={"Content-Type": content_type},
    )

    assert response.status_code == status, response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    if error is None:
        assert response.json()["value"] == 1
        assert event.wait() == 1
    else:
        assert response.json()["error"] == error
        assert response.json()["errors"][0]["loc"][0] == "body"
        assert client.get(f"/api/events/{event.request_id}").json()["status"] == "pending"


def test_submit_json_refuses_a_second_answer_and_a_closed_event(
    client: httpx.Client, app_store: LocalStore
) -> None:
    answered = ask(app_store, "answered", int)
    cancelled = ask(app_store, "cancelled", int)
    cancelled.cancel()

    first = client.post("/submit/json", json={"request_id": answered.request_id, "value": 1})
    second = client.post("/submit/json", json={"request_id": answered.request_id, "value": 2})
    closed = client.post("/submit/json", json={"request_id": cancelled.request_id, "value": 1})

    assert first.status_code == 200
    assert (second.status_code, second.json()["error"]) == (409, "already_answered")
    assert second.json()["outcome"]["value"] == 1
    assert (closed.status_code, closed.json()["error"]) == (410, "closed")
    assert closed.json()["outcome"]["status"] == "cancelled"
    assert answered.wait() == 1


def test_status_keeps_the_seed_shape(client: httpx.Client, app_store: LocalStore) -> None:
    event = ask(app_store, "count", int, prompt="How many?")

    pending = client.get(f"/status/{event.request_id}").json()
    event.answer(3)
    completed = client.get(f"/status/{event.request_id}").json()

    assert pending["status"] == "pending"
    assert pending["response"] is None
    assert pending["request"]["prompt"] == "How many?"
    assert set(pending["request"]) == EVENT_KEYS
    assert completed["request_id"] == event.request_id
    assert completed["status"] == "completed"
    assert completed["response"]["value"] == 3


def test_status_of_an_unknown_event_is_404(client: httpx.Client, app_store: LocalStore) -> None:
    response = client.get(f"/status/{event_id('run', 'nope', 'nope')}")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_unknown_routes_and_methods_use_the_error_shape(
    client: httpx.Client, app_store: LocalStore
) -> None:
    unknown = client.get("/api/nothing")
    wrong_method = client.delete("/health")

    assert unknown.status_code == 404
    assert unknown.json() == {
        "error": "not_found",
        "message": "there is nothing at this address; see /docs",
    }
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"
    assert "DELETE" in wrong_method.json()["message"]


def test_docs_load_nothing_from_elsewhere(client: httpx.Client) -> None:
    # FastAPI's Swagger UI page loads its script and stylesheet from a CDN: blank offline.
    docs = client.get("/docs")
    assert docs.status_code == 200
    linked = re.findall(r'(?:src|href)="([^"]*)"', docs.text)
    assert linked
    assert [url for url in linked if "//" in url] == []
    assert "<script>" not in docs.text  # nothing inline, as the pages' policy requires
    assert "script-src 'self'" in docs.headers["content-security-policy"]


def test_docs_and_openapi_load_and_describe_the_api(
    client: httpx.Client, app_store: LocalStore
) -> None:
    docs = client.get("/docs")
    schema = client.get("/openapi.json").json()

    assert docs.status_code == 200
    assert "POST /api/events/{request_id}/answer" in docs.text
    assert 'id="schema-EventInfo"' in docs.text
    assert schema["info"]["title"] == "hitlkit"
    assert "65536 bytes" in schema["info"]["description"]
    assert {"/health", "/api/events", "/submit/json", "/status/{request_id}"} <= set(
        schema["paths"]
    )
    assert "/submit" not in schema["paths"]
    assert "EventInfo" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    answer = schema["paths"]["/api/events/{request_id}/answer"]["post"]["responses"]
    assert {"200", "404", "409", "410", "413", "422"} <= set(answer)
