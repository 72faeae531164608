"""Tool approvals of the OpenAI Agents SDK, asked through hitlkit: the real SDK, a scripted model.

No network and no OpenAI client: the model is `ScriptedModel`, tracing is off, and
`OPENAI_API_KEY` is unset (with the API's address pointing at a closed port), so
any attempt to reach OpenAI fails the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "agents", reason='openai-agents is not installed (pip install "hitlkit[openai-agents]")'
)

from agents import Runner, RunResult, ToolApprovalItem
from agents.models import openai_provider

import hitlkit
from hitlkit import LocalStore
from hitlkit.contrib.openai_agents import ToolApprovals
from hitlkit.contrib.openai_agents._calls import ToolCall
from tests.integration.openai_agents_clerk import ONE_REFUND, clerk

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "openai_agents_approval.py"
TIMEOUT = 30.0
NO_REASON = "Not approved by a person."


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_AGENTS_DISABLE_TRACING", "1")
    before = getattr(openai_provider, "_http_client", None)
    yield
    # The SDK makes its shared HTTP client for OpenAI on first use: this test made none.
    assert getattr(openai_provider, "_http_client", None) is before


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    store = LocalStore(tmp_path / "store")
    yield store
    store.close()


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """Where the `refund` tool writes each refund it makes."""
    return tmp_path / "ledger.txt"


def approvals_for(tmp_path: Path, store: LocalStore, **options: Any) -> ToolApprovals:
    return ToolApprovals(tmp_path / "run.json", run_id="r1", store=store, serve=False, **options)


def refunds(ledger: Path) -> list[str]:
    return ledger.read_text(encoding="utf-8").splitlines() if ledger.exists() else []


def interrupted(ledger: Path, calls: Any = ONE_REFUND) -> tuple[Any, RunResult]:
    agent = clerk(ledger, calls)
    result = asyncio.run(Runner.run(agent, "Refund order 42"))
    assert [item.name for item in result.interruptions] == ["refund"] * len(calls)
    return agent, result


def test_an_approved_tool_call_runs_and_the_run_ends(
    tmp_path: Path, store: LocalStore, ledger: Path
) -> None:
    approvals = approvals_for(tmp_path, store)
    agent, result = interrupted(ledger)

    [event] = approvals.ask(result)
    assert refunds(ledger) == []
    assert event.run_id == "r1"
    hitlkit.answer(event.request_id, {"approved": True}, store=store)
    done = approvals.resume(agent)

    assert refunds(ledger) == ["42 12.5"]
    assert done.final_output == "done: refunded 12.5 on order 42"
    assert done.interruptions == []


def test_a_rejection_reaches_the_model_with_its_reason(
    tmp_path: Path, store: LocalStore, ledger: Path
) -> None:
    approvals = approvals_for(tmp_path, store)
    agent, result = interrupted(ledger)

    [event] = approvals.ask(result)
    hitlkit.answer(event.request_id, {"approved": False, "reason": "over the limit"}, store=store)
    done = approvals.resume(agent)

    assert refunds(ledger) == []
    assert done.final_output == f"done: {NO_REASON} Their reason: over the limit"


def test_the_question_names_the_tool_and_shows_its_arguments_redacted(
    tmp_path: Path, store: LocalStore, ledger: Path
) -> None:
    _, result = interrupted(ledger)

    [event] = approvals_for(tmp_path, store).ask(result)

    assert event.name.startswith("refund:call_1:")
    for shown in ("refund", "clerk", "order", "42", "12.5"):
        assert shown in event.prompt
    assert "s3cret-t0ken" not in event.prompt
    assert "s3cret-t0ken" not in json.dumps(event.record.model_dump(mode="json"))


def test_asking_again_finds_the_same_events(
    tmp_path: Path, store: LocalStore, ledger: Path
) -> None:
    _, result = interrupted(ledger)
    first = approvals_for(tmp_path, store).ask(result)

    again = approvals_for(tmp_path, store).ask(result)

    assert [e.request_id for e in again] == [e.request_id for e in first]
    assert len(hitlkit.list_events(store=store)) == 1


def test_each_call_is_asked_about_even_when_two_are_identical(
    tmp_path: Path, store: LocalStore, ledger: Path
) -> None:
    arguments = {"order": 7, "amount": 1.0, "api_token": "t"}
    calls = [("call_a", "refund", arguments), ("call_b", "refund", arguments)]
    approvals = approvals_for(tmp_path, store)
    agent, result = interrupted(ledger, calls)

    yes, no = approvals.ask(result)
    assert yes.request_id != no.request_id
    hitlkit.answer(yes.request_id, {"approved": True}, store=store)
    hitlkit.answer(no.request_id, {"approved": False}, store=store)
    done = approvals.resume(agent)

    assert refunds(ledger) == ["7 1.0"]
    assert done.final_output == f"done: refunded 1.0 on order 7 | {NO_REASON}"


def test_an_unanswered_call_is_rejected_at_its_deadline(
    tmp_path: Path, store: LocalStore, ledger: Path
) -> None:
    approvals = approvals_for(tmp_path, store, timeout_seconds=1)
    agent, result = interrupted(ledger)

    approvals.ask(result)
    done = approvals.resume(agent)

    assert refunds(ledger) == []
    assert done.final_output == (
        "done: Not approved: nobody answered the request for approval in time."
    )


def test_a_default_decides_an_unanswered_call(
    tmp_path: Path, store: LocalStore, ledger: Path
) -> None:
    approvals = approvals_for(tmp_path, store, timeout_seconds=1, default=True)
    agent, result = interrupted(ledger)

    approvals.ask(result)
    done = approvals.resume(agent)

    assert refunds(ledger) == ["42 12.5"]
    assert done.final_output == "done: refunded 12.5 on order 42"


def test_a_cancelled_question_rejects_the_call_with_the_reason(
    tmp_path: Path, store: LocalStore, ledger: Path
) -> None:
    approvals = approvals_for(tmp_path, store)
    agent, result = interrupted(ledger)

    [event] = approvals.ask(result)
    hitlkit.cancel(event.request_id, reason="wrong customer", store=store)
    done = approvals.resume(agent)

    assert refunds(ledger) == []
    assert done.final_output == (
        "done: Not approved: the request for approval was cancelled. Their reason: wrong customer"
    )


def test_a_default_of_no_rejects_an_unanswered_call(
    tmp_path: Path, store: LocalStore, ledger: Path
) -> None:
    approvals = approvals_for(tmp_path, store, timeout_seconds=1, default=False)
    agent, result = interrupted(ledger)

    approvals.ask(result)
    done = approvals.resume(agent)

    assert refunds(ledger) == []
    assert done.final_output == (
        "done: Not approved: nobody answered the request for approval in time."
    )


def test_run_asks_waits_and_removes_the_saved_state_at_the_end(
    tmp_path: Path, store: LocalStore, ledger: Path
) -> None:
    approvals = approvals_for(tmp_path, store)
    agent = clerk(ledger, ONE_REFUND)
    answerer = threading.Thread(target=answer_when_asked, args=(store, {"approved": True}))
    answerer.start()

    done = asyncio.run(approvals.run.aio(agent, "Refund order 42"))
    answerer.join(TIMEOUT)

    assert done.final_output == "done: refunded 12.5 on order 42"
    assert refunds(ledger) == ["42 12.5"]
    assert not approvals.state_path.exists()


def test_a_dict_context_is_saved_with_the_run(
    tmp_path: Path, store: LocalStore, ledger: Path
) -> None:
    approvals = approvals_for(tmp_path, store)
    agent = clerk(ledger, ONE_REFUND)
    answerer = threading.Thread(target=answer_when_asked, args=(store, {"approved": True}))
    answerer.start()

    done = approvals.run(agent, "Refund order 42", context={"currency": "EUR"})
    answerer.join(TIMEOUT)

    assert done.final_output == "done: refunded 12.5 EUR on order 42"


def test_a_saved_state_of_another_run_is_refused(
    tmp_path: Path, store: LocalStore, ledger: Path
) -> None:
    agent, result = interrupted(ledger)
    approvals_for(tmp_path, store).ask(result)

    other = ToolApprovals(tmp_path / "run.json", run_id="r2", store=store, serve=False)
    with pytest.raises(ValueError, match="'r1', not 'r2'"):
        other.resume(agent)


def test_a_file_that_is_no_saved_run_is_refused(
    tmp_path: Path, store: LocalStore, ledger: Path
) -> None:
    approvals = approvals_for(tmp_path, store)
    agent = clerk(ledger, ONE_REFUND)

    with pytest.raises(FileNotFoundError, match="no saved agent run"):
        approvals.resume(agent)
    approvals.state_path.write_text('{"tokens": []}', encoding="utf-8")
    with pytest.raises(ValueError, match=r'expected \{"format": "hitlkit\.openai-agents/1"'):
        approvals.resume(agent)


def test_a_result_without_interruptions_has_nothing_to_ask(
    tmp_path: Path, store: LocalStore, ledger: Path
) -> None:
    agent = clerk(ledger, [])  # calls no tool: answers at once
    result = asyncio.run(Runner.run(agent, "Refund order 42"))

    with pytest.raises(ValueError, match="no interruptions"):
        approvals_for(tmp_path, store).ask(result)


@pytest.mark.parametrize(
    ("raw", "name", "arguments"),
    [
        (
            {"type": "function_call", "name": "wipe", "call_id": "c9", "arguments": "not json"},
            "wipe:c9:",
            {"arguments": "not json"},
        ),
        (
            {"type": "custom_tool_call", "name": "shell", "id": "i3", "input": '["ls", "-l"]'},
            "shell:i3:",
            {"arguments": ["ls", "-l"]},
        ),
    ],
)
def test_tool_calls_of_other_shapes_are_asked_about_too(
    raw: dict[str, Any], name: str, arguments: dict[str, Any], ledger: Path
) -> None:
    call = ToolCall.of(ToolApprovalItem(agent=clerk(ledger, []), raw_item=raw))

    assert call.event_name() == hitlkit.approval_name(
        raw["name"], arguments, call_id=name[:-1].split(":")[1]
    )
    assert call.event_name().startswith(name)
    assert (call.arguments, call.agent) == (arguments, "clerk")


def test_a_call_without_an_id_is_named_by_its_arguments(ledger: Path) -> None:
    raw = {"type": "function_call", "name": "wipe", "arguments": '{"disk": "sda"}'}
    call = ToolCall.of(ToolApprovalItem(agent=clerk(ledger, []), raw_item=raw))

    assert call.call_id is None
    assert call.event_name() == hitlkit.approval_name("wipe", {"disk": "sda"})


def answer_when_asked(store: LocalStore, value: object) -> str:
    """Wait for one pending approval in `store`, answer it with `value`, return its id."""
    deadline = time.monotonic() + TIMEOUT
    while not (pending := hitlkit.list_events(store=store)):
        assert time.monotonic() < deadline, "no approval was asked for"
        time.sleep(0.05)
    [event] = pending
    hitlkit.answer(event.request_id, value, store=store)
    return event.request_id


@pytest.mark.parametrize("run_id", ["r1", "-"], ids=["run_id given", "each process's own"])
def test_a_run_killed_while_waiting_is_finished_by_a_new_process(
    tmp_path: Path, store: LocalStore, ledger: Path, run_id: str
) -> None:
    """Without a run id, the saved run keeps the first process's: the second finds its events."""
    args = [str(tmp_path / "run.json"), str(store.root), run_id, str(ledger)]
    first = spawn_clerk(args)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (pending := hitlkit.list_events(store=store)):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the agent asked for no approval"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=TIMEOUT)
        assert first.returncode == -signal.SIGKILL
    finally:
        first.kill()
        first.communicate(timeout=TIMEOUT)
    [event] = pending
    assert event.name.startswith("refund")
    assert (tmp_path / "run.json").exists()

    answered = subprocess.run(
        [
            sys.executable,
            "-m",
            "hitlkit._cli",
            "answer",
            "--store",
            str(store.root),
            event.request_id,
            '{"approved": true}',
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=child_env(),
        check=False,
    )
    assert answered.returncode == 0, answered.stderr
    with spawn_clerk(args) as second:
        try:
            out, err = second.communicate(timeout=TIMEOUT)
        finally:
            second.kill()  # when it waits on: it did not find the answer

    assert second.returncode == 0, err
    assert "final: done: refunded 12.5 on order 42" in out
    assert refunds(ledger) == ["42 12.5"]
    assert not (tmp_path / "run.json").exists()
    assert hitlkit.list_events(store=store) == []


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HITL_", "OPENAI_API"))}
    return {**env, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}


def spawn_clerk(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.openai_agents_clerk", *args],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_importing_without_the_sdk_says_how_to_install_it() -> None:
    code = "import sys; sys.modules['agents'] = None; import hitlkit.contrib.openai_agents"
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=child_env(),
        check=False,
    )

    assert run.returncode == 1
    assert 'pip install "hitlkit[openai-agents]"' in run.stderr
    assert "ModuleNotFoundError" in run.stderr


def test_the_example_asks_and_tells_the_model_the_answer(tmp_path: Path, store: LocalStore) -> None:
    env = {**child_env(), "HITL_STORE": str(store.root), "HITL_AUTOSTART": "0"}
    with subprocess.Popen(
        [sys.executable, str(EXAMPLE)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as example:
        assert example.stdout is not None
        asked = example.stdout.readline()
        assert asked.startswith("refund:call_refund_42:"), asked
        assert " waits for approval: " in asked
        [event] = hitlkit.list_events(store=store)
        assert "tok_live_4242" not in event.prompt
        hitlkit.answer(event.request_id, {"approved": False, "reason": "too much"}, store=store)
        out, err = example.communicate(timeout=TIMEOUT)

    assert example.returncode == 0, err
    assert out.splitlines()[-1] == "Not approved by a person. Their reason: too much"
    assert not (tmp_path / "refund-42.json").exists()


def test_an_id_used_again_with_other_arguments_is_another_question(ledger: Path) -> None:
    def call_of(arguments: str) -> ToolCall:
        raw = {
            "type": "function_call",
            "name": "refund",
            "call_id": "call_0",
            "arguments": arguments,
        }
        return ToolCall.of(ToolApprovalItem(agent=clerk(ledger, []), raw_item=raw))

    small = call_of('{"order": 42, "amount": 1}')
    large = call_of('{"order": 42, "amount": 9999}')
    assert small.event_name() != large.event_name()
    assert small.event_name() == call_of('{"amount": 1, "order": 42}').event_name()
