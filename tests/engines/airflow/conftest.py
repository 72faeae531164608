"""Airflow in a temporary home with its own SQLite database, and an isolated hitlkit.

Airflow reads its configuration when first imported, so the variables are set here,
before any test module imports it; the database is migrated once per session.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parents[2] / "examples" / "airflow_approval.py"
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="hitlkit-airflow-"))
DAGS_FOLDER = AIRFLOW_HOME / "dags"
os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
# Airflow reads back through XCom only classes it is told to trust: the tests' model.
os.environ["AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES"] = "airflow.* tests.engines.airflow.*"
# `dag.test()` runs only DAGs that the dags folder defines: the tests' and the example.
DAGS_FOLDER.mkdir()
shutil.copy(HERE / "dags.py", DAGS_FOLDER / "hitl_test_dags.py")
shutil.copy(EXAMPLE, DAGS_FOLDER / EXAMPLE.name)


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> Iterator[Path]:
    """Airflow's SQLite database, created once (what `airflow db migrate` does, in-process
    to spare a second import of Airflow)."""
    from airflow.utils.db import initdb

    initdb()
    yield AIRFLOW_HOME
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def _isolated_hitlkit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test its own store; no web app, notification or developer setting leaks in."""
    monkeypatch.setenv("HITL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HITL_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("HITL_AUTOSTART", "0")
    monkeypatch.setenv("HITL_USER", "tester")
    for name in ("RUN_ID", "ENDPOINT", "NOTIFY", "REMIND_BEFORE", "RETENTION", "ARCHIVE"):
        monkeypatch.delenv(f"HITL_{name}", raising=False)
