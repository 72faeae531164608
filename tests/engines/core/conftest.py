"""Every test gets its own store, and its settings come from nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HITL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HITL_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("HITL_USER", "tester")
    monkeypatch.chdir(tmp_path)
    for name in ("HITL_RUN_ID", "HITL_ENDPOINT", "HITL_NOTIFY", "HITL_AUTOSTART"):
        monkeypatch.delenv(name, raising=False)
