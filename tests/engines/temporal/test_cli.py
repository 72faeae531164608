"""`hitl temporal-bridge` in a subprocess, as a user runs it (no Temporal server here)."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

import hitlkit
from hitlkit.contrib.temporal import Asked, Question, ask_activity, connect_config
from hitlkit.contrib.temporal._targets import CLAIMS, SENT

pytestmark = pytest.mark.anyio


def hitl(*args: str, python: str = "") -> subprocess.CompletedProcess[str]:
    """Run `hitl ARGS` (after `python`, code run first) in a new process."""
    code = f"{python}\nfrom hitlkit._cli import main\nmain()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def closed_port() -> int:
    """A port on which nothing listens: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def answered(store_url: str) -> Asked:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="release-7")
    asked: Asked = await env.run(ask_activity, Question(name="ship", prompt="Ship?"))
    await hitlkit.answer.aio(asked.request_id, "yes", store=store_url)
    return asked


def test_a_pass_with_nothing_to_signal_needs_no_server(tmp_path: Path) -> None:
    done = hitl("temporal-bridge", "--once", "--store", str(tmp_path / "store"))

    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr.splitlines() == [
        f"watching {(tmp_path / 'store').as_uri()} for questions of namespace 'default' at "
        "localhost:7233",
        "nothing to signal: no waiting workflow's question has resolved",
    ]


async def test_a_server_that_cannot_be_reached_fails_the_pass_and_loses_nothing(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_STORE", store_url)
    asked = await answered(store_url)
    address = f"127.0.0.1:{closed_port()}"

    done = hitl("temporal-bridge", "--once", "--store", store_url, "--address", address)

    assert done.returncode == 1
    assert f"failed, will retry release-7 (default) hitlkit_resolved: event {asked.request_id}" in (
        done.stderr
    )
    assert "1 signal(s) failed" in done.stderr
    assert f"cannot reach Temporal at {address}: is a server running there?" in done.stderr
    assert "tonic" not in done.stderr
    store = hitlkit.open_store(store_url)
    assert store.list(SENT) == []  # still to signal
    assert len(store.list(CLAIMS)) == 1


def test_without_temporalio_the_command_says_what_to_install(tmp_path: Path) -> None:
    hide = "import sys\nsys.modules['temporalio'] = None"

    done = hitl("temporal-bridge", "--once", "--store", str(tmp_path), python=hide)

    assert done.returncode == 1
    assert 'needs temporalio: pip install "hitlkit[temporal]"' in done.stderr


def test_temporals_own_settings_say_where_to_connect_and_flags_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "none.toml"))
    for name in ("ADDRESS", "NAMESPACE", "API_KEY", "TLS", "PROFILE"):
        monkeypatch.delenv(f"TEMPORAL_{name}", raising=False)
    plain = connect_config(None, None)
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "payments")
    monkeypatch.setenv("TEMPORAL_API_KEY", "key")
    from_env = connect_config(None, None)
    flags = connect_config("other:7233", "audit")

    assert (plain["target_host"], plain["namespace"]) == ("localhost:7233", "default")
    assert (from_env["target_host"], from_env["namespace"]) == (
        "temporal.internal:7233",
        "payments",
    )
    assert from_env["api_key"] == "key"
    assert (flags["target_host"], flags["namespace"], flags["api_key"]) == (
        "other:7233",
        "audit",
        "key",
    )
