"""`HitlTrigger` alone, as Airflow's triggerer runs it: serialized to JSON, recreated
after a restart, and resumed on the same event."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from airflow._shared.module_loading import import_string  # what the triggerer uses
from airflow.sdk.serde import deserialize, serialize
from airflow.triggers.base import BaseTrigger, TriggerEvent

import hitlkit
from hitlkit.contrib.airflow import HitlTrigger


def stored_and_recreated(trigger: BaseTrigger) -> BaseTrigger:
    """What a restarted triggerer does: the (classpath, kwargs) row, through JSON, back
    into a trigger."""
    classpath, kwargs = trigger.serialize()
    row = json.loads(json.dumps({"classpath": classpath, "kwargs": serialize(kwargs)}))
    kwargs_again = deserialize(row["kwargs"])
    assert isinstance(kwargs_again, dict)
    recreated: BaseTrigger = import_string(row["classpath"])(**kwargs_again)
    return recreated


async def first_event(trigger: BaseTrigger) -> TriggerEvent:
    async for event in trigger.run():
        return event
    raise AssertionError("the trigger ended without an event")


def test_a_trigger_recreated_after_a_restart_waits_on_the_same_event(tmp_path: Path) -> None:
    store = tmp_path / "shared-store"
    event = hitlkit.new_event("approve", bool, run_id="airflow:d:r", store=str(store), serve=False)
    trigger = HitlTrigger(event.request_id, event.store.url, event.endpoint)

    async def scenario() -> tuple[bool, dict[str, Any]]:
        before = asyncio.create_task(first_event(trigger))
        await asyncio.sleep(0.3)  # it is waiting now
        was_waiting = not before.done()
        before.cancel()  # the triggerer goes down
        with pytest.raises(asyncio.CancelledError):
            await before
        after = asyncio.create_task(first_event(stored_and_recreated(trigger)))
        await hitlkit.answer.aio(event.request_id, True, store=str(store))
        fired = await asyncio.wait_for(after, timeout=60)
        return was_waiting, fired.payload

    was_waiting, payload = asyncio.run(scenario())
    assert was_waiting
    assert payload == {"request_id": event.request_id, "status": "answered"}
    assert event.wait() is True


def test_the_trigger_fires_at_the_events_deadline(tmp_path: Path) -> None:
    event = hitlkit.new_event("late", int, timeout_seconds=0.3, store=str(tmp_path), serve=False)
    trigger = stored_and_recreated(HitlTrigger(event.request_id, event.store.url, event.endpoint))
    fired = asyncio.run(asyncio.wait_for(first_event(trigger), timeout=60))
    assert fired.payload == {"request_id": event.request_id, "status": "timed_out"}


def test_the_triggers_form_is_plain_json_with_the_public_classpath(tmp_path: Path) -> None:
    trigger = HitlTrigger("0" * 24, (tmp_path / "s").as_uri(), "http://127.0.0.1:8080")
    classpath, kwargs = trigger.serialize()
    assert classpath == "hitlkit.contrib.airflow.HitlTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    with pytest.raises(TypeError, match="HitlTrigger's store must be non-empty text"):
        HitlTrigger("0" * 24, None, "http://x")  # type: ignore[arg-type]
