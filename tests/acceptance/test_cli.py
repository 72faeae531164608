"""`hitl ls / show / answer / cancel / serve`, run as a user runs them."""

from __future__ import annotations

import json
import signal
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest

import hitlkit

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl, HitlEnv, Spawn

T = TypeVar("T")


def ask(env: HitlEnv, name: str, data_type: type[T], run_id: str = "r1", **options: Any) -> str:
    """Create an event in the test's store, as a workflow would; return its id."""
    event = hitlkit.new_event(
        name, data_type=data_type, run_id=run_id, store=str(env.store), serve=False, **options
    )
    return event.request_id


def row_of(stdout: str, request_id: str) -> list[str]:
    [line] = [line for line in stdout.splitlines() if line.startswith(request_id)]
    return line.split()


def status_of(env: HitlEnv, request_id: str) -> str:
    return hitlkit.get_event(request_id, store=str(env.store)).status


def outcome_of(env: HitlEnv, request_id: str) -> hitlkit.Outcome:
    outcome = hitlkit.get_event(request_id, store=str(env.store)).outcome
    assert outcome is not None, f"{request_id} has no outcome"
    return outcome


# -- ls -------------------------------------------------------------------------


def test_ls_with_no_events_says_so(hitl: Hitl, hitl_env: HitlEnv) -> None:
    result = hitl("ls")
    assert result.code == 0
    assert result.stdout == "No pending events.\n"
    assert result.stderr == f"store: {hitl_env.store} (HITL_STORE)\n"  # stdout is the listing


def test_ls_shows_one_row_per_open_event(hitl: Hitl, hitl_env: HitlEnv) -> None:
    add = ask(hitl_env, "add_to_x", int, prompt="What should I add to x?")
    ok = ask(hitl_env, "approve", bool, run_id="r2", prompt="Deploy?", timeout_seconds=600)

    result = hitl("ls")

    assert result.code == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "RUN", "TYPE", "STATUS", "AGE", "DEADLINE", "PROMPT"]
    assert len(rows) == 2
    assert row_of(result.stdout, add)[1:5] == ["add_to_x", "r1", "int", "pending"]
    assert row_of(result.stdout, add)[6:] == ["in", "59m", "What", "should", "I", "add", "to", "x?"]
    assert row_of(result.stdout, ok)[1:5] == ["approve", "r2", "bool", "pending"]
    assert row_of(result.stdout, ok)[6:] == ["in", "9m", "Deploy?"]


def test_ls_filters_by_status_run_and_name(hitl: Hitl, hitl_env: HitlEnv) -> None:
    add = ask(hitl_env, "add_to_x", int)
    other = ask(hitl_env, "add_to_x", int, run_id="r2")
    assert hitl("answer", add, "5").code == 0

    assert row_of(hitl("ls").stdout, other)
    assert add not in hitl("ls").stdout
    assert row_of(hitl("ls", "--status", "resolved").stdout, add)[4] == "answered"
    assert other not in hitl("ls", "--status", "all", "--run-id", "r1").stdout
    assert hitl("ls", "--name", "nothing").stdout == "No pending events named 'nothing'.\n"
    assert hitl("ls", "--run-id", "r9").stdout == "No pending events in run 'r9'.\n"


def test_ls_filters_by_assignee(hitl: Hitl, hitl_env: HitlEnv) -> None:
    mine = ask(hitl_env, "mine", int, assignees=["ana", "bo"])
    theirs = ask(hitl_env, "theirs", int, assignees=["cy"])

    listed = hitl("ls", "--assignee", "ana").stdout
    assert row_of(listed, mine)
    assert theirs not in listed
    assert hitl("ls", "--assignee", "dee").stdout == "No pending events assigned to 'dee'.\n"


def test_ls_json_is_a_list_of_events(hitl: Hitl, hitl_env: HitlEnv) -> None:
    add = ask(hitl_env, "add_to_x", int, prompt="What should I add to x?")

    result = hitl("ls", "--json")

    assert result.code == 0, result.stderr
    [event] = json.loads(result.stdout)
    assert event["request_id"] == add
    assert event["name"] == "add_to_x"
    assert event["data_type"] == "int"
    assert event["status"] == "pending"
    assert event["prompt"] == "What should I add to x?"
    assert json.loads(hitl("ls", "--json", "--status", "resolved").stdout) == []


def test_ls_empty_json_is_an_empty_list(hitl: Hitl) -> None:
    assert json.loads(hitl("ls", "--json").stdout) == []


# -- show -----------------------------------------------------------------------


def test_show_prints_every_field(hitl: Hitl, hitl_env: HitlEnv) -> None:
    add = ask(hitl_env, "add_to_x", int, prompt="What should I add to x?")

    result = hitl("show", add)

    assert result.code == 0, result.stderr
    fields = dict(line.split(maxsplit=1) for line in result.stdout.splitlines() if line)
    assert fields["id"] == add
    assert fields["name"] == "add_to_x"
    assert fields["run"] == "r1"
    assert fields["type"] == "int"
    assert fields["expects"] == "an integer"
    assert fields["status"] == "pending"
    assert fields["prompt"] == "What should I add to x?"
    assert fields["timeout"] == "1h"
    assert "in 59m" in fields["deadline"]
    assert f"hitl answer {add} VALUE" in result.stdout


def test_show_includes_the_outcome_once_answered(hitl: Hitl, hitl_env: HitlEnv) -> None:
    add = ask(hitl_env, "add_to_x", int)
    assert hitl("answer", add, "5", "--by", "ana").code == 0

    result = hitl("show", add)

    fields = dict(line.split(maxsplit=1) for line in result.stdout.splitlines() if line)
    assert fields["status"] == "answered"
    assert fields["value"] == "5"
    assert fields["by"] == "ana"
    assert fields["via"] == "cli"
    assert "UTC" in fields["at"]


def test_show_json_has_the_outcome(hitl: Hitl, hitl_env: HitlEnv) -> None:
    add = ask(hitl_env, "add_to_x", int)
    assert hitl("answer", add, "5").code == 0

    event = json.loads(hitl("show", add, "--json").stdout)

    assert event["request_id"] == add
    assert event["status"] == "answered"
    assert event["outcome"]["value"] == 5
    assert event["outcome"]["by"] == "tester"


# -- answer ---------------------------------------------------------------------


def test_answer_records_the_value_in_the_events_type(hitl: Hitl, hitl_env: HitlEnv) -> None:
    add = ask(hitl_env, "add_to_x", int)

    result = hitl("answer", add, "5")

    assert result.code == 0, result.stderr
    assert result.stdout == f"Recorded 5 for add_to_x ({add}).\n"
    outcome = outcome_of(hitl_env, add)
    assert (outcome.value, outcome.by, outcome.via) == (5, "tester", "cli")


@pytest.mark.parametrize(
    ("data_type", "text", "recorded"),
    [
        (bool, "yes", "true"),
        (int, "-5", "-5"),
        (float, "2.5", "2.5"),
        (str, "hi there", '"hi there"'),
    ],
)
def test_answer_parses_text_as_a_person_types_it(
    hitl: Hitl, hitl_env: HitlEnv, data_type: type[object], text: str, recorded: str
) -> None:
    request_id = ask(hitl_env, "q", data_type)

    result = hitl("answer", request_id, text)

    assert result.code == 0, result.stderr
    assert result.stdout == f"Recorded {recorded} for q ({request_id}).\n"


def test_answer_by_comes_from_option_or_hitl_user(hitl: Hitl, hitl_env: HitlEnv) -> None:
    first = ask(hitl_env, "first", int)
    second = ask(hitl_env, "second", int)

    assert hitl("answer", first, "1", "--by", "ana").code == 0
    assert hitl("answer", second, "2", HITL_USER="bo").code == 0

    assert outcome_of(hitl_env, first).by == "ana"
    assert outcome_of(hitl_env, second).by == "bo"


def test_answer_of_the_wrong_type_fails_and_leaves_the_event_open(
    hitl: Hitl, hitl_env: HitlEnv
) -> None:
    add = ask(hitl_env, "add_to_x", int)

    result = hitl("answer", add, "five")

    assert result.code == 1
    assert "an integer" in result.error_line()
    assert "'five'" in result.error_line()
    assert result.stdout == ""
    assert status_of(hitl_env, add) == "pending"


def test_second_answer_fails_and_the_first_stands(hitl: Hitl, hitl_env: HitlEnv) -> None:
    add = ask(hitl_env, "add_to_x", int)
    assert hitl("answer", add, "5").code == 0

    result = hitl("answer", add, "6")

    assert result.code == 1
    assert "already answered" in result.error_line()
    # The winner in one line: what, who, when, through which channel.
    assert " 5 by tester at " in result.error_line()
    assert " UTC " in result.error_line()
    assert "via cli" in result.error_line()
    assert result.stdout == ""
    assert outcome_of(hitl_env, add).value == 5


def test_answer_run_again_says_it_was_already_recorded(hitl: Hitl, hitl_env: HitlEnv) -> None:
    add = ask(hitl_env, "add_to_x", int)
    assert hitl("answer", add, "5").code == 0

    again = hitl("answer", add, "5")

    assert again.code == 0, again.stderr
    assert again.stdout.startswith("Already recorded: 5 by tester at ")
    assert again.stdout.endswith(f" via cli, for add_to_x ({add}).\n")
    assert again.stderr == ""
    # The key the command sends is kept as a hash, so another process knows the retry.
    assert outcome_of(hitl_env, add).idempotency_sha256 is not None


# -- cancel ---------------------------------------------------------------------


def test_cancel_closes_the_event_with_a_reason(hitl: Hitl, hitl_env: HitlEnv) -> None:
    add = ask(hitl_env, "add_to_x", int)

    result = hitl("cancel", add, "--reason", "not needed")

    assert result.code == 0, result.stderr
    assert result.stdout == f"Cancelled add_to_x ({add}).\n"
    assert status_of(hitl_env, add) == "cancelled"
    assert outcome_of(hitl_env, add).reason == "not needed"
    late = hitl("answer", add, "5")
    assert late.code == 1
    assert "cancelled" in late.error_line()


# -- ids ------------------------------------------------------------------------


def test_a_unique_prefix_stands_for_the_id(hitl: Hitl, hitl_env: HitlEnv) -> None:
    add = ask(hitl_env, "add_to_x", int)

    assert json.loads(hitl("show", add[:10], "--json").stdout)["request_id"] == add
    assert hitl("answer", add[:12].upper(), "5").stdout == f"Recorded 5 for add_to_x ({add}).\n"
    other = ask(hitl_env, "other", int, run_id="r2")
    assert hitl("cancel", other[:6]).stdout == f"Cancelled other ({other}).\n"


def test_an_ambiguous_prefix_is_refused(hitl: Hitl, hitl_env: HitlEnv) -> None:
    # Events of one run share their first 8 digits.
    first = ask(hitl_env, "first", int)
    second = ask(hitl_env, "second", int)
    assert first[:8] == second[:8]

    result = hitl("answer", first[:8], "5")

    assert result.code == 1
    assert "matches 2 events" in result.error_line()
    assert status_of(hitl_env, first) == status_of(hitl_env, second) == "pending"


@pytest.mark.parametrize("command", [["show"], ["answer", "5"], ["cancel"]])
def test_an_unknown_id_is_an_error_naming_where_it_looked(
    hitl: Hitl, hitl_env: HitlEnv, command: list[str]
) -> None:
    result = hitl(command[0], "0123456789abcdef01234567", *command[1:])
    ask(hitl_env, "add_to_x", int)
    existing = hitl(command[0], "0123456789abcdef01234567", *command[1:])

    assert result.code == existing.code == 1
    store = hitl_env.store.resolve().as_uri()
    assert result.error_line() == (
        f"error: no event with id '0123456789abcdef01234567' in {store} "
        "(no store there yet: see `hitl where`)"
    )
    assert existing.error_line() == f"error: no event with id '0123456789abcdef01234567' in {store}"


def test_a_too_short_prefix_is_refused(hitl: Hitl, hitl_env: HitlEnv) -> None:
    add = ask(hitl_env, "add_to_x", int)

    result = hitl("show", add[:4])

    assert result.code == 2  # bad usage, as the README's exit codes say
    assert "at least 6 hex digits" in result.error_line()


# -- store or endpoint ------------------------------------------------------------


def test_store_and_endpoint_together_are_refused(hitl: Hitl, hitl_env: HitlEnv) -> None:
    result = hitl("ls", "--store", str(hitl_env.store), "--endpoint", hitl_env.endpoint)

    assert result.code == 2
    assert result.error_line() == "error: give either --store or --endpoint, not both"


def test_an_unreachable_endpoint_is_one_error_line(hitl: Hitl, hitl_env: HitlEnv) -> None:
    # Nothing listens at the test's endpoint.
    result = hitl("ls", "--endpoint", hitl_env.endpoint)

    assert result.code == 1
    assert "could not reach the hitlkit app" in result.error_line()


def test_hitl_endpoint_alone_does_not_switch_to_http(hitl: Hitl, hitl_env: HitlEnv) -> None:
    # HITL_ENDPOINT is set and nothing listens there: the store is still used.
    add = ask(hitl_env, "add_to_x", int)

    assert hitl("answer", add, "5").code == 0


def test_serve_then_answer_over_http(hitl: Hitl, hitl_env: HitlEnv, spawn: Spawn) -> None:
    add = ask(hitl_env, "add_to_x", int)
    port = hitl_env.endpoint.rpartition(":")[2]
    server = spawn.hitl("serve", "--port", port)
    server.expect(rf"http://127\.0\.0\.1:{port}")
    hitl_env.wait_until_serving()

    listed = hitl("ls", "--json", "--endpoint", hitl_env.endpoint)
    assert [e["request_id"] for e in json.loads(listed.stdout)] == [add]
    bad = hitl("answer", add, "five", HITL_CLIENT_ENDPOINT=hitl_env.endpoint)
    assert bad.code == 1
    assert "an integer" in bad.error_line()
    good = hitl("answer", add[:10], "5", HITL_CLIENT_ENDPOINT=hitl_env.endpoint)
    assert good.stdout == f"Recorded 5 for add_to_x ({add}).\n"
    rerun = hitl("answer", add[:10], "5", HITL_CLIENT_ENDPOINT=hitl_env.endpoint)
    assert (rerun.code, rerun.stdout[:29]) == (0, "Already recorded: 5 by tester")
    again = hitl("answer", add, "6", "--endpoint", hitl_env.endpoint)
    assert again.code == 1
    assert "already answered" in again.error_line()
    outcome = httpx.get(f"{hitl_env.endpoint}/api/events/{add}").json()["outcome"]
    assert (outcome["value"], outcome["by"]) == (5, "tester")

    server.signal(signal.SIGINT)
    assert server.finish() == 0
    assert "error" not in server.stderr
    assert "Traceback" not in server.stderr


def test_serve_on_a_taken_port_is_one_error_line(
    spawn: Spawn, hitl: Hitl, hitl_env: HitlEnv
) -> None:
    port = hitl_env.endpoint.rpartition(":")[2]
    spawn.hitl("serve", "--port", port)
    hitl_env.wait_until_serving()

    result = hitl("serve", "--port", port)

    assert result.code == 1
    assert "Address already in use" in result.error_line()


# -- the command itself -------------------------------------------------------------


def test_version(hitl: Hitl) -> None:
    result = hitl("--version")

    assert result.code == 0
    assert result.stdout == f"hitl (hitlkit) {hitlkit.__version__}\n"


def test_help_lists_the_commands_and_exit_codes(hitl: Hitl) -> None:
    result = hitl("--help")

    assert result.code == 0
    for command in ("serve", "ls", "show", "answer", "cancel", "demo"):
        assert f" {command} " in result.stdout
    assert "Exit codes" in result.stdout
    assert "HITL_CLIENT_ENDPOINT" in result.stdout


def test_a_usage_error_exits_2(hitl: Hitl) -> None:
    result = hitl("answer")

    assert result.code == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("typed", "approved"), [("yes", True), ("Reject", False)])
def test_an_approval_is_answered_with_yes_or_no(
    hitl: Hitl, hitl_env: HitlEnv, typed: str, approved: bool
) -> None:
    event = hitlkit.ask_approval(
        "deploy", {"service": "api"}, store=str(hitl_env.store), serve=False
    )
    shown = hitl("show", event.request_id)
    assert shown.stdout.rstrip().endswith(f"answer {event.request_id} yes|no")
    done = hitl("answer", event.request_id, typed)
    assert done.code == 0, done.stderr
    outcome = event.outcome()
    assert outcome is not None
    assert outcome.value == {"approved": approved}
    again = hitl("answer", event.request_id, typed)  # the same command: a retry
    assert again.code == 0, again.stderr
