"""hitlkit.testing: workflows with human steps run unattended."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

import hitlkit as hitl
from hitlkit import EventInfo, Store
from hitlkit.testing import CountingStore, MemoryStore, Responder
from tests.servers import free_ports


def workflow(store: Store) -> int:
    x = 10
    y = hitl.new_event("add_to_x", data_type=int, store=store).wait()
    if hitl.new_event("double", data_type=bool, store=store).wait():
        return (x + y) * 2
    return x + y


def test_responder_answers_by_name(store: Store) -> None:
    with Responder({"add_to_x": 5, "double": True}, store=store) as responder:
        assert workflow(store) == 30
    assert responder.answered == {"add_to_x": 5, "double": True}
    assert responder.errors == []
    outcome = hitl.new_event("double", data_type=bool, store=store).outcome()
    assert outcome is not None
    assert outcome.by == "hitlkit.testing"


def test_responder_takes_functions_and_leaves_others_alone(store: Store) -> None:
    def from_prompt(info: EventInfo) -> str:
        return info.prompt.upper()

    async def main() -> str:
        other = await hitl.new_event.aio("other", data_type=int, store=store)
        async with Responder({"shout": from_prompt}, store=store) as responder:
            event = await hitl.new_event.aio("shout", data_type=str, store=store, prompt="hi")
            value = await event.wait.aio()
        assert responder.unmatched == ["other"]
        assert await other.outcome.aio() is None
        return value

    assert asyncio.run(main()) == "HI"


def test_a_scripted_answer_that_does_not_fit_fails_the_workflow_at_once(store: Store) -> None:
    started = time.monotonic()
    with Responder({"n": "many"}, store=store) as responder:
        event = hitl.new_event("n", data_type=int, store=store, timeout_seconds=60, default=0)
        with pytest.raises(hitl.EventCancelledError, match="expected an integer, got 'many'"):
            event.wait()
    assert time.monotonic() - started < 30  # not the deadline
    assert len(responder.errors) == 1
    assert isinstance(responder.errors[0], hitl.InvalidValueError)
    assert responder.answered == {}


def test_counting_store_counts_calls_and_passes_them_on(store: Store) -> None:
    counting = CountingStore(store)
    heard: list[str] = []
    counting.add_listener(heard.append)
    assert counting.put_if_absent("k/1", b"x") is True
    assert counting.get("k/1") == b"x"
    assert counting.list("k/") == ["k/1"]
    assert asyncio.run(counting.get_async("k/2")) is None
    store.put_if_absent("k/2", b"written around the counter")
    assert heard == ["k/1", "k/2"]
    assert counting.counts == {"put_if_absent": 1, "get": 1, "list": 1, "get_async": 1}
    counting.reset()
    assert counting.counts == {}
    assert counting.url == store.url


def test_an_in_memory_store_starts_no_web_app(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing outside this process can reach the store: the app is not started unasked.
    port = free_ports(1)[0]
    monkeypatch.setenv("HITL_AUTOSTART", "1")
    monkeypatch.setenv("HITL_ENDPOINT", f"http://127.0.0.1:{port}")
    store = MemoryStore()
    event = hitl.new_event("quiet", data_type=int, store=store)

    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens there
    with Responder({"quiet": 3}, store=store):
        assert event.wait() == 3
