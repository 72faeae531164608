"""`hitl answer ID` without a value asks on the terminal; driven here through a pipe."""

from __future__ import annotations

import json
import re
import subprocess
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

import hitlkit
from tests.acceptance.conftest import HITL, TIMEOUT

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl, HitlEnv, Spawn


class Limits(BaseModel):
    cpu: int = Field(default=2, ge=1, le=8, description="CPU cores per replica")


class Deploy(BaseModel):
    version: str = Field(pattern=r"^v[0-9]+$", description="a tag like v2")
    env: Literal["prod", "staging"]
    flags: set[Literal["canary", "dry-run"]] = set()
    limits: Limits
    notify: bool = False


def ask(env: HitlEnv, name: str, data_type: Any, **options: Any) -> hitlkit.Event[Any]:
    return hitlkit.new_event(
        name, data_type, run_id="r1", store=str(env.store), serve=False, **options
    )


def answer_with_input(
    env: HitlEnv, request_id: str, typed: str, *options: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HITL, "answer", request_id, *options],
        input=typed,
        cwd=env.cwd,
        env=env.vars,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_a_model_is_asked_field_by_field_and_errors_are_asked_again(hitl_env: HitlEnv) -> None:
    event = ask(hitl_env, "deploy", Deploy, prompt="Deploy the release?")
    typed = "\n".join(["2.0", "2", "1,dry-run", "", "y", "v2"]) + "\n"
    done = answer_with_input(hitl_env, event.request_id[:8], typed)
    assert done.returncode == 0, done.stderr
    assert "Deploy the release?" in done.stderr
    assert "1) prod" in done.stderr
    assert "2) staging" in done.stderr
    assert "CPU cores per replica" in done.stderr
    assert "Cpu (Between 1 and 8.) [2]: " in done.stderr  # the constraint as a hint
    assert "! Version: must match the pattern" in done.stderr
    assert done.stdout.startswith("Recorded ")
    assert event.wait() == Deploy(
        version="v2", env="staging", flags={"canary", "dry-run"}, limits=Limits(), notify=True
    )
    outcome = event.outcome()
    assert outcome is not None
    assert (outcome.via, outcome.by) == ("cli", "tester")


def test_a_choice_by_number_or_value_after_a_wrong_one(hitl_env: HitlEnv) -> None:
    event = ask(hitl_env, "pick", Literal["ship", "hold"])
    done = answer_with_input(hitl_env, event.request_id, "sink\n3\nhold\n")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("! ") == 2
    assert """expected one of "ship", "hold", got 'sink'""" in done.stderr
    assert "got 'sink': expected" not in done.stderr  # said once, not twice
    assert event.wait() == "hold"


def test_an_old_type_is_asked_again_after_a_bad_value(hitl_env: HitlEnv) -> None:
    event = ask(hitl_env, "add", int)
    done = answer_with_input(hitl_env, event.request_id, "1.5\n7\n")
    assert done.returncode == 0, done.stderr
    assert "Your answer (an integer)" in done.stderr
    assert "expected an integer" in done.stderr
    assert event.wait() == 7


def test_input_ending_early_is_an_error_and_records_nothing(hitl_env: HitlEnv) -> None:
    event = ask(hitl_env, "deploy", Deploy)
    done = answer_with_input(hitl_env, event.request_id, "v2\n")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == ("error: the input ended before the answer was complete")
    assert event.outcome() is None


def test_a_json_object_answers_a_model_in_one_go(hitl: Hitl, hitl_env: HitlEnv) -> None:
    event = ask(hitl_env, "deploy", Deploy)
    bad = hitl("answer", event.request_id, json.dumps({"version": "v2", "env": "dev"}))
    assert bad.code == 1
    assert "env: expected one of" in bad.error_line()
    assert "limits: this field is required" in bad.error_line()
    good = {"version": "v2", "env": "prod", "limits": {"cpu": 3}}
    assert hitl("answer", event.request_id, json.dumps(good)).code == 0
    assert event.wait() == Deploy(version="v2", env="prod", limits=Limits(cpu=3))


def test_ls_shows_each_events_type_and_age(hitl: Hitl, hitl_env: HitlEnv) -> None:
    model = ask(hitl_env, "deploy", Deploy)
    choice = ask(hitl_env, "pick", Literal["ship", "hold"])
    when = ask(hitl_env, "when", int | None)
    listing = hitl("ls").stdout
    rows = {line.split()[0]: line for line in listing.splitlines()[1:]}
    assert " Deploy " in rows[model.request_id]
    assert " choice " in rows[choice.request_id]
    assert " int | None " in rows[when.request_id]
    assert "AGE" in listing.splitlines()[0]
    # Seconds old: asked moments ago, however slow the machine.
    assert re.search(r" \d{1,2}s ", rows[model.request_id]), rows[model.request_id]


def test_asked_through_a_running_app(hitl_env: HitlEnv, spawn: Spawn) -> None:
    event = ask(hitl_env, "deploy", Deploy)
    port = hitl_env.endpoint.rpartition(":")[2]
    spawn.hitl("serve", "--port", port)
    hitl_env.wait_until_serving()
    typed = "v4\nprod\n\n9\n\n3\n"
    done = answer_with_input(hitl_env, event.request_id, typed, "--endpoint", hitl_env.endpoint)
    assert done.returncode == 0, done.stderr
    assert "! Cpu: must be at most 8" in done.stderr
    assert event.wait() == Deploy(version="v4", env="prod", limits=Limits(cpu=3))
