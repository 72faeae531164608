"""`Runtime` owns hitlkit's background machinery: an isolated one stops all it started."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import hitlkit
from hitlkit import LocalStore
from hitlkit._runtime import Runtime, runtime
from tests.receivers import HookServer, wait_until


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def hitlkit_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("hitlkit-")}


@pytest.fixture
def hook() -> Iterator[HookServer]:
    server = HookServer()
    yield server
    server.close()


def test_an_isolated_runtime_stops_every_thread_it_started(
    tmp_path: Path, hook: HookServer
) -> None:
    before = hitlkit_threads()
    store = LocalStore(tmp_path / "store")
    endpoint = f"http://127.0.0.1:{free_port()}"
    with Runtime() as rt:
        assert runtime() is rt
        event = hitlkit.new_event(
            "q", data_type=int, store=store, endpoint=endpoint, serve=True, notify=[hook.url]
        )
        wait_until(lambda: len(hook.posts) == 1, "the notification")
        with httpx.Client(trust_env=False) as http:  # the app this runtime started answers
            assert http.get(f"{endpoint}/health").json()["app"] == "hitlkit"
        event.answer(4)
        assert event.wait() == 4
        started = {t.name for t in rt.threads()}
        assert {"hitlkit-loop", "hitlkit-app", "hitlkit-notify", "hitlkit-fsync"} <= started
    store.close()

    assert rt.threads() == []
    assert hitlkit_threads() <= before  # nothing of its own left running
    assert runtime() is not rt
    with pytest.raises(httpx.TransportError), httpx.Client(trust_env=False) as http:
        http.get(f"{endpoint}/health")


def test_a_wait_in_an_isolated_runtime_leaves_no_watch_behind(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    with Runtime() as rt:
        event = hitlkit.new_event("q", data_type=int, store=store, timeout_seconds=0.2)
        with pytest.raises(hitlkit.EventTimeoutError):
            event.wait()
        assert "hitlkit-watch" in {t.name for t in rt.threads()}
    store.close()
    assert rt.threads() == []


def test_shutdown_runs_hooks_newest_first_late_ones_last_despite_failures() -> None:
    ran: list[str] = []

    def failing() -> None:
        ran.append("failing")
        raise RuntimeError("cannot stop")

    with Runtime() as rt:
        rt.on_shutdown(lambda: ran.append("late"), late=True)
        rt.on_shutdown(lambda: ran.append("first"))
        rt.on_shutdown(failing)
    assert ran == ["failing", "first", "late"]


def test_threads_that_wait_on_stopping_end_with_the_runtime() -> None:
    rounds: list[int] = []

    def keep(owner: Runtime) -> None:
        while not owner.stopping.wait(0.01):
            rounds.append(1)

    with Runtime() as rt:
        thread = rt.start_thread(keep, rt, name="hitlkit-test")
        wait_until(lambda: len(rounds) > 2, "a few rounds")
    assert not thread.is_alive()


def test_state_is_the_runtimes_own() -> None:
    def make(owner: Runtime) -> list[str]:
        return []

    outer = runtime().get(make)
    with Runtime() as rt:
        inner = rt.get(make)
        assert runtime().get(make) is inner
        assert inner is not outer
        with Runtime() as nested:
            assert runtime() is nested
        assert runtime() is rt
    assert runtime().get(make) is outer
