"""`Client(endpoint=...)` gives the same results and errors as a client on the store."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

import hitlkit as hitl
from hitlkit import Client, LocalStore, _listing


def test_list_get_answer_cancel_over_http(app_url: str, app_store: LocalStore) -> None:
    client = Client(endpoint=app_url, user="ana", via="cli")
    a = hitl.new_event("a", data_type=int, store=app_store, run_id="r1", serve=False)
    b = hitl.new_event("b", data_type=bool, store=app_store, run_id="r2", serve=False)

    assert [e.name for e in client.list_events()] == ["b", "a"]
    assert [e.name for e in client.list_events(run_id="r1")] == ["a"]
    info = client.get_event(a.request_id)
    assert (info.name, info.data_type, info.status) == ("a", "int", "pending")
    assert info.form_url == f"{app_url}/form/{a.request_id}"

    outcome = client.answer(a.request_id, "12", as_text=True)
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == (12, "ana", "cli")
    assert a.wait() == 12
    cancelled = client.cancel(b.request_id, reason="not now")
    assert (cancelled.status, cancelled.reason) == ("cancelled", "not now")
    assert {e.name: e.status for e in client.list_events("resolved")} == {
        "a": "answered",
        "b": "cancelled",
    }


def test_errors_over_http_are_the_same_exceptions(app_url: str, app_store: LocalStore) -> None:
    client = Client(endpoint=app_url)
    event = hitl.new_event("q", data_type=int, store=app_store, serve=False)

    with pytest.raises(hitl.InvalidValueError, match="expected an integer") as invalid:
        client.answer(event.request_id, "1.5")
    assert invalid.value.expected == "an integer"
    with pytest.raises(hitl.EventNotFoundError):
        client.get_event("0" * 24)
    with pytest.raises(hitl.EventNotFoundError):
        client.answer("../../etc/passwd", 1)

    first = client.answer(event.request_id, 1)
    with pytest.raises(hitl.AlreadyAnsweredError) as conflict:
        client.answer(event.request_id, 2)
    assert conflict.value.outcome == first

    late = hitl.new_event("late", data_type=int, store=app_store, serve=False, timeout_seconds=0.1)
    time.sleep(0.2)
    with pytest.raises(hitl.EventClosedError) as closed:
        client.answer(late.request_id, 3)
    assert closed.value.outcome.status == "timed_out"


def test_module_level_calls_and_async_twins_over_http(app_url: str, app_store: LocalStore) -> None:
    event = hitl.new_event("q", data_type=str, store=app_store, serve=False)
    answered = threading.Timer(0.1, hitl.answer, (event.request_id, ""), {"endpoint": app_url})
    answered.start()
    assert event.wait() == ""

    async def main() -> str:
        other = await hitl.new_event.aio("o", data_type=float, store=app_store, serve=False)
        await hitl.answer.aio(other.request_id, 0.5, endpoint=app_url)
        info = await hitl.get_event.aio(other.request_id, endpoint=app_url)
        return info.status

    assert asyncio.run(main()) == "answered"


def test_a_long_listing_over_http_is_read_a_page_at_a_time(
    app_url: str, app_store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5):
        hitl.new_event(f"e{i}", data_type=int, store=app_store, run_id="r", serve=False)
    hitl.new_event("mine", data_type=int, store=app_store, assignees=["ana"], serve=False)
    monkeypatch.setattr(_listing, "PAGE_SIZE", 2)  # pages of 2: six events take three
    client = Client(endpoint=app_url)

    listed = client.list_events()

    assert [e.name for e in listed] == ["mine", "e4", "e3", "e2", "e1", "e0"]
    assert [e.name for e in client.list_events(assignee="ana")] == ["mine"]
    body = httpx.get(f"{app_url}/api/events", params={"limit": 4, "run_id": "r"}).json()
    assert [e["name"] for e in body["events"]] == ["e4", "e3", "e2", "e1"]
    rest = httpx.get(
        f"{app_url}/api/events", params={"limit": 4, "run_id": "r", "cursor": body["next_cursor"]}
    ).json()
    assert ([e["name"] for e in rest["events"]], rest["next_cursor"]) == (["e0"], None)
