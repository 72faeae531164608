"""Links stay out of the access log, however the app is started and however `token` is spelled."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import hitlkit
from hitlkit import LocalStore
from hitlkit._server._uvicorn import redact_query
from tests.servers import free_ports, start_logged, wait_until_ready

_FACTORY = """
from hitlkit import LocalStore
from hitlkit._server import create_app


def make():
    return create_app(LocalStore({store!r}))
"""


@pytest.fixture
def by_hand(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """`python -m uvicorn --factory` over a module of the user's: (url, store, log)."""
    store = tmp_path / "store"
    (tmp_path / "hitl_app.py").write_text(textwrap.dedent(_FACTORY.format(store=str(store))))
    (port,) = free_ports(1)
    log = tmp_path / "uvicorn.log"
    args = [sys.executable, "-m", "uvicorn", "--factory", "hitl_app:make", "--port", str(port)]
    process = start_logged(args, tmp_path, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(
            "uvicorn",
            process,
            log,
            lambda: httpx.get(f"{url}/health", trust_env=False).raise_for_status(),
            seconds=30,
        )
        yield url, store, log
    finally:
        process.terminate()
        process.wait(10)


def test_uvicorn_started_by_hand_redacts_every_spelling_of_token(
    by_hand: tuple[str, Path, Path],
) -> None:
    url, store_path, log = by_hand
    store = LocalStore(store_path)
    event = hitlkit.new_event("count", int, store=store, serve=False)
    store.close()
    secrets = ["first-secret-value", "second-secret-value", "third-secret-value"]
    query = f"%74oken={secrets[0]}&Token={secrets[1]}&x=1&token={secrets[2]}"
    with httpx.Client(trust_env=False) as http:
        http.get(f"{url}/form/{event.request_id}?{query}")
        http.get(f"{url}/health")  # the line before is written by now

    text = log.read_text()
    assert f"/form/{event.request_id}?%74oken=[redacted]&Token=[redacted]&x=1" in text, text
    for secret in secrets:
        assert secret not in text


# Shaped as the app's credentials are: a signed link, and an API token.
_LINK = "eyJyIjoiYjgxNjljZGNmNmJjYjY3NzY2MWViZjI0IiwiaSI6ImFuYSJ9.SVUoCot5RrpLawa1tOfxLfPUuO3jIn"
_API_TOKEN = "hitl_c1ZrL5yTBCbdICf76AVYmWPxYnI4TxxpPZFj5jt7EUU"


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("/form/a?token=abc", "/form/a?token=[redacted]"),
        ("/form/a?x=1&%74oken=abc&y=2", "/form/a?x=1&%74oken=[redacted]&y=2"),
        ("/form/a?TOKEN=abc", "/form/a?TOKEN=[redacted]"),
        ("/form/a?to%6Ben", "/form/a?to%6Ben=[redacted]"),
        ("/form/a?tokens=abc&my_token=abc", "/form/a?tokens=abc&my_token=abc"),
        ("/form/a", "/form/a"),
        (f"/form/a?a=1;token={_LINK}", "/form/a?a=1;token=[redacted]"),
        (f"/form/a?token%00={_LINK}", "/form/a?token%00=[redacted]"),
        (f"/form/a?%2574oken={_LINK}", "/form/a?%2574oken=[redacted]"),
        (f"/form/{_LINK}", "/form/[redacted]"),
        (f"/x?t={_LINK.replace('.', '%2E')}", "/x?t=[redacted]"),
        (f"/x/{_API_TOKEN}?y=1", "/x/[redacted]?y=1"),
    ],
)
def test_redaction_reads_the_query_as_the_app_does(target: str, shown: str) -> None:
    assert redact_query(target) == shown
