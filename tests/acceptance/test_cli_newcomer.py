"""What a newcomer meets first: commands printed so they work when pasted, one-line errors
that say what to do, and help that names what each option takes, with examples.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import typer

import hitlkit
from hitlkit._cli import app
from tests.acceptance.conftest import TIMEOUT, free_port, one_error_line
from tests.acceptance.test_cli import ask, outcome_of
from tests.s3 import BUCKET

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl, HitlEnv
    from tests.s3 import S3Server

SCRIPTS = Path(sys.executable).parent


def commands_of(command: Any, path: tuple[str, ...] = ()) -> list[list[str]]:
    """Every command `hitl` has, as the words that run it: ["ls"], ["token", "create"]."""
    found = []
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if getattr(sub, "commands", None):
            found += commands_of(sub, (*path, name))
        else:
            found.append([*path, name])
    return found


COMMANDS = commands_of(typer.main.get_command(app))
GROUPS = [["token"]]


def without_scripts(path: str) -> str:
    """PATH as a shell that never activated hitlkit's environment has it."""
    return os.pathsep.join(p for p in path.split(os.pathsep) if Path(p) != SCRIPTS)


# -- commands printed so that they work -------------------------------------------


def test_printed_answer_command_works_from_a_shell_without_hitl_on_its_path(
    hitl: Hitl, hitl_env: HitlEnv
) -> None:
    request_id = ask(hitl_env, "add_to_x", int)
    path = without_scripts(os.environ.get("PATH", ""))

    shown = hitl("show", request_id, PATH=path)
    [printed] = re.findall(r"Answer with: (.+) VALUE$", shown.stdout, re.MULTILINE)
    assert printed != f"hitl answer {request_id}"  # `hitl` alone is not found on this PATH

    pasted = subprocess.run(
        ["/bin/sh", "-c", f"{printed} 5"],
        cwd=hitl_env.cwd,
        env={**hitl_env.vars, "PATH": path},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )

    assert pasted.returncode == 0, pasted.stderr
    assert outcome_of(hitl_env, request_id).value == 5


def test_printed_command_is_plain_hitl_when_the_path_finds_this_installation(
    hitl: Hitl, hitl_env: HitlEnv
) -> None:
    request_id = ask(hitl_env, "add_to_x", int)
    path = os.pathsep.join([str(SCRIPTS), without_scripts(os.environ.get("PATH", ""))])

    shown = hitl("show", request_id, PATH=path)

    assert f"Answer with: hitl answer {request_id} VALUE" in shown.stdout


def test_python_m_hitlkit_runs_the_cli(hitl_env: HitlEnv) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hitlkit", "--version"],
        env=hitl_env.vars,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"hitl (hitlkit) {hitlkit.__version__}"


# -- one line per error, with what to do ----------------------------------------


def test_app_unreachable_says_so_and_what_to_check(hitl: Hitl) -> None:
    result = hitl("ls", "--endpoint", f"http://127.0.0.1:{free_port()}")

    assert result.code == 1
    line = one_error_line(result.stderr)
    assert "could not reach the hitlkit app" in line
    assert "hitl serve" in line
    assert "--endpoint" in line


def test_a_file_given_as_the_store_says_to_give_a_folder(hitl: Hitl, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("hello")

    result = hitl("ls", "--store", str(not_a_folder))

    assert result.code == 1
    line = one_error_line(result.stderr)
    assert "Not a directory" in line
    assert "must be a folder" in line
    assert not_a_folder.read_text() == "hello"


def test_missing_bucket_says_it_does_not_exist(
    hitl: Hitl, s3_server: S3Server, s3_url: str
) -> None:
    result = hitl("ls", "--store", "s3://no-such-bucket/events", **s3_server.env)

    assert result.code == 1
    line = one_error_line(result.stderr)
    assert "s3://no-such-bucket/events" in line
    assert "does not exist: create it, or correct the store URL" in line
    assert "<?xml" not in line


def test_refused_credentials_say_which_variables_to_check(
    hitl: Hitl, s3_server: S3Server, s3_url: str
) -> None:
    env = {**s3_server.env, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}

    result = hitl("ls", "--store", f"s3://{BUCKET}/events", **env)

    assert result.code == 1
    line = one_error_line(result.stderr)
    assert "credentials were refused" in line
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in line
    assert "not-the-secret" not in line


def test_an_s3_server_that_does_not_answer_names_its_endpoint_variable(
    hitl: Hitl, s3_server: S3Server, s3_url: str
) -> None:
    env = {**s3_server.env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}

    result = hitl("ls", "--store", f"s3://{BUCKET}/events", **env)

    assert result.code == 1
    line = one_error_line(result.stderr)
    assert "nothing answered at the store's address" in line
    assert "AWS_ENDPOINT_URL" in line


def test_an_http_s3_address_without_allow_http_says_to_allow_it(
    hitl: Hitl, s3_server: S3Server, s3_url: str
) -> None:
    env = {**s3_server.env, "AWS_ALLOW_HTTP": "false"}

    result = hitl("ls", "--store", f"s3://{BUCKET}/events", **env)

    assert result.code == 1
    assert "an http:// address needs AWS_ALLOW_HTTP=true" in one_error_line(result.stderr)


@pytest.mark.parametrize("given", ["s3:/bucket/events", "s3:bucket", "memory:/x", "File:/tmp/x"])
def test_a_store_url_missing_a_slash_is_refused_not_taken_for_a_folder(
    hitl: Hitl, hitl_env: HitlEnv, given: str
) -> None:
    result = hitl("ls", "--store", given)

    assert result.code == 1
    assert "lacks a slash" in one_error_line(result.stderr)
    assert sorted(p.name for p in hitl_env.cwd.iterdir()) == []


def test_debug_adds_the_traceback(hitl: Hitl) -> None:
    port = free_port()

    plain = hitl("ls", "--endpoint", f"http://127.0.0.1:{port}")
    debugged = hitl("--debug", "ls", "--endpoint", f"http://127.0.0.1:{port}")

    assert "Traceback" not in plain.stderr
    assert "Traceback (most recent call last)" in debugged.stderr
    assert debugged.stderr.rstrip().splitlines()[-1] == one_error_line(plain.stderr)


# -- help ------------------------------------------------------------------------


def test_the_command_list_is_complete() -> None:
    assert {"ls", "answer", "prune", "where", "config", "serve"} <= {c[0] for c in COMMANDS}
    assert ["token", "create"] in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_examples_that_run_it(hitl: Hitl, command: list[str]) -> None:
    result = hitl(*command, "--help", COLUMNS="200")

    assert result.code == 0, result.stderr
    _, _, examples = result.stdout.partition("Examples:")
    lines = [line.strip() for line in examples.splitlines() if line.strip()]
    assert lines, result.stdout
    for line in lines:
        assert line.startswith(" ".join(["hitl", *command])), line


@pytest.mark.parametrize("command", [[], *COMMANDS, *GROUPS], ids=" ".join)
def test_help_names_values_as_people_type_them(hitl: Hitl, command: list[str]) -> None:
    result = hitl(*command, "--help", COLUMNS="200")

    assert result.code == 0, result.stderr
    assert not re.search(r"<(bool|str|int|float|Path)>", result.stdout), result.stdout


def test_help_shows_the_kind_of_value_each_option_takes(hitl: Hitl) -> None:
    serve = hitl("serve", "--help", COLUMNS="200").stdout
    ls = hitl("ls", "--help", COLUMNS="200").stdout

    assert re.search(r"--port\s+INTEGER", serve)
    assert re.search(r"--store\s+FOLDER\|URL", serve)
    assert re.search(r"--insecure\s{2,}Serve", serve)  # a flag takes no value
    assert re.search(r"--status\s+pending\|resolved\|all", ls)
    assert re.search(r"--json\s{2,}Print JSON", ls)
