"""A retried answer is not told it lost, and the recorded outcome is the truth.

A client that answers, loses the reply and sends the same answer again gets 200 with
the recorded outcome and `already_recorded`; a different answer gets 409 naming the
winner. Over real HTTP on both lanes of `/submit/json` (the fast lane takes
`Content-Type: application/json`; another JSON media type, `application/…+json`, goes
through FastAPI's route), `/api/events/{id}/answer` and the form.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

import hitlkit
from hitlkit import CorruptRecordError, LocalStore
from hitlkit._records import event_key, outcome_key
from tests.forms import followed, form_fields


def ask(store: LocalStore, name: str, data_type: type[Any], **options: Any) -> hitlkit.Event[Any]:
    options.setdefault("run_id", "run-1")
    return hitlkit.new_event(name, data_type, store=store, serve=False, **options)


def submit_json(
    client: httpx.Client, lane: str, request_id: str, value: Any, key: str | None = None
) -> httpx.Response:
    """POST /submit/json through the fast lane or FastAPI's route."""
    headers = {"Idempotency-Key": key} if key else {}
    body = httpx.Request("POST", "/", json={"request_id": request_id, "value": value}).content
    headers["Content-Type"] = "application/json" if lane == "fast" else "application/x-hitl+json"
    return client.post("/submit/json", content=body, headers=headers)


LANES = ["fast", "fastapi"]


@pytest.mark.parametrize("lane", LANES)
def test_submit_json_sent_again_is_already_recorded(
    client: httpx.Client, app_store: LocalStore, lane: str
) -> None:
    event = ask(app_store, "count", int)

    first = submit_json(client, lane, event.request_id, 3)
    again = submit_json(client, lane, event.request_id, "3")  # the same validated value

    assert first.status_code == 200, first.text
    assert first.json()["already_recorded"] is False
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["already_recorded"] is True
    assert (body["status"], body["value"]) == ("submitted", 3)
    assert "already recorded" in body["message"]
    assert body["outcome"] == first.json()["outcome"]
    assert event.wait() == 3


@pytest.mark.parametrize("lane", LANES)
def test_submit_json_with_another_value_is_409_naming_the_winner(
    client: httpx.Client, app_store: LocalStore, lane: str
) -> None:
    event = ask(app_store, "count", int)
    client.post(f"/api/events/{event.request_id}/answer", json={"value": 3, "by": "ana"})

    other = submit_json(client, lane, event.request_id, 4)

    assert other.status_code == 409
    body = other.json()
    assert body["error"] == "already_answered"
    winner = body["outcome"]
    assert (winner["value"], winner["by"], winner["via"]) == (3, "ana", "api")
    assert winner["at"]
    assert "with 3 by ana via api" in body["message"]


@pytest.mark.parametrize("lane", LANES)
def test_one_idempotency_key_with_another_value_is_409(
    client: httpx.Client, app_store: LocalStore, lane: str
) -> None:
    event = ask(app_store, "count", int)

    first = submit_json(client, lane, event.request_id, 3, key="k-1")
    retried = submit_json(client, lane, event.request_id, 3, key="k-1")
    changed = submit_json(client, lane, event.request_id, 4, key="k-1")

    assert (first.status_code, retried.status_code) == (200, 200)
    assert retried.json()["already_recorded"] is True
    assert changed.status_code == 409
    assert changed.json()["outcome"]["value"] == 3


@pytest.mark.parametrize("lane", LANES)
def test_a_malformed_idempotency_key_is_an_invalid_request_on_both_lanes(
    client: httpx.Client, app_store: LocalStore, lane: str
) -> None:
    event = ask(app_store, "count", int)

    response = submit_json(client, lane, event.request_id, 3, key="k" * 256)

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert client.get(f"/api/events/{event.request_id}").json()["status"] == "pending"


def test_api_answer_sent_again_by_the_same_person_is_already_recorded(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "count", int)
    url = f"/api/events/{event.request_id}/answer"

    first = client.post(url, json={"value": 3, "by": "ana"})
    again = client.post(url, json={"value": 3, "by": "ana", "via": "cli"})
    by_another = client.post(url, json={"value": 3, "by": "bo"})

    assert first.status_code == 200
    assert again.status_code == 200
    assert again.json() == {
        "outcome": first.json()["outcome"],
        "already_recorded": True,
        "vote": None,  # no policy: an answer, not a vote
        "policy_state": None,
    }
    # The same value from someone else is their answer, and it was not recorded.
    assert by_another.status_code == 409
    assert by_another.json()["outcome"]["by"] == "ana"


def test_api_answer_with_the_same_key_is_already_recorded_whoever_claims_it(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "count", int)
    url = f"/api/events/{event.request_id}/answer"
    key = {"Idempotency-Key": "retry-me-7f3a"}

    first = client.post(url, json={"value": 3, "by": "ana"}, headers=key)
    again = client.post(url, json={"value": 3, "by": "someone"}, headers=key)

    assert again.status_code == 200
    assert again.json()["already_recorded"] is True
    outcome = first.json()["outcome"]
    assert outcome["idempotency_sha256"] is not None
    assert "retry-me-7f3a" not in (Path(app_store.root) / outcome_key(event.request_id)).read_text()


def test_a_retry_after_the_deadline_is_still_already_recorded(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "count", int, timeout_seconds=0.5)
    url = f"/api/events/{event.request_id}/answer"
    assert client.post(url, json={"value": 3, "by": "ana"}).status_code == 200
    time.sleep(0.6)

    again = client.post(url, json={"value": 3, "by": "ana"})

    assert again.status_code == 200
    assert again.json()["already_recorded"] is True


def test_the_form_posted_again_shows_the_answer_as_recorded(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "count", int)
    form = {**form_fields(client, f"/form/{event.request_id}"), "value": "3", "by": "ana"}

    first = client.post("/submit", data=form)
    again = followed(client, client.post("/submit", data=form))
    other = followed(client, client.post("/submit", data={**form, "value": "4"}))

    assert first.status_code == 303
    assert again.status_code == 200, again.text
    assert "Recorded: 3" in again.text
    assert "already been recorded" in again.text
    assert "Already answered" not in again.text
    assert other.status_code == 200
    assert "Already answered" in other.text


def test_a_set_sent_again_in_another_order_is_already_recorded(
    client: httpx.Client, app_store: LocalStore
) -> None:
    # A set has no order: ["canary", "dry-run"] and ["dry-run", "canary"] are one answer.
    event = ask(app_store, "flags", set[Literal["canary", "dry-run", "slow"]])
    url = f"/api/events/{event.request_id}/answer"

    first = client.post(url, json={"value": ["dry-run", "canary"], "by": "ana"})
    again = client.post(url, json={"value": ["canary", "dry-run"], "by": "ana"})

    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.json()["already_recorded"] is True
    assert first.json()["outcome"]["value"] == ["canary", "dry-run"]  # in the choices' order
    assert event.wait() == {"canary", "dry-run"}


def test_python_answer_twice_returns_the_recorded_outcome(app_store: LocalStore) -> None:
    event = ask(app_store, "count", int)

    first = event.answer(3)
    again = event.answer(3)
    through_the_store = hitlkit.answer(event.request_id, 3, store=app_store)

    assert again == first == through_the_store
    with pytest.raises(hitlkit.AlreadyAnsweredError) as other:
        event.answer(4)
    assert other.value.outcome == first


def test_http_client_answer_twice_returns_the_recorded_outcome(
    app_url: str, app_store: LocalStore
) -> None:
    event = ask(app_store, "count", int)
    client = hitlkit.Client(endpoint=app_url, user="ana")

    first = client.answer(event.request_id, 3)
    again = client.answer(event.request_id, 3)

    assert again == first
    assert first is not None
    assert first.idempotency_sha256 is not None  # the client sent a key
    with pytest.raises(hitlkit.AlreadyAnsweredError) as other:
        hitlkit.Client(endpoint=app_url, user="bo").answer(event.request_id, 3)
    assert (other.value.outcome.value, other.value.outcome.by) == (3, "ana")


# -- the recorded outcome wins over current arguments ---------------------------------------

_FIRST_RUN = """
import sys
import hitlkit
event = hitlkit.new_event(
    "count", int, run_id="run-1", store=sys.argv[1], serve=False, timeout_seconds=0.3
)
try:
    event.wait()
except hitlkit.EventTimeoutError:
    print("timed out")
"""


def test_a_recorded_timeout_replays_as_a_timeout_whatever_the_default_now(
    app_store: LocalStore,
) -> None:
    first_run = subprocess.run(
        [sys.executable, "-c", _FIRST_RUN, str(app_store.root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first_run.stdout == "timed out\n", first_run.stderr

    restarted = ask(app_store, "count", int, timeout_seconds=0.3, default=7)

    with pytest.raises(hitlkit.EventTimeoutError):
        restarted.wait()
    outcome = restarted.outcome()
    assert outcome is not None
    assert (outcome.status, outcome.value) == ("timed_out", None)


def test_a_default_given_only_after_a_restart_is_not_recorded(
    app_store: LocalStore, caplog: pytest.LogCaptureFixture
) -> None:
    ask(app_store, "count", int, timeout_seconds=0.3)  # the first run, gone before its deadline
    time.sleep(0.4)

    with caplog.at_level(logging.WARNING, logger="hitlkit"):
        restarted = ask(app_store, "count", int, timeout_seconds=0.3, default=7)

    with pytest.raises(hitlkit.EventTimeoutError):
        restarted.wait()
    assert "was created with no default" in caplog.text


def test_a_recorded_default_replays_as_recorded(app_store: LocalStore) -> None:
    assert ask(app_store, "count", int, timeout_seconds=0.3, default=5).wait() == 5

    assert ask(app_store, "count", int, timeout_seconds=0.3, default=9).wait() == 5


# -- a record under another event's key ------------------------------------------------------


def test_an_outcome_copied_under_another_events_key_is_corrupt(
    client: httpx.Client, app_store: LocalStore
) -> None:
    answered = ask(app_store, "answered", int)
    other = ask(app_store, "other", int)
    answered.answer(3)
    root = Path(app_store.root)
    copied = root / outcome_key(other.request_id)
    copied.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / outcome_key(answered.request_id), copied)

    with pytest.raises(CorruptRecordError) as raised:
        other.wait()
    response = client.get(f"/api/events/{other.request_id}")
    answer = client.post(f"/api/events/{other.request_id}/answer", json={"value": 3})

    assert raised.value.key == outcome_key(other.request_id)
    assert answered.request_id in raised.value.reason
    assert outcome_key(other.request_id) in str(raised.value)
    for bad in (response, answer):
        assert bad.status_code == 500
        assert bad.json()["error"] == "corrupt_record"
        assert bad.json()["key"] == outcome_key(other.request_id)
        assert str(root) not in bad.text
    assert answered.wait() == 3


def test_an_event_record_copied_under_another_key_is_corrupt(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "count", int)
    elsewhere = "0123abcd" + "f" * 16
    root = Path(app_store.root)
    copied = root / event_key(elsewhere)
    copied.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / event_key(event.request_id), copied)

    with pytest.raises(CorruptRecordError) as raised:
        hitlkit.get_event(elsewhere, store=app_store)
    page = client.get(f"/api/events/{elsewhere}")

    assert raised.value.key == event_key(elsewhere)
    assert event.request_id in raised.value.reason
    assert (page.status_code, page.json()["error"]) == (500, "corrupt_record")
    assert page.json()["key"] == event_key(elsewhere)
