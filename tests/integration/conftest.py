"""The web app over real HTTP: a uvicorn server on a free local port over a local-folder store.

Tests create events with `hitlkit.new_event(..., store=app_store, serve=False)`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from hitlkit import LocalStore
from hitlkit._server import create_app
from hitlkit._server._embedded import uvicorn_server
from tests.receivers import HookServer, MailServer

LINK_SECRET = "link-secret-0123456789abcdef"
"""The `HITL_SECRET` of `linking_app`: what its links are signed with."""


def serve_in_thread(app: Any, **options: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    """Serve `app` on a free 127.0.0.1 port from a daemon thread; return once it answers.

    `options` go to `uvicorn_server` (connection limits, trusted proxies).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    # As in a workflow process: warnings only.
    server = uvicorn_server(app, embedded=True, **options)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "the test server stopped while starting"
        assert time.monotonic() < deadline, "the test server did not start in time"
        time.sleep(0.01)
    return server, thread, port


@pytest.fixture
def app_store(tmp_path: Path) -> Iterator[LocalStore]:
    """The local-folder store the app serves, in `tmp_path / "store"`."""
    store = LocalStore(tmp_path / "store")
    yield store
    store.close()


@pytest.fixture
def app_url(app_store: LocalStore) -> Iterator[str]:
    """The base URL (no trailing slash) of a real app serving `app_store`."""
    server, thread, port = serve_in_thread(create_app(app_store))
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def client(app_url: str) -> Iterator[httpx.Client]:
    """An HTTP client for the app, ignoring any proxy settings of the environment."""
    with httpx.Client(base_url=app_url, timeout=10, trust_env=False) as http:
        yield http


@pytest.fixture
def linking_app(app_store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The base URL of a real app serving `app_store` that verifies links signed with
    `LINK_SECRET`, also set as `HITL_SECRET` for the links notifications carry."""
    monkeypatch.setenv("HITL_SECRET", LINK_SECRET)
    server, thread, port = serve_in_thread(create_app(app_store, secret=LINK_SECRET))
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def hook() -> Iterator[HookServer]:
    """A webhook receiver on 127.0.0.1 (Apprise's json://, Teams' Workflows)."""
    server = HookServer()
    yield server
    server.close()


@pytest.fixture
def mail() -> Iterator[MailServer]:
    """An SMTP server on 127.0.0.1 keeping the messages it gets."""
    server = MailServer()
    yield server
    server.close()
