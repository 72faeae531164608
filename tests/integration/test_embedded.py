"""`ensure_app`: start the app in this process when nobody answers, refuse when others do."""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import hitlkit
from hitlkit import ConfigurationError, LocalStore
from hitlkit._server._embedded import ensure_app, serve, stop_started_apps


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def app_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "hitlkit-app")


def health(endpoint: str) -> dict[str, object]:
    with httpx.Client(timeout=5, trust_env=False) as http:
        body: dict[str, object] = http.get(f"{endpoint}/health").json()
        return body


@pytest.fixture(autouse=True)
def _stop_apps() -> Iterator[None]:
    yield
    stop_started_apps()


class _OtherProgram(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<h1>not hitlkit</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def other_program() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OtherProgram)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_starts_the_app_when_nobody_answers_then_reuses_it(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    endpoint = f"http://127.0.0.1:{free_port()}"
    threads_before = app_threads()

    asyncio.run(ensure_app(store, endpoint))
    asyncio.run(ensure_app(store, endpoint))
    asyncio.run(ensure_app(LocalStore(tmp_path / "store"), endpoint + "/"))

    assert app_threads() == threads_before + 1
    answered = health(endpoint)
    assert answered["app"] == "hitlkit"
    assert answered["store"] == hashlib.sha256(store.url.encode()).hexdigest()[:16]


def test_new_event_serves_its_form(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    endpoint = f"http://localhost:{free_port()}"

    event = hitlkit.new_event("count", int, store=store, endpoint=endpoint, serve=True)

    assert event.form_url == f"{endpoint}/form/{event.request_id}"
    with httpx.Client(timeout=5, trust_env=False) as http:
        page = http.get(event.form_url)
        answered = http.post(f"{endpoint}/api/events/{event.request_id}/answer", json={"value": 5})
    assert page.status_code == 200
    assert answered.status_code == 200
    assert event.wait() == 5


def test_refuses_an_endpoint_held_by_another_program(tmp_path: Path, other_program: str) -> None:
    store = LocalStore(tmp_path / "store")

    with pytest.raises(ConfigurationError) as caught:
        asyncio.run(ensure_app(store, other_program))

    message = str(caught.value)
    assert message.startswith(f"{other_program} is in use by another program")
    assert "HITL_ENDPOINT" in message


def test_an_endpoint_held_by_another_program_leaves_no_event_behind(
    tmp_path: Path, other_program: str
) -> None:
    store = LocalStore(tmp_path / "store")

    with pytest.raises(ConfigurationError, match="in use by another program"):
        hitlkit.new_event("count", int, store=store, endpoint=other_program, serve=True)

    assert hitlkit.list_events("all", store=store) == []


def test_refuses_a_hitlkit_app_serving_another_store(tmp_path: Path, app_url: str) -> None:
    other_store = LocalStore(tmp_path / "other-store")

    with pytest.raises(ConfigurationError) as caught:
        asyncio.run(ensure_app(other_store, app_url))

    message = str(caught.value)
    assert f"the hitlkit app at {app_url} serves another store" in message
    assert "HITL_ENDPOINT" in message
    assert "HITL_STORE" in message
    assert str(tmp_path) not in message


def test_accepts_a_hitlkit_app_serving_the_same_store(app_url: str, app_store: LocalStore) -> None:
    threads_before = app_threads()

    asyncio.run(ensure_app(app_store, app_url))

    assert app_threads() == threads_before


@pytest.mark.parametrize("where", ["remote", "https"])
def test_does_not_start_an_app_where_it_cannot_serve(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    store = LocalStore(tmp_path / "store")
    # 192.0.2.0/24 is reserved for documentation: nothing answers there.
    endpoint = "http://192.0.2.1:9" if where == "remote" else f"https://127.0.0.1:{free_port()}"
    threads_before = app_threads()

    asyncio.run(ensure_app(store, endpoint))

    assert f"no hitlkit app answers at {endpoint}" in caplog.text
    assert app_threads() == threads_before


def test_serve_reports_a_taken_port_clearly(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(ConfigurationError, match=f"cannot serve on 127.0.0.1:{port}"):
            serve(LocalStore(tmp_path / "store"), "127.0.0.1", port)
