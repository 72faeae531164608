"""Fixtures for hitlkit's Prefect tests: Prefect's own temporary server, an isolated store.

Prefect's settings are fixed before Prefect is imported: no analytics, no network,
its home (profiles, local results) in a temporary folder.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from pathlib import Path

os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="hitlkit-prefect-home-")
os.environ.pop("PREFECT_API_URL", None)  # never a developer's server or Prefect Cloud
os.environ.pop("PREFECT_API_KEY", None)

SERVER_START_SECONDS = 180
"""A busy machine (CI) takes long to start Prefect's server process; Prefect's default is 30."""

import pytest  # noqa: E402 - after Prefect's settings
from prefect.settings import PREFECT_API_URL  # noqa: E402
from prefect.testing.utilities import prefect_test_harness  # noqa: E402

_harness = ExitStack()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start Prefect's temporary test server (its own SQLite database) for the session.

    Started here rather than in a fixture: its start (a server process importing
    Prefect) is no test's time, and the per-test timeout stays meaningful.
    """
    _harness.enter_context(prefect_test_harness(server_startup_timeout=SERVER_START_SECONDS))


def pytest_sessionfinish(session: pytest.Session) -> None:
    _harness.close()


@pytest.fixture
def prefect_api() -> str:
    """The URL of Prefect's test server, for processes the tests start."""
    url = PREFECT_API_URL.value()
    assert url, "Prefect's test server is not running"
    return str(url)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HITL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HITL_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.setenv("HITL_AUTOSTART", "0")
    monkeypatch.setenv("HITL_USER", "tester")
    for name in ("RUN_ID", "ENDPOINT", "NOTIFY", "REMIND_BEFORE", "RETENTION", "ARCHIVE"):
        monkeypatch.delenv(f"HITL_{name}", raising=False)
