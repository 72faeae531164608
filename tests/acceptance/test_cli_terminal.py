"""What `hitl` prints from a store reaches the terminal escaped, never as control characters.

Anyone who can write an event, an answer or a cancel reason chooses text that
`hitl ls` and `hitl show` print: an escape sequence in it could clear the
screen, fake lines, or fill the clipboard (OSC 52). Run on a real pseudo-terminal,
where Rich styles its output, and through a pipe, as in `hitl show ID > log`.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

import hitlkit
from hitlkit import Client
from tests.acceptance.conftest import HITL, TIMEOUT

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl, HitlEnv

CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4K\x07"  # OSC 52: put "rm -rf ~" in the clipboard
CLEAR = "\x1b[2J"
CSI_C1 = "\x9b31m"  # the one-byte CSI of C1
RIGHT_TO_LEFT = "\u202e"
MARKUP = "[bold red]boss[/]"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\x7f")


def assert_escaped(output: str) -> None:
    leaked = [c for c in RAW if c in output.replace("\x1b[0m", "").replace("\x1b[1m", "")]
    assert not leaked, f"raw control characters reached the terminal: {leaked!r}"


def hostile_event(env: HitlEnv, *, answered: bool = True) -> str:
    event = hitlkit.new_event(
        f"deploy{CLEAR}",
        str,
        run_id=f"r1{RIGHT_TO_LEFT}",
        prompt=f"Ship it?{CLIPBOARD}\nsecond line{CLEAR}",
        store=str(env.store),
        serve=False,
    )
    if answered:
        hostile = Client(store=str(env.store), user=f"ana{CLIPBOARD}{MARKUP}", via="api")
        hostile.answer(event.request_id, f"yes{CSI_C1}\x7f{CLEAR}")
    return event.request_id


def on_terminal(env: HitlEnv, *args: str) -> str:
    """The output of `hitl ARGS` run on a pseudo-terminal, as a person sees it."""
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        [*HITL, *args],
        cwd=env.cwd,
        env={**env.vars, "COLUMNS": "200", "TERM": "xterm-256color"},
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    chunks = []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert process.wait(TIMEOUT) == 0
    return b"".join(chunks).decode(errors="replace")


def test_show_on_a_terminal_escapes_what_the_store_holds(hitl_env: HitlEnv) -> None:
    request_id = hostile_event(hitl_env)
    shown = on_terminal(hitl_env, "show", request_id)
    assert_escaped(shown)
    assert r"ana\x1b]52;c;cm0gLXJmIH4K\x07" in shown
    assert MARKUP in shown  # printed, not read as Rich markup
    assert r'"yes\x9b31m\x7f\u001b[2J"' in shown  # the value as JSON, then escaped
    assert r"deploy\x1b[2J" in shown
    assert r"r1\u202e" in shown
    assert "second line" in shown  # a prompt keeps its lines


def test_show_through_a_pipe_escapes_too(hitl: Hitl, hitl_env: HitlEnv) -> None:
    request_id = hostile_event(hitl_env)
    result = hitl("show", request_id)
    assert result.code == 0, result.stderr
    assert_escaped(result.stdout)
    assert MARKUP in result.stdout


def test_ls_on_a_terminal_escapes_names_runs_and_prompts(hitl_env: HitlEnv) -> None:
    hostile_event(hitl_env, answered=False)
    listed = on_terminal(hitl_env, "ls")
    assert_escaped(listed)
    assert r"deploy\x1b[2J" in listed
    assert r"Ship it?\x1b]52;" in listed


def test_a_cancel_reason_is_shown_on_one_line(hitl: Hitl, hitl_env: HitlEnv) -> None:
    request_id = hostile_event(hitl_env, answered=False)
    reason = f"done\nstatus    answered{CLIPBOARD}"  # would fake a row of `show`
    Client(store=str(hitl_env.store), user="bo").cancel(request_id, reason=reason)
    result = hitl("show", request_id)
    assert_escaped(result.stdout)
    assert r"done\nstatus    answered\x1b]52;" in result.stdout
    assert [line for line in result.stdout.splitlines() if line.startswith("status")] == [
        "status    cancelled"
    ]


def test_answer_and_its_errors_print_stored_text_escaped(hitl: Hitl, hitl_env: HitlEnv) -> None:
    request_id = hostile_event(hitl_env, answered=False)
    done = hitl("answer", request_id, f"ok{CSI_C1}")
    assert done.code == 0, done.stderr
    assert_escaped(done.stdout)
    assert r"ok\x9b31m" in done.stdout

    again = hitl("answer", request_id, f"no{CLIPBOARD}")
    assert again.code == 1
    assert_escaped(again.stderr)


def test_an_error_quoting_who_answered_is_escaped(hitl: Hitl, hitl_env: HitlEnv) -> None:
    request_id = hostile_event(hitl_env)  # answered by a hostile name
    result = hitl("answer", request_id, "no")
    assert result.code == 1
    assert_escaped(result.stderr)
    assert r"ana\x1b]52;" in result.stderr


def test_a_retry_saying_who_answered_is_escaped(hitl: Hitl, hitl_env: HitlEnv) -> None:
    request_id = hostile_event(hitl_env, answered=False)
    user = f"ana{CLIPBOARD}"
    assert hitl("answer", request_id, "ok", HITL_USER=user).code == 0
    again = hitl("answer", request_id, "ok", HITL_USER=user)  # the same answer: a retry
    assert again.code == 0, again.stderr
    assert "Already recorded" in again.stdout
    assert_escaped(again.stdout)
    assert r"ana\x1b]52;" in again.stdout


def test_the_interactive_question_is_escaped(hitl_env: HitlEnv) -> None:
    request_id = hostile_event(hitl_env, answered=False)
    done = subprocess.run(
        [*HITL, "answer", request_id],
        input="fine\n",
        cwd=hitl_env.cwd,
        env=hitl_env.vars,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert_escaped(done.stderr)
    assert r"Ship it?\x1b]52;" in done.stderr


@pytest.mark.parametrize("command", ["ls", "show"])
def test_json_output_carries_no_raw_control_characters(
    hitl: Hitl, hitl_env: HitlEnv, command: str
) -> None:
    request_id = hostile_event(hitl_env)
    args = (
        ["ls", "--status", "all", "--json"] if command == "ls" else ["show", request_id, "--json"]
    )
    result = hitl(*args)
    assert result.code == 0, result.stderr
    assert_escaped(result.stdout)
    data = json.loads(result.stdout)
    event = data[0] if command == "ls" else data
    assert event["outcome"]["by"] == f"ana{CLIPBOARD}{MARKUP}"  # whole, for scripts
