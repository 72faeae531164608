"""The answer's type flows through `new_event`, `Event.create` and `.aio` (checked by mypy)."""

from __future__ import annotations

import asyncio

from typing_extensions import assert_type

import hitlkit as hitl
from hitlkit import Event, Outcome, Store


def test_types_flow_through_sync_and_async_calls(store: Store) -> None:
    number = hitl.new_event("n", data_type=int, store=store)
    assert_type(number, Event[int])
    number.answer(3)
    assert assert_type(number.wait(), int) == 3

    flag = Event.create("f", data_type=bool, store=store)
    assert_type(flag, Event[bool])
    assert_type(flag.answer(True), Outcome | None)
    assert assert_type(flag.wait(), bool) is True

    async def main() -> float:
        ratio = await hitl.new_event.aio("r", data_type=float, store=store)
        assert_type(ratio, Event[float])
        await ratio.answer.aio(0.5)
        text = await Event.create.aio("t", data_type=str, store=store)
        assert_type(text, Event[str])
        return assert_type(await ratio.wait.aio(), float)

    assert asyncio.run(main()) == 0.5
