"""`hitl demo`: asks two questions, answered from a shell and over HTTP, and finishes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl, HitlEnv, Proc, Spawn

ID = r"[0-9a-f]{24}"


def next_question(demo: Proc) -> str:
    """Read the demo's output up to the next `hitl answer` line; return the event id."""
    return demo.expect(rf"hitl answer ({ID}) ").group(1)


def test_demo_answered_from_the_cli_and_over_http(
    spawn: Spawn, hitl: Hitl, hitl_env: HitlEnv
) -> None:
    demo = spawn.hitl("demo", "--run-id", "X")
    demo.expect(r"x = 10 \+ 12 \+ 20 = 42")
    form = demo.expect(rf"Answer in a browser: (\S+/form/{ID})").group(1)
    add = next_question(demo)
    assert form == f"{hitl_env.endpoint}/form/{add}"
    curl = demo.expect(r"curl -X POST (\S+) .* -d '(.*)'$")
    assert curl.group(1) == f"{hitl_env.endpoint}/submit/json"
    assert json.loads(curl.group(2)) == {"request_id": add, "value": 5}

    assert hitl("answer", add, "5").code == 0
    demo.expect(r"x \+ y = 42 \+ 5 = 47")

    double = next_question(demo)
    body = json.loads(demo.expect(r"curl -X POST \S+ .* -d '(.*)'$").group(1))
    assert body == {"request_id": double, "value": True}
    response = httpx.post(f"{hitl_env.endpoint}/submit/json", json=body, timeout=10)
    assert response.status_code == 200, (response.text, demo.stderr)

    demo.expect(r"^Result: 94 ")
    assert demo.finish() == 0
    assert demo.stderr == ""


def test_the_printed_shell_command_works_pasted_in_another_folder_without_hitl_on_the_path(
    spawn: Spawn, hitl_env: HitlEnv, tmp_path: Path
) -> None:
    demo = spawn.hitl("demo", "--run-id", "X")
    command = demo.expect(r"or from a shell: +(.*hitl answer .*)$").group(1)
    elsewhere = tmp_path / "another-terminal"
    elsewhere.mkdir()
    scripts = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != scripts)
    env = {k: v for k, v in hitl_env.vars.items() if k != "HITL_STORE"} | {"PATH": path}

    pasted = subprocess.run(
        ["/bin/sh", "-c", command], cwd=elsewhere, env=env, capture_output=True, text=True
    )

    assert pasted.returncode == 0, pasted.stderr
    demo.expect(r"x \+ y = 42 \+ 5 = 47")
    assert not (elsewhere / ".hitl").exists()


def test_the_form_is_served_while_the_demo_waits(spawn: Spawn, hitl_env: HitlEnv) -> None:
    demo = spawn.hitl("demo", "--run-id", "X")
    form = demo.expect(rf"Answer in a browser: (\S+/form/{ID})").group(1)

    page = httpx.get(form, timeout=10)

    assert page.status_code == 200
    assert "What should I add to x?" in page.text


def test_demo_rerun_picks_up_answers_given_while_it_was_down(
    spawn: Spawn, hitl: Hitl, hitl_env: HitlEnv
) -> None:
    first = spawn.hitl("demo", "--run-id", "again")
    assert hitl("answer", next_question(first), "5").code == 0
    double = next_question(first)
    first.signal(signal.SIGKILL)
    first.finish()
    assert hitl("answer", double, "no").code == 0

    second = spawn.hitl("demo", "--run-id", "again")

    assert second.finish() == 0, second.stderr
    assert second.stdout.count("Re-attached") == 2
    assert "hitl answer" not in second.stdout
    assert re.search(r"^Result: 47$", second.stdout, re.MULTILINE)


def test_demo_uses_an_app_already_serving_the_store(
    spawn: Spawn, hitl: Hitl, hitl_env: HitlEnv
) -> None:
    port = hitl_env.endpoint.rpartition(":")[2]
    server = spawn.hitl("serve", "--port", port)
    hitl_env.wait_until_serving()
    demo = spawn.hitl("demo", "--run-id", "X")

    for value in (1, False):
        body = {"request_id": next_question(demo), "value": value}
        response = httpx.post(f"{hitl_env.endpoint}/submit/json", json=body, timeout=10)
        assert response.status_code == 200, response.text

    demo.expect(r"^Result: 43$")
    assert demo.finish() == 0
    assert server.popen.poll() is None


def test_demo_refuses_an_endpoint_taken_by_another_program(spawn: Spawn, hitl_env: HitlEnv) -> None:
    port = hitl_env.endpoint.rpartition(":")[2]
    other = spawn([sys.executable, "-m", "http.server", port, "--bind", "127.0.0.1"])
    other.expect("Serving HTTP")
    demo = spawn.hitl("demo")

    assert demo.finish() == 1
    assert "in use by another program" in demo.error_line()


def test_demo_takes_its_run_id_from_hitl_run_id(spawn: Spawn) -> None:
    demo = spawn.hitl("demo", HITL_RUN_ID="from-env")

    demo.expect(r"^hitlkit demo, run from-env$")


def test_demo_without_an_answer_times_out(spawn: Spawn) -> None:
    demo = spawn.hitl("demo", "--timeout", "1")

    assert demo.finish() == 1
    assert "no answer" in demo.error_line()


def test_ctrl_c_stops_the_demo_with_one_line(spawn: Spawn) -> None:
    demo = spawn.hitl("demo", "--run-id", "X")
    next_question(demo)

    demo.signal(signal.SIGINT)

    assert demo.finish() == 130
    line = demo.error_line()
    assert re.fullmatch(
        r"error: interrupted; run `(\S*hitl) demo --run-id X` to pick up where you left off", line
    ), line
