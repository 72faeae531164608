"""hitlkit.testing: workflows with human steps run unattended."""

from __future__ import annotations

import asyncio

import hitlkit as hitl
from hitlkit import EventInfo, Store
from hitlkit.testing import Responder


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


def test_responder_reports_answers_that_do_not_fit(store: Store) -> None:
    with Responder({"n": "many"}, store=store) as responder:
        event = hitl.new_event("n", data_type=int, store=store, timeout_seconds=0.5, default=0)
        assert event.wait() == 0
    assert len(responder.errors) == 1
    assert isinstance(responder.errors[0], hitl.InvalidValueError)
