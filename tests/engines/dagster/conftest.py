"""Fixtures for the Dagster integration's tests: each test has its own hitlkit store and a
throwaway Dagster instance, and never starts a web app."""

import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    monkeypatch.setenv("HITL_STORE", str(tmp_path / "store"))
    ceilings = [str(tmp_path_factory.getbasetemp()), str(REPO.parent)]
    monkeypatch.setenv("HITL_CEILING_DIRECTORIES", os.pathsep.join(ceilings))
    monkeypatch.setenv("HITL_AUTOSTART", "0")
    monkeypatch.setenv("HITL_USER", "tester")
    for name in ("RUN_ID", "ENDPOINT", "NOTIFY", "REMIND_BEFORE", "RETENTION", "ARCHIVE"):
        monkeypatch.delenv(f"HITL_{name}", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A Dagster instance in memory: runs, event logs and run keys, gone after the test."""
    with dg.DagsterInstance.ephemeral() as the_instance:
        yield the_instance


@pytest.fixture(scope="session")
def stored_instance() -> Iterator[dg.DagsterInstance]:
    """A Dagster instance in a temporary folder, which re-execution needs (it reloads the
    job by name and reads the parent run's outputs). One for the session: making one takes
    seconds, and each test reads only its own runs (and its own hitlkit store)."""
    with dg.instance_for_test() as the_instance:
        yield the_instance
