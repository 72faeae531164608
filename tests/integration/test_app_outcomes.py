"""First answer wins over HTTP: concurrent answers, deadlines and cancels."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

import hitlkit
from hitlkit import LocalStore


def ask(store: LocalStore, name: str, data_type: type[Any], **options: Any) -> hitlkit.Event[Any]:
    options.setdefault("run_id", "run-1")
    return hitlkit.new_event(name, data_type, store=store, serve=False, **options)


def test_of_eight_concurrent_answers_exactly_one_wins(app_url: str, app_store: LocalStore) -> None:
    event = ask(app_store, "count", int)
    start = threading.Barrier(8)

    def answer(n: int) -> httpx.Response:
        with httpx.Client(base_url=app_url, timeout=10, trust_env=False) as http:
            start.wait()
            return http.post(
                f"/api/events/{event.request_id}/answer", json={"value": n, "by": f"user{n}"}
            )

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(answer, range(8)))

    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 7
    winner = next(r.json()["outcome"] for r in responses if r.status_code == 200)
    for loser in (r.json() for r in responses if r.status_code == 409):
        assert loser["error"] == "already_answered"
        assert loser["outcome"] == winner
    assert event.wait() == winner["value"]


def test_answer_after_the_deadline_is_410_with_the_timeout(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "count", int, timeout_seconds=0.2)
    time.sleep(0.3)

    response = client.post(f"/api/events/{event.request_id}/answer", json={"value": 1})

    assert response.status_code == 410
    body = response.json()
    assert body["error"] == "closed"
    assert "timed out" in body["message"]
    assert body["outcome"]["status"] == "timed_out"
    assert client.get(f"/status/{event.request_id}").json()["status"] == "timed_out"
    with pytest.raises(hitlkit.EventTimeoutError):
        event.wait()


def test_an_expired_event_shows_as_expired_until_someone_records_it(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "count", int, timeout_seconds=0.2, default=5)
    time.sleep(0.3)

    view = client.get(f"/api/events/{event.request_id}").json()
    pending = client.get("/api/events").json()["events"]
    late = client.post(f"/api/events/{event.request_id}/answer", json={"value": 1})

    assert (view["status"], view["outcome"]) == ("expired", None)
    assert pending == []
    assert late.status_code == 410
    assert (late.json()["outcome"]["status"], late.json()["outcome"]["value"]) == ("defaulted", 5)


def test_cancel_then_answer_is_410_with_the_cancel(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "deploy", bool)
    client.post(f"/api/events/{event.request_id}/cancel", json={"reason": "superseded"})

    response = client.post(f"/api/events/{event.request_id}/answer", json={"value": True})
    again = client.post(f"/api/events/{event.request_id}/cancel", json={})

    assert response.status_code == again.status_code == 410
    assert response.json()["error"] == "closed"
    assert response.json()["outcome"]["status"] == "cancelled"
    assert response.json()["outcome"]["reason"] == "superseded"


def test_answer_then_cancel_is_409_with_the_answer(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "deploy", bool)
    client.post(f"/api/events/{event.request_id}/answer", json={"value": False, "by": "ana"})

    response = client.post(f"/api/events/{event.request_id}/cancel", json={})

    assert response.status_code == 409
    assert response.json()["error"] == "already_answered"
    assert response.json()["outcome"]["by"] == "ana"
    assert response.json()["outcome"]["value"] is False
