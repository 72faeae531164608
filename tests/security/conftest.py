"""Apps over real HTTP with authentication on: a tokens file (ana, bo) and a link secret.

`secured` requires a credential on every request; `open_app` needs none (as on
loopback) but still verifies links and form tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import hitlkit
from hitlkit import LocalStore
from hitlkit._links import answer_url, sign_answer_link
from hitlkit._records import utcnow
from hitlkit._server import create_app
from hitlkit._tokens import create_token
from tests.integration.conftest import serve_in_thread

SECRET = "test-secret-0123456789abcdef-xyz"


@dataclass(frozen=True)
class App:
    """A running app, its store, and the credentials it accepts."""

    url: str
    store: LocalStore
    tokens: dict[str, str]
    tokens_file: Path | None

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client for the app, sending `token` as a bearer token if given."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10, trust_env=False)

    def ask(self, name: str, data_type: Any = int, **options: Any) -> hitlkit.Event[Any]:
        """Create an event in the app's store, as a workflow does."""
        options.setdefault("run_id", "run-1")
        return hitlkit.new_event(name, data_type, store=self.store, serve=False, **options)

    def link(self, request_id: str, identity: str | None = "ana", expires_in: float = 600) -> str:
        """A link token for `request_id`, signed with the app's secret."""
        expires_at = utcnow() + timedelta(seconds=expires_in)
        return sign_answer_link(SECRET, request_id, identity=identity, expires_at=expires_at)

    def link_url(self, request_id: str, token: str) -> str:
        """The form URL carrying link `token`."""
        return answer_url(self.url, request_id, token)


def _serve(tmp_path: Path, *, with_tokens: bool, **options: Any) -> Iterator[App]:
    store = LocalStore(tmp_path / "store")
    tokens_file = tmp_path / "tokens.json" if with_tokens else None
    tokens = (
        {name: create_token(tokens_file, name) for name in ("ana", "bo")} if tokens_file else {}
    )
    app = create_app(store, tokens_file=tokens_file, secret=SECRET)
    server, thread, port = serve_in_thread(app, **options)
    yield App(f"http://127.0.0.1:{port}", store, tokens, tokens_file)
    server.should_exit = True
    thread.join(10)
    store.close()


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[App]:
    """An app that requires an API token or an answer link on every request."""
    yield from _serve(tmp_path, with_tokens=True)


@pytest.fixture
def behind_proxy(tmp_path: Path) -> Iterator[App]:
    """`secured`, believing X-Forwarded-* from 127.0.0.1, as from a proxy on the same machine."""
    yield from _serve(tmp_path, with_tokens=True, forwarded_allow_ips=["127.0.0.1"])


@pytest.fixture
def open_app(tmp_path: Path) -> Iterator[App]:
    """An app without a tokens file (as served on loopback), still verifying links."""
    yield from _serve(tmp_path, with_tokens=False)
