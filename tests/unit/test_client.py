"""Answering from code through a store: the same functions the CLI and the app use."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import hitlkit as hitl
from hitlkit import Client, Store


def test_list_get_answer_cancel(store: Store) -> None:
    client = Client(store=store, user="ana")
    a = hitl.new_event("a", data_type=int, store=store, run_id="r1", prompt="How many?")
    b = hitl.new_event("b", data_type=bool, store=store, run_id="r1")
    c = hitl.new_event("c", data_type=str, store=store, run_id="r2")

    pending = client.list_events()
    assert [e.name for e in pending] == ["c", "b", "a"]  # newest first
    assert {e.status for e in pending} == {"pending"}
    assert [e.name for e in client.list_events(run_id="r1")] == ["b", "a"]
    assert [e.name for e in client.list_events(name="c")] == ["c"]

    info = client.get_event(a.request_id)
    assert (info.name, info.prompt, info.data_type, info.run_id) == ("a", "How many?", "int", "r1")
    assert info.json_schema == {"type": "integer"}

    outcome = client.answer(a.request_id, "12", as_text=True)
    assert outcome is not None
    assert (outcome.value, outcome.by, outcome.via) == (12, "ana", "python")
    client.cancel(b.request_id, reason="changed plans")

    assert [e.name for e in client.list_events()] == ["c"]
    resolved = {e.name: e for e in client.list_events("resolved")}
    assert resolved["a"].status == "answered"
    assert resolved["b"].status == "cancelled"
    assert resolved["b"].outcome is not None
    assert resolved["b"].outcome.reason == "changed plans"
    assert len(client.list_events("all")) == 3
    assert c.wait.__name__ == "wait"


def test_expired_events_are_not_pending(store: Store) -> None:
    import time

    event = hitl.new_event("late", data_type=int, store=store, timeout_seconds=0.05)
    time.sleep(0.1)
    client = Client(store=store)
    assert client.list_events() == []
    assert client.get_event(event.request_id).status == "expired"
    with pytest.raises(hitl.EventClosedError):
        client.answer(event.request_id, 1)
    assert client.get_event(event.request_id).status == "timed_out"


@pytest.mark.parametrize(
    ("data_type", "bad"), [(int, "1.5"), (int, ""), (bool, "maybe"), (float, "nan")]
)
def test_a_bad_answer_loses_nothing(store: Store, data_type: type[Any], bad: str) -> None:
    event = hitl.new_event("q", data_type=data_type, store=store)
    with pytest.raises(hitl.InvalidValueError, match="expected"):
        hitl.answer(event.request_id, bad, store=store)
    assert hitl.get_event(event.request_id, store=store).status == "pending"


@pytest.mark.parametrize("request_id", ["", "nope", "../../etc/passwd", "a" * 24, "A" * 24])
def test_unknown_ids(store: Store, request_id: str) -> None:
    with pytest.raises(hitl.EventNotFoundError):
        hitl.get_event(request_id, store=store)
    with pytest.raises(hitl.EventNotFoundError):
        hitl.answer(request_id, 1, store=store)
    with pytest.raises(hitl.EventNotFoundError):
        hitl.cancel(request_id, store=store)


def test_async_twins(store: Store) -> None:
    async def main() -> list[str]:
        event = await hitl.new_event.aio("q", data_type=int, store=store)
        await hitl.answer.aio(event.request_id, 4, store=store)
        info = await hitl.get_event.aio(event.request_id, store=store)
        assert info.status == "answered"
        events = await hitl.list_events.aio("all", store=store)
        return [e.name for e in events]

    assert asyncio.run(main()) == ["q"]


def test_store_and_endpoint_are_exclusive(store: Store) -> None:
    with pytest.raises(ValueError, match="not both"):
        Client(store=store, endpoint="http://127.0.0.1:1")


def test_a_transport_that_is_not_async_is_refused_at_once() -> None:
    import httpx

    for transport in (httpx.HTTPTransport(), "http://127.0.0.1:1"):
        with pytest.raises(
            TypeError, match=r"an async httpx transport, such as httpx\.ASGITransport"
        ):
            Client(endpoint="http://127.0.0.1:1", transport=transport)  # type: ignore[arg-type]


def test_an_unreachable_endpoint_is_a_transport_error() -> None:
    client = Client(endpoint="http://127.0.0.1:9", timeout=2)
    with pytest.raises(hitl.TransportError, match="could not reach"):
        client.list_events()


def test_expired_events_count_as_resolved(store: Store) -> None:
    import time

    hitl.new_event("late", data_type=int, store=store, timeout_seconds=0.05)
    open_event = hitl.new_event("open", data_type=int, store=store)
    time.sleep(0.1)
    client = Client(store=store)
    assert [e.name for e in client.list_events("resolved")] == ["late"]
    assert [e.name for e in client.list_events()] == [open_event.name]
