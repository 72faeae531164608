"""Events: identity, exactly-once outcomes, deadlines, waking up, sync and async."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import hitlkit as hitl
from hitlkit import Store
from hitlkit._sync import background_loop
from hitlkit._watch import watcher_for


def later(seconds: float, fn: Any, *args: Any, **kwargs: Any) -> threading.Timer:
    timer = threading.Timer(seconds, fn, args, kwargs)
    timer.start()
    return timer


def test_seed_surface_and_defaults(store: Store) -> None:
    event = hitl.new_event("add_to_x", data_type=int, store=store, run_id="r")
    assert event.name == "add_to_x"
    assert event.scope == "run"
    assert event.data_type is int
    assert event.prompt == "Please provide a value"
    assert event.timeout_seconds == 3600
    assert event.poll_interval_seconds == 5
    assert event.endpoint == "http://127.0.0.1:8080"
    assert event.form_url == f"http://127.0.0.1:8080/form/{event.request_id}"
    assert event.api_url == "http://127.0.0.1:8080/submit/json"
    assert len(event.request_id) == 24
    assert event.run_id == "r"
    assert "add_to_x" in repr(event)


def test_endpoint_comes_from_the_environment(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HITL_ENDPOINT", "https://hitl.example.org/")
    event = hitl.new_event("n", data_type=str, store=store)
    assert event.form_url.startswith("https://hitl.example.org/form/")


def test_identity_is_deterministic(store: Store) -> None:
    a = hitl.new_event("q", data_type=int, store=store, run_id="run-1")
    again = hitl.Event.create("q", data_type=int, store=store, run_id="run-1")
    other_name = hitl.new_event("q2", data_type=int, store=store, run_id="run-1")
    other_run = hitl.new_event("q", data_type=int, store=store, run_id="run-2")
    assert again.request_id == a.request_id
    assert other_name.request_id != a.request_id
    assert other_run.request_id != a.request_id
    # Events of one run share the first 8 digits, which group them in the store.
    assert other_name.request_id[:8] == a.request_id[:8] != other_run.request_id[:8]


def test_run_id_from_environment_else_one_per_process(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = hitl.new_event("q", data_type=int, store=store)
    assert first.run_id.startswith("local-")
    assert hitl.new_event("q", data_type=int, store=store).request_id == first.request_id
    monkeypatch.setenv("HITL_RUN_ID", "from-env")
    assert hitl.new_event("q", data_type=int, store=store).run_id == "from-env"


def test_recreating_with_another_type_is_a_clear_error(store: Store) -> None:
    hitl.new_event("q", data_type=int, store=store, run_id="r")
    with pytest.raises(hitl.EventConflictError, match="exists with data_type int, not str"):
        hitl.new_event("q", data_type=str, store=store, run_id="r")


def test_answer_given_before_wait_is_returned_at_once(store: Store) -> None:
    event = hitl.new_event("q", data_type=int, store=store, run_id="r")
    hitl.answer(event.request_id, 7, store=store)
    again = hitl.new_event("q", data_type=int, store=store, run_id="r")
    assert again.wait() == 7


def test_answer_from_another_thread_wakes_wait(store: Store) -> None:
    event = hitl.new_event("q", data_type=float, store=store, run_id="r", timeout_seconds=30)
    later(0.1, hitl.answer, event.request_id, "2.5", store=store)
    assert event.wait() == 2.5


def test_first_answer_wins(store: Store) -> None:
    event = hitl.new_event("q", data_type=str, store=store, run_id="r")
    first = event.answer("first")
    with pytest.raises(hitl.AlreadyAnsweredError) as info:
        event.answer("second")
    assert info.value.outcome == first
    assert event.wait() == "first"
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.status, outcome.value, outcome.by, outcome.via) == (
        "answered",
        "first",
        "tester",
        "python",
    )


def test_concurrent_answers_have_one_winner(store: Store) -> None:
    event = hitl.new_event("q", data_type=int, store=store, run_id="r")
    results: list[str] = []
    barrier = threading.Barrier(8)

    def answer(i: int) -> None:
        barrier.wait()
        try:
            hitl.answer(event.request_id, i, store=store)
            results.append("ok")
        except hitl.AlreadyAnsweredError:
            results.append("conflict")

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict"] * 7 + ["ok"]
    outcome = event.outcome()
    assert outcome is not None
    assert event.wait() == outcome.value


def test_timeout_raises_a_builtin_timeout_error(store: Store) -> None:
    event = hitl.new_event("q", data_type=int, store=store, run_id="r", timeout_seconds=0.2)
    with pytest.raises(TimeoutError, match=r"got no answer within 0\.2 seconds") as info:
        event.wait()
    assert isinstance(info.value, hitl.EventTimeoutError)
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.status, outcome.via) == ("timed_out", "timeout")
    with pytest.raises(hitl.EventClosedError, match="timed out"):
        event.answer(1)


def test_default_is_returned_and_recorded_at_the_deadline(store: Store) -> None:
    event = hitl.new_event(
        "q", data_type=bool, store=store, run_id="r", timeout_seconds=0.2, default=False
    )
    assert event.wait() is False
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.status, outcome.value) == ("defaulted", False)


def test_an_empty_default_is_a_default(store: Store) -> None:
    event = hitl.new_event(
        "q", data_type=str, store=store, run_id="r", timeout_seconds=0.1, default=""
    )
    assert event.wait() == ""


def test_default_must_fit_the_type(store: Store) -> None:
    with pytest.raises(hitl.InvalidValueError):
        hitl.new_event("q", data_type=int, store=store, default="many")


def test_the_deadline_survives_recreation(store: Store) -> None:
    hitl.new_event("q", data_type=int, store=store, run_id="r", timeout_seconds=0.2)
    time.sleep(0.3)
    again = hitl.new_event("q", data_type=int, store=store, run_id="r", timeout_seconds=3600)
    assert again.timeout_seconds == 0.2
    with pytest.raises(hitl.EventTimeoutError):
        again.wait()


def test_cancel_ends_the_wait(store: Store) -> None:
    event = hitl.new_event("q", data_type=int, store=store, run_id="r")
    later(0.1, lambda: hitl.cancel(event.request_id, reason="not needed", store=store))
    with pytest.raises(hitl.EventCancelledError, match="not needed"):
        event.wait()
    with pytest.raises(hitl.EventClosedError, match="cancelled"):
        event.answer(3)
    with pytest.raises(hitl.EventClosedError):
        event.cancel()


def test_async_api(store: Store) -> None:
    async def main() -> bool:
        event = await hitl.new_event.aio("ok", data_type=bool, store=store, prompt="Deploy?")
        asyncio.get_running_loop().call_later(0.05, lambda: event.answer(True))
        return await event.wait.aio()

    assert asyncio.run(main()) is True


def test_event_create_aio(store: Store) -> None:
    async def main() -> str:
        event = await hitl.Event.create.aio("s", data_type=str, store=store)
        await event.answer.aio("")
        outcome = await event.outcome.aio()
        assert outcome is not None
        return await event.wait.aio()

    assert asyncio.run(main()) == ""


def test_sync_calls_work_inside_a_running_loop(store: Store) -> None:
    # A notebook cell or a sync function called from async code.
    async def main() -> int:
        event = hitl.new_event("q", data_type=int, store=store)
        later(0.1, event.answer, 11)
        return event.wait()

    assert asyncio.run(main()) == 11


def test_many_waiters_in_one_loop(store: Store) -> None:
    async def main() -> list[int]:
        events = [await hitl.new_event.aio(f"q{i}", data_type=int, store=store) for i in range(50)]
        waits = [asyncio.ensure_future(e.wait.aio()) for e in events]
        await asyncio.sleep(0.05)
        for i, e in enumerate(events):
            await e.answer.aio(i * 10)
        return list(await asyncio.gather(*waits))

    assert asyncio.run(main()) == [i * 10 for i in range(50)]


def test_a_blocking_call_from_hitlkits_own_loop_is_refused(store: Store) -> None:
    event = hitl.new_event("q", data_type=int, store=store)

    async def inside() -> None:
        event.outcome()

    future = asyncio.run_coroutine_threadsafe(inside(), background_loop())
    with pytest.raises(hitl.HitlError, match=r"use the \.aio\(\) form"):
        future.result(timeout=5)


def test_a_blocking_wait_from_hitlkits_own_loop_is_refused_and_leaves_no_waiter(
    store: Store,
) -> None:
    event = hitl.new_event("q", data_type=int, store=store)

    async def inside() -> int:
        return event.wait()

    future = asyncio.run_coroutine_threadsafe(inside(), background_loop())
    with pytest.raises(hitl.HitlError, match=r"use the \.aio\(\) form"):
        future.result(timeout=5)
    assert watcher_for(store).subscriber_count() == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": ""}, "name must be non-empty"),
        ({"name": "x" * 201}, "at most 200"),
        ({"scope": "task"}, 'scope must be "run"'),
        ({"timeout_seconds": 0}, "timeout_seconds must be a positive number"),
        ({"timeout_seconds": float("inf")}, "timeout_seconds must be finite"),
        ({"timeout_seconds": 1e300}, "timeout_seconds must be at most 316224000 seconds"),
        ({"poll_interval_seconds": 1e12}, "poll_interval_seconds must be at most"),
        ({"poll_interval_seconds": -1}, "poll_interval_seconds must be a positive"),
        ({"prompt": None}, "prompt must be text"),
    ],
)
def test_bad_options_are_refused(store: Store, options: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"name": "q", "data_type": int, "store": store, **options}
    with pytest.raises(ValueError, match=message):
        hitl.new_event(**arguments)
    assert store.list() == []


def test_unsupported_data_type_is_refused_at_creation(store: Store) -> None:
    with pytest.raises(
        hitl.UnsupportedTypeError,
        match=r"data_type dict is not supported.*supported: int, float, str, bool",
    ):
        hitl.new_event("q", data_type=dict, store=store)
    assert store.list() == []


def test_local_store_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HITL_STORE")
    monkeypatch.chdir(tmp_path)
    event = hitl.new_event("q", data_type=int)
    assert isinstance(event.store, hitl.LocalStore)
    assert event.store.root == tmp_path / ".hitl"
    assert (tmp_path / ".hitl" / "events").is_dir()


def test_polling_where_the_store_cannot_notify(tmp_path: Path) -> None:
    waiting = hitl.LocalStore(tmp_path / "s", notify=False)
    answering = hitl.LocalStore(tmp_path / "s", notify=False)
    event = hitl.new_event("q", data_type=int, store=waiting, poll_interval_seconds=0.05)
    later(0.1, hitl.answer, event.request_id, 5, store=answering)
    assert event.wait() == 5


def test_waiters_share_one_watcher(store: Store) -> None:
    from hitlkit._watch import watcher_for

    events = [hitl.new_event(f"q{i}", data_type=int, store=store, run_id="r") for i in range(20)]
    results: dict[int, int] = {}
    threads = [
        threading.Thread(target=lambda i=i, e=e: results.__setitem__(i, e.wait()))
        for i, e in enumerate(events)
    ]
    for t in threads:
        t.start()
    watcher = watcher_for(store)
    deadline = time.monotonic() + 5
    while watcher.subscriber_count() < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert watcher.subscriber_count() == 20
    assert len(watcher._tasks) == 1  # one task for the run's prefix, not one per waiter
    for i, e in enumerate(events):
        e.answer(i)
    for t in threads:
        t.join(10)
    assert results == {i: i for i in range(20)}
    assert watcher.subscriber_count() == 0
