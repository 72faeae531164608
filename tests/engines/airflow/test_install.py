"""`hitlkit[airflow]` installs beside Airflow's own web stack and works without its own."""

from __future__ import annotations

import logging
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import hitlkit


def release(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version(name).split(".")[:2])


def test_the_environment_has_airflows_fastapi_not_hitlkits() -> None:
    assert release("apache-airflow") >= (3, 3)
    assert release("fastapi") < (0, 137)  # Airflow 3.3's pin; the [server] extra needs newer


def test_hitlkit_waits_for_an_answer_from_hitl_answer_without_its_web_app(tmp_path: Path) -> None:
    event = hitlkit.new_event("count", int, prompt="How many?", serve=False, store=str(tmp_path))
    answered = subprocess.run(
        [sys.executable, "-m", "hitlkit", "answer", event.request_id, "3"],
        env={
            "HITL_STORE": str(tmp_path),
            "HITL_USER": "ana",
            "HITL_AUTOSTART": "0",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert answered.returncode == 0, answered.stderr
    assert event.wait() == 3
    assert event.outcome().by == "ana"  # type: ignore[union-attr]
    assert "hitlkit._server" not in sys.modules


def test_hitl_serve_beside_airflow_says_to_serve_from_an_environment_of_its_own() -> None:
    served = subprocess.run(
        [sys.executable, "-m", "hitlkit", "serve"], capture_output=True, text=True, check=False
    )

    assert served.returncode == 1
    assert f"FastAPI 0.142 or newer, and this environment has {version('fastapi')}" in (
        served.stderr
    )
    assert "Traceback" not in served.stderr


def test_a_waiting_process_beside_airflow_serves_no_form_rather_than_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HITL_AUTOSTART", "1")
    caplog.set_level(logging.WARNING, logger="hitlkit")

    event = hitlkit.new_event("ok", bool, store=str(tmp_path / "store"), run_id="r1")

    assert hitlkit.get_event(event.request_id, store=str(tmp_path / "store")).status == "pending"
    assert "no form is served from this process" in caplog.text
    assert "FastAPI 0.142 or newer" in caplog.text
    assert "hitlkit._server" not in sys.modules
