"""Clients slow on purpose, and too many at once: closed, and 503 beyond the limit.

Raw sockets against a real server with small limits. A bound of a few seconds on
how long a close takes only tells "closed by the app" from "never closed".
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from hitlkit import LocalStore
from hitlkit._server import create_app
from hitlkit._server._uvicorn import ConnectionLimits
from tests.integration.conftest import serve_in_thread

FAST = ConnectionLimits(headers_seconds=0.5, body_seconds=0.5, idle_seconds=1, concurrency=100)
NEVER_CLOSED = 8.0  # seconds: far beyond every limit above


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    assert parts.port is not None
    return socket.create_connection((parts.hostname, parts.port), timeout=NEVER_CLOSED)


def serve(app: Any, **options: Any) -> Iterator[str]:
    server, thread, port = serve_in_thread(app, **options)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    the_store = LocalStore(tmp_path / "store")
    yield the_store
    the_store.close()


@pytest.fixture
def fast_app(store: LocalStore) -> Iterator[str]:
    """An app that gives requests half a second for their head and body."""
    yield from serve(create_app(store), limits=FAST)


def read_until_closed(sock: socket.socket, trickle: bytes = b"") -> bytes:
    """What the server sends until it closes; `trickle` is sent every tenth of a second."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + NEVER_CLOSED
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if trickle:
                with contextlib.suppress(OSError):  # closed by the server meanwhile
                    sock.sendall(trickle)
            continue
        except ConnectionResetError:
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
    pytest.fail(f"the app kept the connection open for {NEVER_CLOSED} s")


HEALTH = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def test_a_connection_that_sends_nothing_is_closed(fast_app: str) -> None:
    with connect(fast_app) as sock:
        assert read_until_closed(sock) == b""


def test_headers_sent_a_byte_at_a_time_are_cut_off_with_408(fast_app: str) -> None:
    with connect(fast_app) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        got = read_until_closed(sock, trickle=b"X")
    assert got.startswith(b"HTTP/1.1 408 ")


def test_a_body_sent_too_slowly_is_cut_off_with_408(fast_app: str, store: LocalStore) -> None:
    import hitlkit as hitl

    event = hitl.new_event("count", int, store=store, serve=False)
    body = json.dumps({"value": 5}).encode()
    with connect(fast_app) as sock:
        sock.sendall(
            f"POST /api/events/{event.request_id}/answer HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body) + 1000}\r\n\r\n".encode()
            + body
        )
        got = read_until_closed(sock, trickle=b" ")
    assert got.startswith(b"HTTP/1.1 408 ")
    assert store.list("outcomes/") == []


def test_an_idle_keep_alive_connection_is_closed(fast_app: str) -> None:
    with connect(fast_app) as sock:
        sock.sendall(HEALTH)
        got = read_until_closed(sock)
    assert got.startswith(b"HTTP/1.1 200 ")
    assert got.count(b"HTTP/1.1") == 1


def test_the_next_request_trickled_on_a_kept_alive_connection_is_cut_off(fast_app: str) -> None:
    # Any byte used to put off uvicorn's keep-alive timeout: a head that never ends held
    # the connection for ever.
    with connect(fast_app) as sock:
        sock.sendall(HEALTH + b"GET /health HTTP/1.1\r\n")
        got = read_until_closed(sock, trickle=b"X")
    assert got.startswith(b"HTTP/1.1 200 ")
    assert b"HTTP/1.1 408 " in got


def test_a_slow_app_answer_is_not_cut_off(store: LocalStore) -> None:
    async def slow_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        import asyncio

        await asyncio.sleep(1.2)  # longer than every limit of FAST
        headers = [(b"content-length", b"4")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"done"})

    for url in serve(slow_app, limits=FAST):
        with connect(url) as sock:
            sock.sendall(HEALTH + HEALTH)  # pipelined: the second waits for the first
            got = read_until_closed(sock)
        assert got.count(b"HTTP/1.1 200 OK") == 2


def test_a_body_queued_behind_a_slow_answer_is_timed_from_its_start(store: LocalStore) -> None:
    async def slow_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        import asyncio

        await asyncio.sleep(1.2)
        headers = [(b"content-length", b"4")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"done"})

    for url in serve(slow_app, limits=FAST):
        with connect(url) as sock:
            # The second request's body never ends: the first answer still arrives whole.
            sock.sendall(
                HEALTH + b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 9\r\n\r\nab"
            )
            got = read_until_closed(sock)
        assert got.startswith(b"HTTP/1.1 200 OK")
        assert b"done" in got
        assert got.endswith(b"The request took too long to send.\n")


def test_requests_beyond_the_concurrency_limit_get_503(store: LocalStore) -> None:
    limits = ConnectionLimits(headers_seconds=30, body_seconds=30, idle_seconds=30, concurrency=2)
    for url in serve(create_app(store), limits=limits):
        with connect(url) as holder:
            # A request waiting for its body holds a connection and a task. The second
            # connection opens only then: open before, it would count against the first.
            holder.sendall(
                b"POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n"
            )
            time.sleep(0.3)
            with connect(url) as other:
                other.sendall(HEALTH)
                assert other.recv(65536).startswith(b"HTTP/1.1 503 ")
        deadline = time.monotonic() + NEVER_CLOSED
        while True:  # once those closed, requests are served again
            with connect(url) as sock:
                sock.sendall(HEALTH)
                if sock.recv(65536).startswith(b"HTTP/1.1 200 "):
                    break
            assert time.monotonic() < deadline
            time.sleep(0.05)


# -- forwarded headers ---------------------------------------------------------------------


async def echo_scope(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An app that answers with what the server says about the client."""
    body = json.dumps({"client": scope["client"][0], "scheme": scope["scheme"]}).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


FORWARDED = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    b"X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n\r\n"
)


def seen_by_app(url: str) -> dict[str, str]:
    with connect(url) as sock:
        sock.sendall(FORWARDED)
        raw = read_until_closed(sock)
    result: dict[str, str] = json.loads(raw.partition(b"\r\n\r\n")[2])
    return result


def test_forwarded_headers_are_ignored_unless_their_proxy_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # uvicorn believes 127.0.0.1 by default: on loopback, any local program could claim
    # another address, or https.
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.delenv("HITL_FORWARDED_ALLOW_IPS", raising=False)
    for url in serve(echo_scope):
        assert seen_by_app(url) == {"client": "127.0.0.1", "scheme": "http"}


def test_forwarded_headers_from_a_configured_proxy_are_believed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HITL_FORWARDED_ALLOW_IPS", "127.0.0.1")
    for url in serve(echo_scope):
        assert seen_by_app(url) == {"client": "203.0.113.9", "scheme": "https"}
