"""Every test gets its own store, never starts a web app, and answers as `tester`."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HITL_STORE", str(tmp_path / "default-store"))
    monkeypatch.setenv("HITL_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("HITL_AUTOSTART", "0")
    monkeypatch.setenv("HITL_USER", "tester")
    for name in ("RUN_ID", "ENDPOINT", "NOTIFY", "REMIND_BEFORE", "RETENTION", "ARCHIVE"):
        monkeypatch.delenv(f"HITL_{name}", raising=False)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A real local folder store, as the worker and the bridge would share."""
    return str(tmp_path / "store")


@pytest.fixture
def anyio_backend() -> str:
    """`async def` tests (marked `anyio`, a plugin that comes with hitlkit's HTTP stack)
    run on asyncio, as Temporal's workers do."""
    return "asyncio"
