"""Shared fixtures: every test gets its own store and never starts a web app by accident."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hitlkit import LocalStore, MemoryStore, Store

BACKENDS = ["memory", "local"]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HITL_STORE", str(tmp_path / "default-store"))
    monkeypatch.setenv("HITL_AUTOSTART", "0")
    monkeypatch.setenv("HITL_USER", "tester")
    monkeypatch.delenv("HITL_RUN_ID", raising=False)
    monkeypatch.delenv("HITL_ENDPOINT", raising=False)


def make_store(kind: str, root: Path) -> Store:
    if kind == "memory":
        return MemoryStore()
    if kind == "local":
        return LocalStore(root / "store")
    raise ValueError(kind)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each backend in turn, empty."""
    the_store = make_store(request.param, tmp_path)
    yield the_store
    the_store.close()
