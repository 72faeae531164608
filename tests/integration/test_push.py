"""Answers pushed by the app wake waiters on a bucket before their next poll.

Each store object below stands for another host: the waiter's, and those of
one or two app replicas, all on the same bucket prefix. The waiters poll every
30 seconds, so a wait that ends within a few seconds was woken by the app.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

import hitlkit as hitl
from hitlkit import Event, Store
from hitlkit._server import create_app
from hitlkit._store._object import ObjectStore
from hitlkit._tokens import create_token
from hitlkit._watch import watcher_for
from hitlkit.testing import CountingStore
from tests.integration.conftest import serve_in_thread
from tests.servers import free_ports

SLOW_POLL_SECONDS = 30.0
WITHIN_SECONDS = 10.0  # far below the poll interval; not a latency bound


@pytest.fixture
def open_bucket(s3_url: str) -> Iterator[Callable[[], ObjectStore]]:
    """Opens store objects on one fresh bucket prefix, as separate hosts would."""
    stores: list[ObjectStore] = []

    def open_one() -> ObjectStore:
        stores.append(ObjectStore(s3_url))
        return stores[-1]

    yield open_one
    for store in stores:
        store.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Store], str]]:
    """Serves the app over a store from a thread; returns its base URL."""
    servers = []

    def start(store: Store) -> str:
        server, thread, port = serve_in_thread(create_app(store))
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)


async def _eventually(check: Callable[[], bool], seconds: float = WITHIN_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.01)


async def _answer_through(
    app_url: str, event: Event[int], value: int, *, token: str | None = None
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(
        base_url=app_url, trust_env=False, timeout=10, headers=headers
    ) as http:
        response = await http.post(f"/api/events/{event.request_id}/answer", json={"value": value})
        response.raise_for_status()


async def _wait_and_answer(
    event: Event[int],
    waiter: CountingStore,
    app_store: Store,
    answer: Callable[[], Awaitable[None]],
) -> int:
    """Answer once the waiter has looked and the app streams to it; return what `wait` got."""
    waiter.reset()
    waiting = asyncio.ensure_future(event.wait.aio())
    try:
        await _eventually(
            lambda: (
                waiter.counts["get_async"] >= 1 and watcher_for(app_store).subscriber_count() == 1
            )
        )
        assert not waiting.done()
        await answer()
        return await asyncio.wait_for(waiting, WITHIN_SECONDS)
    finally:
        waiting.cancel()


def _waiting_event(store: Store, endpoint: str, poll: float = SLOW_POLL_SECONDS) -> Event[int]:
    return hitl.new_event(
        "q", data_type=int, store=store, endpoint=endpoint, serve=False, poll_interval_seconds=poll
    )


def test_an_answer_through_the_app_wakes_the_waiter_before_its_poll(
    open_bucket: Callable[[], ObjectStore], serve: Callable[[Store], str]
) -> None:
    app_store = open_bucket()
    app_url = serve(app_store)
    waiter = CountingStore(open_bucket())
    event = _waiting_event(waiter, app_url)

    async def main() -> int:
        value = await _wait_and_answer(
            event, waiter, app_store, lambda: _answer_through(app_url, event, 7)
        )
        # The waiter's stream closes with its wait: the app follows the run no longer.
        await _eventually(lambda: watcher_for(app_store).subscriber_count() == 0)
        return value

    assert asyncio.run(main()) == 7
    assert waiter.counts["list_async"] == 0  # no poll was needed


def test_an_answer_through_another_replica_wakes_the_waiter_before_its_poll(
    open_bucket: Callable[[], ObjectStore], serve: Callable[[Store], str]
) -> None:
    app_store = open_bucket()
    app_url = serve(app_store)
    other_url = serve(open_bucket())
    waiter = CountingStore(open_bucket())
    event = _waiting_event(waiter, app_url)

    value = asyncio.run(
        _wait_and_answer(event, waiter, app_store, lambda: _answer_through(other_url, event, 8))
    )

    assert value == 8
    assert waiter.counts["list_async"] == 0


@pytest.fixture
def serve_with_tokens(tmp_path: Path) -> Iterator[Callable[[Store], tuple[str, str]]]:
    """Serves the app over a store with a tokens file; returns its base URL and a token."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(store: Store) -> tuple[str, str]:
        tokens_file = tmp_path / f"tokens-{len(servers)}.json"
        token = create_token(tokens_file, "waiter")
        server, thread, port = serve_in_thread(create_app(store, tokens_file=tokens_file))
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}", token

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)


def test_a_waiter_with_hitl_token_is_woken_by_an_app_that_needs_one(
    open_bucket: Callable[[], ObjectStore],
    serve_with_tokens: Callable[[Store], tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app_store = open_bucket()
    app_url, token = serve_with_tokens(app_store)
    monkeypatch.setenv("HITL_TOKEN", token)
    waiter = CountingStore(open_bucket())
    event = _waiting_event(waiter, app_url)

    value = asyncio.run(
        _wait_and_answer(
            event, waiter, app_store, lambda: _answer_through(app_url, event, 6, token=token)
        )
    )

    assert value == 6
    assert waiter.counts["list_async"] == 0  # woken by the stream, not by a poll


def test_a_waiter_without_a_token_polls_and_says_once_why(
    open_bucket: Callable[[], ObjectStore],
    serve_with_tokens: Callable[[Store], tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("HITL_TOKEN", raising=False)
    app_url, _ = serve_with_tokens(open_bucket())
    answerer = hitl.Client(store=open_bucket())

    def told() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "HITL_TOKEN" in r.getMessage()]

    async def main() -> list[int]:
        values: list[int] = []
        for run in ("run-a", "run-b"):
            event = hitl.new_event(
                "q",
                int,
                store=open_bucket(),
                endpoint=app_url,
                serve=False,
                run_id=run,
                poll_interval_seconds=0.2,
            )
            waiting = asyncio.ensure_future(event.wait.aio())
            await _eventually(lambda: bool(told()))  # refused: now only polling
            await asyncio.sleep(0.3)  # the second run's reader is refused (or never asks)
            await answerer.answer.aio(event.request_id, len(values) + 1)
            values.append(await asyncio.wait_for(waiting, WITHIN_SECONDS))
        return values

    with caplog.at_level(logging.WARNING, logger="hitlkit"):
        assert asyncio.run(main()) == [1, 2]

    (line,) = told()
    assert line.levelno == logging.WARNING
    assert app_url in line.getMessage()
    assert "polling" in line.getMessage()


def test_with_the_app_down_waiters_still_learn_the_answer_by_polling(
    open_bucket: Callable[[], ObjectStore],
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    event = _waiting_event(open_bucket(), f"http://127.0.0.1:{closed_port}", poll=0.2)

    async def main() -> int:
        waiting = asyncio.ensure_future(event.wait.aio())
        await hitl.Client(store=open_bucket()).answer.aio(event.request_id, 9)
        return await asyncio.wait_for(waiting, WITHIN_SECONDS)

    assert asyncio.run(main()) == 9


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "outcomes/",
        "outcomes/ABCDEF12/",
        "outcomes/abcdef1/",
        "outcomes/abcdef12",
        "events/abcdef12/",
    ],
)
def test_changes_of_anything_but_a_run_prefix_are_refused(
    client: httpx.Client, prefix: str
) -> None:
    response = client.get("/api/changes", params={"prefix": prefix})

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert "prefix" in response.json()["message"]


def test_the_stream_reports_answers_and_ends_when_the_client_leaves(
    client: httpx.Client, app_store: Store
) -> None:
    event = hitl.new_event("q", data_type=int, store=app_store, serve=False)
    prefix = f"outcomes/{event.request_id[:8]}/"

    with client.stream("GET", "/api/changes", params={"prefix": prefix}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert [next(lines) for _ in range(3)] == [": following answers", "retry: 2000", ""]
        assert watcher_for(app_store).subscriber_count() == 1
        client.post(f"/api/events/{event.request_id}/answer", json={"value": 1})
        outcome = event.outcome()
        assert outcome is not None
        assert [next(lines) for _ in range(3)] == [
            "event: outcome",
            f"id: {outcome.at.isoformat().replace('+00:00', 'Z')}",
            f"data: {event.request_id}",
        ]

    asyncio.run(_eventually(lambda: watcher_for(app_store).subscriber_count() == 0))


def test_the_stream_is_described_in_the_openapi_schema(client: httpx.Client) -> None:
    route = client.get("/openapi.json").json()["paths"]["/api/changes"]["get"]

    assert route["tags"] == ["events"]
    assert "text/event-stream" in route["responses"]["200"]["content"]
    assert "422" in route["responses"]


_WAIT_AND_EXIT = """
import threading, time
import hitlkit as hitl

event = hitl.new_event("q", int, run_id="exits", poll_interval_seconds=1)
def answer() -> None:
    time.sleep(0.5)  # once the app's stream to the waiter is open
    hitl.answer(event.request_id, 5, store=hitl.open_store(event.store.url))
threading.Thread(target=answer).start()
print(event.wait())
"""


def test_a_program_on_a_bucket_that_started_the_app_exits_quietly(
    s3_url: str, tmp_path: Path
) -> None:
    # The app it started streams answers to its own waiter; stopping at exit must end
    # that stream, not cut it off with an error in the log.
    (port,) = free_ports(1)
    env = {
        **os.environ,
        "HITL_STORE": s3_url,
        "HITL_ENDPOINT": f"http://127.0.0.1:{port}",
        "HITL_AUTOSTART": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", _WAIT_AND_EXIT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "5\n", "")
