"""Flyte 2 tasks that stop for answers, run locally with `flyte.run` in real processes."""

from __future__ import annotations

import importlib.util
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

import hitlkit
from tests.forms import form_fields

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl, HitlEnv, Proc, Spawn

ROOT = Path(__file__).parents[2]
SEED = ROOT / "examples" / "flyte_seed.py"
TASKS = Path(__file__).with_name("flyte_tasks.py")
TIMEOUT = 60.0

needs_flyte = pytest.mark.skipif(
    importlib.util.find_spec("flyte") is None,
    reason='flyte is not installed (pip install "hitlkit[flyte]")',
)


def announced(proc: Proc, name: str, timeout: float = TIMEOUT) -> tuple[str, str]:
    """The endpoint and request id from the line a task prints when it asks `name`."""
    pattern = re.compile(rf"^hitl: '{name}' waits for an answer at (http://\S+)/form/(\w{{24}})")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in proc.stderr.splitlines():
            match = pattern.match(line)
            if match:
                return match.group(1), match.group(2)
        if proc.popen.poll() is not None:
            break
        time.sleep(0.1)
    pytest.fail(f"no announcement of {name!r}:\n--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}")


def run_tasks(spawn: Spawn, task: str, run_name: str, **env: str) -> Proc:
    return spawn([sys.executable, str(TASKS), task, run_name], **env)


def report_of(run_name: str) -> str:
    """The HTML reports that a local run with this name wrote."""
    return "".join(
        p.read_text() for p in Path("/tmp/flyte/metadata", run_name).glob("*/report.html")
    )


@needs_flyte
def test_seed_example_is_answered_with_hitl_answer(
    spawn: Spawn, hitl: Hitl, hitl_env: HitlEnv
) -> None:
    run = spawn([sys.executable, str(SEED)])
    endpoint, request_id = announced(run, "integer_input_event")
    assert endpoint == hitl_env.endpoint
    hitl_env.wait_until_serving()

    assert hitl("answer", request_id, "5").code == 0

    run.expect(r"^5$", timeout=TIMEOUT)
    assert run.finish(TIMEOUT) == 0


@needs_flyte
def test_seed_example_is_answered_through_the_form(spawn: Spawn) -> None:
    run = spawn([sys.executable, str(SEED)])
    endpoint, request_id = announced(run, "integer_input_event")
    form = httpx.get(f"{endpoint}/form/{request_id}")
    assert "What should I add to x?" in form.text

    with httpx.Client() as browser:
        fields = form_fields(browser, f"{endpoint}/form/{request_id}")
        posted = browser.post(f"{endpoint}/submit", data={**fields, "value": "-3"})
    assert posted.status_code == 303

    run.expect(r"^-3$", timeout=TIMEOUT)
    assert run.finish(TIMEOUT) == 0


@needs_flyte
def test_a_killed_run_started_again_gets_the_answer_given_meanwhile(
    spawn: Spawn, hitl: Hitl
) -> None:
    name = f"hitl-{uuid.uuid4().hex[:12]}"
    first_try = run_tasks(spawn, "two_questions", name)
    _, first = announced(first_try, "first")
    first_try.signal(signal.SIGKILL)
    assert first_try.finish(TIMEOUT) == -signal.SIGKILL

    assert hitl("answer", first, "hello").code == 0
    second_try = run_tasks(spawn, "two_questions", name)
    _, second = announced(second_try, "second")
    assert second != first
    assert hitl("answer", second, "world").code == 0

    second_try.expect(r"^result: hello world$", timeout=TIMEOUT)
    assert second_try.finish(TIMEOUT) == 0
    listed = hitl("ls", "--status", "all", "--run-id", name).stdout
    assert listed.count(name) == 2
    assert f"/form/{second}" in report_of(name)


@needs_flyte
def test_a_run_started_again_says_its_event_was_already_answered(spawn: Spawn, hitl: Hitl) -> None:
    name = f"hitl-{uuid.uuid4().hex[:12]}"
    first_try = run_tasks(spawn, "two_questions", name)
    _, first = announced(first_try, "first")
    first_try.signal(signal.SIGKILL)
    assert first_try.finish(TIMEOUT) == -signal.SIGKILL
    assert hitl("answer", first, "hello").code == 0

    second_try = run_tasks(spawn, "two_questions", name)
    endpoint, second = announced(second_try, "second")

    said = re.compile(
        rf"^hitl: 'first' was already answered by tester at \d{{4}}-\d\d-\d\d "
        rf'\d\d:\d\d:\d\d UTC: "hello" \(see {re.escape(endpoint)}/form/{first}\)$',
        re.MULTILINE,
    )
    assert said.search(second_try.stderr), second_try.stderr
    assert "'first' waits for an answer" not in second_try.stderr
    report = report_of(name)
    assert "Already answered: first" in report
    assert "Waiting for an answer: first" not in report
    assert "Waiting for an answer: second" in report
    assert hitl("answer", second, "world").code == 0
    second_try.expect(r"^result: hello world$", timeout=TIMEOUT)
    assert second_try.finish(TIMEOUT) == 0


@needs_flyte
def test_a_sync_task_asks_and_waits(spawn: Spawn, hitl: Hitl) -> None:
    name = f"hitl-{uuid.uuid4().hex[:12]}"
    run = run_tasks(spawn, "sync_add", name)
    _, request_id = announced(run, "add")
    assert name in hitl("show", request_id).stdout  # the run id is the Flyte run's name

    assert hitl("answer", request_id, "5").code == 0

    run.expect(r"^result: 15$", timeout=TIMEOUT)
    assert run.finish(TIMEOUT) == 0


@needs_flyte
def test_blocking_calls_inside_an_async_task_do_not_deadlock(spawn: Spawn, hitl: Hitl) -> None:
    run = run_tasks(spawn, "blocking_calls_in_async_task", "ignored", HITL_RUN_ID="chosen-run")
    _, request_id = announced(run, "add")
    assert "chosen-run" in hitl("show", request_id).stdout  # HITL_RUN_ID wins

    assert hitl("answer", request_id, "32").code == 0

    run.expect(r"^result: 42$", timeout=TIMEOUT)
    assert run.finish(TIMEOUT) == 0


@needs_flyte
def test_parallel_tasks_of_one_run_ask_separately(spawn: Spawn, hitl: Hitl) -> None:
    name = f"hitl-{uuid.uuid4().hex[:12]}"
    run = run_tasks(spawn, "parallel_questions", name)
    _, left = announced(run, "left")
    endpoint, right = announced(run, "right")
    assert left != right

    api = httpx.post(f"{endpoint}/submit/json", json={"request_id": right, "value": 2})
    assert api.status_code == 200
    assert hitl("answer", left, "1").code == 0

    run.expect(r"^result: 1 2$", timeout=TIMEOUT)
    assert run.finish(TIMEOUT) == 0


@pytest.mark.parametrize("module", ["flyteplugins.hitl", "hitlkit.contrib.flyte"])
def test_importing_without_flyte_says_how_to_install_it(module: str) -> None:
    blocked = f"import sys; sys.modules['flyte'] = None; import {module}"
    done = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "ModuleNotFoundError: hitlkit's Flyte integration needs flyte: "
        'pip install "hitlkit[flyte]"'
    )


# Serves `hitl.env`'s app the way Flyte serves an app environment, on the given port.
SERVE_APP_ENV = """
import sys, time
import flyte
from hitlkit.contrib.flyte._env import app_env

app_env.port = int(sys.argv[1])
flyte.init()
handle = flyte.with_servecontext(mode="local").serve(app_env)
print("serving at", handle.endpoint, flush=True)
time.sleep(120)
"""


@needs_flyte
def test_flyte_serves_the_app_environment_over_the_events_store(
    spawn: Spawn, hitl_env: HitlEnv
) -> None:
    port = hitl_env.endpoint.rsplit(":", 1)[1]
    spawn.python(SERVE_APP_ENV, port).expect(r"^serving at http://localhost:\d+$", TIMEOUT)
    hitl_env.wait_until_serving()  # flyte reports the endpoint before uvicorn listens
    event = hitlkit.new_event("q", data_type=bool, store=str(hitl_env.store), serve=False)

    answered = httpx.post(
        f"{hitl_env.endpoint}/api/events/{event.request_id}/answer", json={"value": True}
    )

    assert answered.status_code == 200
    assert event.wait() is True
