"""Finding the store from a subfolder, the configuration file, `hitl where` and `hitl config`,
run as a user runs them: programs and `hitl` in real processes, in a project's folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import hitlkit
from tests.acceptance.conftest import HITL, TIMEOUT, HitlEnv, Proc, Result, Spawn, one_error_line

ASK = (
    "import hitlkit\n"
    "event = hitlkit.new_event('deploy', data_type=bool, run_id='r1', serve=False)\n"
    "print(event.request_id)\n"
)

Run = Callable[..., Result]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with a subfolder `src/pkg`; nothing in it yet."""
    (tmp_path / "proj" / "src" / "pkg").mkdir(parents=True)
    return tmp_path / "proj"


@pytest.fixture
def run(hitl_env: HitlEnv) -> Run:
    """Run a command in a folder, with the test's environment but no HITL_STORE."""
    base = {k: v for k, v in hitl_env.vars.items() if k != "HITL_STORE"}

    def run_in(cwd: Path, *args: str, **extra_env: str) -> Result:
        done = subprocess.run(
            list(args),
            cwd=cwd,
            env={**base, **extra_env},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run_in


def test_a_program_in_a_subfolder_uses_the_projects_store_and_hitl_ls_finds_it(
    project: Path, run: Run
) -> None:
    (project / ".hitl").mkdir()

    asked = run(project / "src" / "pkg", sys.executable, "-c", ASK)
    assert asked.code == 0, asked.stderr
    request_id = asked.stdout.strip()

    # The event is in the project's store, not in a new one in the subfolder.
    assert hitlkit.get_event(request_id, store=str(project / ".hitl")).name == "deploy"
    assert not (project / "src" / "pkg" / ".hitl").exists()

    listed = run(project / "src", *HITL, "ls")
    assert listed.code == 0, listed.stderr
    assert listed.stdout.splitlines()[1].startswith(request_id)
    assert (
        listed.stderr == f"store: {project / '.hitl'} (found walking up from {project / 'src'})\n"
    )


def test_hitl_store_and_then_store_flag_win_over_the_store_found(
    project: Path, run: Run, tmp_path: Path
) -> None:
    (project / ".hitl").mkdir()
    other = tmp_path / "other"
    asked = run(project, sys.executable, "-c", ASK, HITL_STORE=str(other))
    request_id = asked.stdout.strip()

    from_env = run(project, *HITL, "ls", HITL_STORE=str(other))
    assert request_id in from_env.stdout
    assert from_env.stderr == f"store: {other} (HITL_STORE)\n"

    from_flag = run(project, *HITL, "ls", "--store", str(project / ".hitl"), HITL_STORE=str(other))
    assert from_flag.stdout == "No pending events.\n"
    assert from_flag.stderr == f"store: {project / '.hitl'} (--store)\n"


def test_with_no_store_up_hitl_where_says_where_it_looked(project: Path, run: Run) -> None:
    here = project / "src" / "pkg"

    result = run(here, *HITL, "where")

    assert result.code == 0, result.stderr
    store, app, config = result.stdout.splitlines()
    # The tests' ceiling (their temporary folder) bounds the search.
    looked = f"{here} .. {project.parent}"
    assert store == f"store: {here / '.hitl'} (no .hitl found in {looked}: a new store here)"
    assert app.startswith("app: http://127.0.0.1:")
    assert app.endswith("(HITL_ENDPOINT; where workflows reach or start the web app)")
    assert config == f"configuration file: none found in {here} .. {project.parent}"


def test_hitl_where_names_the_file_that_set_the_store_and_the_app(project: Path, run: Run) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.hitlkit]\nstore = "var/events"\nendpoint = "http://127.0.0.1:9321"\n'
    )
    where = f"pyproject.toml [tool.hitlkit] at {project / 'pyproject.toml'}"

    result = run(project / "src", *HITL, "where", "--json", HITL_ENDPOINT="")

    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "store": {"url": str(project / "var" / "events"), "why": where},
        "endpoint": {"url": "http://127.0.0.1:9321", "why": where},
        "client_endpoint": None,
        "config_file": where,
    }


def test_a_store_owned_by_someone_else_is_skipped_with_a_warning(project: Path, run: Run) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    (project / ".hitl").mkdir()
    os.chown(project / ".hitl", 12345, 12345)

    result = run(project / "src", *HITL, "where")

    assert result.code == 0, result.stderr
    assert result.stderr == (
        f"warning: skipped the store {project / '.hitl'}: it is owned by another user "
        "(uid 12345); set HITL_STORE or --store to use it anyway\n"
    )
    assert result.stdout.startswith(f"store: {project / 'src' / '.hitl'} (no .hitl found in ")


def test_hitl_config_shows_each_setting_and_where_it_came_from(project: Path, run: Run) -> None:
    (project / "hitl.toml").write_text(
        'store = "events"\nport = 9000\nhost = "0.0.0.0"\nremind_before = 60\n'
    )
    file = f"hitl.toml at {project / 'hitl.toml'}"

    result = run(
        project / "src",
        *HITL,
        "config",
        "--json",
        "--store",
        "memory://flag",
        HITL_PORT="9100",
        HITL_SECRET="do-not-print-me",
    )

    assert result.code == 0, result.stderr
    rows = {row["key"]: (row["value"], row["source"]) for row in json.loads(result.stdout)}
    assert rows["store"] == ("memory://flag", "--store")
    assert rows["port"] == ("9100", "HITL_PORT")
    assert rows["host"] == ("0.0.0.0", file)
    assert rows["remind_before"] == ("60", file)
    assert rows["store_mode"] == ("private", "default")
    assert rows["secret"] == ("set", "HITL_SECRET")
    assert rows["token"] == (None, "environment only: HITL_TOKEN")
    assert rows["slack_bot_token"] == (None, "environment only: HITL_SLACK_BOT_TOKEN")
    assert rows["slack_users"][1] == "default"
    assert "do-not-print-me" not in result.stdout
    # Every variable named is one hitlkit reads: scrape tokens come from a file setting.
    assert "metrics_token" not in rows
    assert rows["metrics_token_file"] == ("none", "default")

    text = run(project / "src", *HITL, "config")
    [store_line] = [line for line in text.stdout.splitlines() if line.startswith("store ")]
    assert store_line.split() == ["store", str(project / "events"), *file.split()]
    [secret_line] = [line for line in text.stdout.splitlines() if line.startswith("secret ")]
    assert secret_line.split() == ["secret", "unset", "environment", "only:", "HITL_SECRET"]


def test_the_file_gives_serve_its_defaults_and_flags_beat_it(
    project: Path, hitl_env: HitlEnv
) -> None:
    (project / "hitl.toml").write_text('host = "192.0.2.1"\nport = 1\n')
    here = HitlEnv(project, project / ".hitl", hitl_env.endpoint, hitl_env.vars)
    port = hitl_env.endpoint.rsplit(":", 1)[1]

    # The file's host is not loopback: serve refuses it without a tokens file.
    refused = Proc([*HITL, "serve"], here, {})
    try:
        assert refused.finish() == 1
        assert "refusing to serve on 192.0.2.1" in refused.error_line()
    finally:
        refused.stop()
    # Flags beat the file (and the environment beats it too).
    served = Proc([*HITL, "serve", "--host", "127.0.0.1"], here, {"HITL_PORT": port})
    try:
        served.expect(f"Starting the hitlkit app at http://127.0.0.1:{port} ")
        here.wait_until_serving()
    finally:
        served.stop()


def test_a_secret_in_the_file_is_one_error_line_saying_what_to_do(project: Path, run: Run) -> None:
    (project / "pyproject.toml").write_text('[tool.hitlkit]\nsecret = "abc"\n')

    result = run(project, *HITL, "ls")

    assert result.code == 1
    assert one_error_line(result.stderr) == (
        f"error: pyproject.toml [tool.hitlkit] at {project / 'pyproject.toml'}: secret is a "
        "secret and is not read from a file that may be shared or committed; set HITL_SECRET "
        "in the environment instead"
    )


def test_an_unknown_key_is_one_error_line_naming_it(project: Path, run: Run) -> None:
    (project / "hitl.toml").write_text("stroe = 'x'\n")

    result = run(project / "src", *HITL, "where")

    assert result.code == 1
    line = one_error_line(result.stderr)
    assert line.startswith(
        f"error: hitl.toml at {project / 'hitl.toml'}: unknown key 'stroe'; did you mean 'store'?"
    )


def test_client_endpoint_in_the_file_sends_hitl_ls_through_the_app(
    project: Path, run: Run, hitl_env: HitlEnv, spawn: Spawn
) -> None:
    event = hitlkit.new_event("deploy", data_type=bool, store=str(hitl_env.store), serve=False)
    port = hitl_env.endpoint.rpartition(":")[2]
    spawn.hitl("serve", "--port", port).expect(rf"http://127\.0\.0\.1:{port}")
    hitl_env.wait_until_serving()
    (project / "hitl.toml").write_text(f'client_endpoint = "{hitl_env.endpoint}"\n')

    from_file = run(project, *HITL, "ls")
    assert from_file.code == 0, from_file.stderr
    assert event.request_id in from_file.stdout  # the app's store, not one found here
    assert from_file.stderr == f"app: {hitl_env.endpoint} (hitl.toml at {project / 'hitl.toml'})\n"

    from_flag = run(project, *HITL, "ls", "--endpoint", hitl_env.endpoint)
    assert from_flag.stderr == f"app: {hitl_env.endpoint} (--endpoint)\n"


def test_a_list_in_the_file_gives_serve_a_repeated_option(project: Path, hitl_env: HitlEnv) -> None:
    (project / "hitl.toml").write_text('allowed_hosts = ["a.example", "b.example"]\n')
    here = HitlEnv(project, project / ".hitl", hitl_env.endpoint, hitl_env.vars)
    port = hitl_env.endpoint.rsplit(":", 1)[1]

    served = Proc([*HITL, "serve", "--port", port], here, {})
    try:
        served.expect(f"Starting the hitlkit app at http://127.0.0.1:{port} ")
        health = f"{hitl_env.endpoint}/health"
        deadline = time.monotonic() + TIMEOUT
        while True:  # until it listens
            try:
                httpx.get(health, headers={"Host": "a.example"}, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, served.stderr
                time.sleep(0.1)
        for host, status in (("a.example", 200), ("b.example", 200), ("127.0.0.1", 400)):
            assert httpx.get(health, headers={"Host": host}, timeout=5).status_code == status
    finally:
        served.stop()


THEIRS = 12345
"""A user id of nobody here: files given to it stand for another user's."""


def test_a_linked_configuration_file_another_user_planted_is_not_used(
    project: Path, run: Run, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    # A root-owned file whose relative store, read from the link's folder, would be theirs.
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hitl.toml").write_text('store = ".hitl"\n')
    shared = project / "src"
    (shared / ".hitl").mkdir(mode=0o777)
    os.chown(shared / ".hitl", THEIRS, THEIRS)
    planted = shared / "hitl.toml"
    planted.symlink_to(tmp_path / "etc" / "hitl.toml")
    os.lchown(planted, THEIRS, THEIRS)
    here = shared / "pkg"

    asked = run(here, sys.executable, "-c", ASK)
    where = run(here, *HITL, "where")

    assert asked.code == 0, asked.stderr
    assert hitlkit.get_event(asked.stdout.strip(), store=str(here / ".hitl")).name == "deploy"
    assert list((shared / ".hitl").iterdir()) == []
    assert f"skipped the configuration file {planted}: it is a symbolic link" in asked.stderr
    assert where.code == 0, where.stderr
    assert where.stderr == (
        f"warning: skipped the configuration file {planted}: it is a symbolic link owned by "
        f"another user (uid {THEIRS}); it is ignored\n"
    )
    assert where.stdout.startswith(f"store: {here / '.hitl'} (found walking up from {here})")


def test_a_fifo_as_the_configuration_file_never_hangs_the_cli(project: Path, run: Run) -> None:
    os.mkfifo(project / "hitl.toml")

    # `run` gives up after its timeout: a command blocked on the FIFO fails the test.
    result = run(project / "src", *HITL, "where")

    assert result.code == 1
    assert one_error_line(result.stderr) == (
        f"error: {project / 'hitl.toml'} is not a regular file (a FIFO)"
    )
    if os.geteuid() != 0:
        return
    os.chown(project / "hitl.toml", THEIRS, THEIRS)  # another user's: skipped, not an error

    result = run(project / "src", *HITL, "where")

    assert result.code == 0, result.stderr
    assert result.stderr == (
        f"warning: skipped the configuration file {project / 'hitl.toml'}: it is not a "
        "regular file (a FIFO); it is ignored\n"
    )


def test_a_skipped_folders_terminal_escapes_are_printed_escaped(project: Path, run: Run) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    here = project / "x\x1b]0;PWNED\x07dir"
    here.mkdir()
    (here / "hitl.toml").write_text('store = "/somewhere/theirs"\n')
    os.chown(here / "hitl.toml", THEIRS, THEIRS)

    result = run(here, *HITL, "where")

    assert result.code == 0, result.stderr
    shown = str(here / "hitl.toml").replace("\x1b", r"\x1b").replace("\x07", r"\x07")
    assert result.stderr == (
        f"warning: skipped the configuration file {shown}: it is owned by another user "
        f"(uid {THEIRS}); it is ignored\n"
    )
    assert "\x1b" not in result.stdout + result.stderr
