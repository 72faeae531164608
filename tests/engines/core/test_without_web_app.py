"""`pip install hitlkit` without [server]: events are asked, waited for and answered through
the store, and whatever needs the web app says which extra brings it."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import hitlkit

HITL = [sys.executable, "-m", "hitlkit"]


def test_the_web_app_is_not_installed() -> None:
    # What the rest of this file relies on: the session installed hitlkit alone.
    assert importlib.util.find_spec("fastapi") is None
    assert importlib.util.find_spec("uvicorn") is None


def test_a_waiting_process_says_once_that_it_serves_no_form_and_gets_the_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="hitlkit")
    event = hitlkit.new_event("count", data_type=int, prompt="How many?", run_id="r1")
    hitlkit.new_event("other", data_type=int, run_id="r1")
    answering = subprocess.run(
        [*HITL, "answer", event.request_id, "7"], capture_output=True, text=True, check=False
    )

    assert answering.returncode == 0, answering.stderr
    assert event.wait() == 7
    warnings = [r.getMessage() for r in caplog.records if "no form is served" in r.getMessage()]
    assert len(warnings) == 1
    assert 'pip install "hitlkit[server]"' in warnings[0]


def test_an_async_wait_is_answered_from_another_thread() -> None:
    async def ask() -> bool:
        event = await hitlkit.new_event.aio("ok", data_type=bool, run_id="r2")
        threading.Timer(0.2, hitlkit.answer, (event.request_id, True)).start()
        return await event.wait.aio()

    assert asyncio.run(ask()) is True


def test_asking_to_serve_fails_before_any_event_is_made(tmp_path: Path) -> None:
    with pytest.raises(hitlkit.ConfigurationError, match=r"hitlkit\[server\]"):
        hitlkit.new_event("q", data_type=int, run_id="r3", serve=True)

    assert hitlkit.list_events() == []


def test_the_app_factory_names_the_extra() -> None:
    with pytest.raises(hitlkit.ConfigurationError, match=r'pip install "hitlkit\[server\]"'):
        hitlkit.create_app  # noqa: B018


@pytest.mark.parametrize("command", [["serve"], ["serve", "--port", "8099"]])
def test_hitl_serve_says_which_extra_to_install(command: list[str]) -> None:
    served = subprocess.run([*HITL, *command], capture_output=True, text=True, check=False)

    assert served.returncode == 1
    assert 'pip install "hitlkit[server]"' in served.stderr
    assert "Traceback" not in served.stderr


def test_the_demo_offers_only_the_shell_when_no_form_is_served() -> None:
    demo = subprocess.run(
        [*HITL, "demo", "--timeout", "1"], capture_output=True, text=True, check=False
    )

    assert "Question add_to_x: What should I add to x?" in demo.stdout
    assert "  Answer from a shell: " in demo.stdout
    assert "http://" not in demo.stdout
    assert demo.returncode == 1  # nobody answered within the second


def test_a_fastapi_module_with_no_package_is_taken_as_missing_the_rest(tmp_path: Path) -> None:
    (tmp_path / "fastapi.py").write_text("")  # python -m puts the working folder first

    served = subprocess.run(
        [*HITL, "serve"], capture_output=True, text=True, cwd=tmp_path, check=False
    )

    assert served.returncode == 1
    assert "the web app needs starlette" in served.stderr
    assert "Traceback" not in served.stderr
