"""PydanticAI tool approvals answered through hitlkit: the real library, a scripted model."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai import Agent, DeferredToolRequests, ToolApproved, ToolDenied
from pydantic_ai.messages import (
    ModelMessage,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

import hitlkit as hitl
from hitlkit._sync import background_loop
from hitlkit.contrib.pydantic_ai import (
    approval_event_name,
    ask_tool_approvals,
    run_with_approvals,
    tool_approval_results,
)
from hitlkit.testing import Responder

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "pydantic_ai_approval.py"
CALL = ToolCallPart(
    "delete_file", {"path": "/srv/old.csv", "api_token": "tok-123"}, tool_call_id="call-1"
)
NAME = approval_event_name(CALL)


class Script:
    """A scripted model: calls `delete_file` once, then reports what the tool returned."""

    def __init__(self) -> None:
        self.seen: list[str] = []  # every tool return the model was shown

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        returned = [
            part
            for message in messages
            for part in message.parts
            if isinstance(part, ToolReturnPart)
        ]
        if not returned:
            return ModelResponse(parts=[CALL])
        self.seen = [str(part.content) for part in returned]
        return ModelResponse(parts=[TextPart(f"tool said: {returned[-1].content}")])


def make_agent(script: Script, deleted: list[str]) -> Agent[None, str | DeferredToolRequests]:
    agent = Agent(FunctionModel(script), output_type=[str, DeferredToolRequests])

    @agent.tool_plain(requires_approval=True)
    def delete_file(path: str, api_token: str) -> str:
        deleted.append(path)
        return f"deleted {path}"

    return agent


@pytest.fixture
def store() -> hitl.MemoryStore:
    return hitl.MemoryStore()


def answering(store: hitl.Store, value: dict[str, Any]) -> Responder:
    return Responder({NAME: value}, store=store, by="ana")


def test_an_approved_call_runs_and_the_checkpoint_is_gone(
    store: hitl.MemoryStore, tmp_path: Path
) -> None:
    script, deleted = Script(), list[str]()
    checkpoint = tmp_path / "run.json"
    with answering(store, {"approved": True}):
        result = run_with_approvals(
            make_agent(script, deleted),
            "remove the old file",
            checkpoint=checkpoint,
            store=store,
            serve=False,
        )
    assert result.output == "tool said: deleted /srv/old.csv"
    assert deleted == ["/srv/old.csv"]
    assert not checkpoint.exists()


def test_a_denial_reaches_the_model_with_the_reason(store: hitl.MemoryStore) -> None:
    script, deleted = Script(), list[str]()
    with answering(store, {"approved": False, "reason": "keep it until Friday"}):
        result = run_with_approvals(
            make_agent(script, deleted), "remove the old file", store=store, serve=False
        )
    assert deleted == []
    assert script.seen == ["A person denied this tool call: keep it until Friday"]
    assert "keep it until Friday" in result.output


def test_each_call_of_each_round_is_asked_and_answered_on_its_own(
    store: hitl.MemoryStore,
) -> None:
    def calls(*paths: str) -> list[ToolCallPart]:
        return [
            ToolCallPart("delete_file", {"path": p, "api_token": "t"}, tool_call_id=f"id-{p}")
            for p in paths
        ]

    first, second = calls("a", "b"), calls("c")
    seen: list[str] = []

    def two_rounds(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        returned = [
            str(part.content)
            for message in messages
            for part in message.parts
            if isinstance(part, ToolReturnPart)
        ]
        if not returned:
            return ModelResponse(parts=list(first))
        if len(returned) == 2:
            return ModelResponse(parts=list(second))
        seen.extend(returned)
        return ModelResponse(parts=[TextPart("done")])

    deleted: list[str] = []
    agent = make_agent(Script(), deleted)
    answers: dict[str, Any] = {
        approval_event_name(first[0]): {"approved": True},
        approval_event_name(first[1]): {"approved": False, "reason": "b stays"},
        approval_event_name(second[0]): {"approved": True},
    }
    with Responder(answers, store=store):
        result = run_with_approvals(
            agent, "go", store=store, serve=False, model=FunctionModel(two_rounds)
        )
    assert result.output == "done"
    assert deleted == ["a", "c"]
    assert seen == ["deleted a", "A person denied this tool call: b stays", "deleted c"]


def test_the_question_shows_the_call_with_secrets_hidden(store: hitl.MemoryStore) -> None:
    requests = DeferredToolRequests(approvals=[CALL])
    events = ask_tool_approvals(requests, run_id="r1", store=store, serve=False)
    event = events["call-1"]
    assert event.name == NAME
    assert "delete_file" in event.prompt
    assert "/srv/old.csv" in event.prompt
    assert "tok-123" not in event.prompt
    # Nor does the name, which the inbox shows: it is the same whatever the token.
    other_token = ToolCallPart(
        "delete_file", {"path": "/srv/old.csv", "api_token": "tok-456"}, tool_call_id="call-1"
    )
    assert approval_event_name(other_token) == NAME


def test_asking_again_finds_the_answer_without_a_second_question(
    store: hitl.MemoryStore,
) -> None:
    requests = DeferredToolRequests(approvals=[CALL])
    with answering(store, {"approved": True}):
        first = tool_approval_results(requests, run_id="r1", store=store, serve=False)
    # No one answers any more: the retried call must find the recorded answer.
    again = tool_approval_results(requests, run_id="r1", store=store, serve=False)
    assert first.approvals == again.approvals == {"call-1": ToolApproved()}
    assert again.answered_by == {"call-1": "ana"}
    events = hitl.list_events("all", run_id="r1", store=store)
    assert [event.name for event in events] == [NAME]


def test_another_call_with_the_same_id_is_another_question(store: hitl.MemoryStore) -> None:
    # Some models number their calls: a reused id with other arguments must not find
    # the first call's answer.
    other = ToolCallPart("delete_file", {"path": "/etc/passwd"}, tool_call_id="call-1")
    assert approval_event_name(other) != NAME
    with answering(store, {"approved": True}):
        tool_approval_results(
            DeferredToolRequests(approvals=[CALL]), run_id="r1", store=store, serve=False
        )
    events = ask_tool_approvals(
        DeferredToolRequests(approvals=[other]), run_id="r1", store=store, serve=False
    )
    assert events["call-1"].outcome() is None


def test_no_answer_in_time_denies_unless_a_default_is_given(store: hitl.MemoryStore) -> None:
    requests = DeferredToolRequests(approvals=[CALL])
    denied = tool_approval_results(
        requests, run_id="late", store=store, serve=False, timeout_seconds=0.2
    )
    decision = denied.approvals["call-1"]
    assert isinstance(decision, ToolDenied)
    assert "in time" in decision.message
    allowed = tool_approval_results(
        requests, run_id="late-ok", store=store, serve=False, timeout_seconds=0.2, default=True
    )
    assert allowed.approvals == {"call-1": ToolApproved()}
    refused = tool_approval_results(
        requests, run_id="late-no", store=store, serve=False, timeout_seconds=0.2, default=False
    )
    assert refused.approvals == {
        "call-1": ToolDenied("Nobody answered in time, and the default is to deny this tool call.")
    }


def test_a_cancelled_question_stops_the_run(store: hitl.MemoryStore) -> None:
    script, deleted = Script(), list[str]()

    async def main() -> None:
        asked: asyncio.Queue[hitl.Event[Any]] = asyncio.Queue()
        task = asyncio.ensure_future(
            run_with_approvals.aio(
                make_agent(script, deleted), "go", store=store, serve=False, on_ask=asked.put_nowait
            )
        )
        event = await asked.get()
        await event.cancel.aio("wrong file")
        await task

    with pytest.raises(hitl.ApprovalRejected, match="cancelled") as stopped:
        asyncio.run(main())
    assert stopped.value.reason == "wrong file"
    assert deleted == []


def test_a_cancelled_question_stops_the_waits_for_the_others(store: hitl.MemoryStore) -> None:
    requests = DeferredToolRequests(
        approvals=[ToolCallPart("delete_file", {"path": p}, tool_call_id=f"id-{p}") for p in "ab"]
    )
    asked: queue.Queue[str] = queue.Queue()
    canceller = threading.Thread(
        target=lambda: hitl.cancel(asked.get(timeout=30), reason="not today", store=store)
    )
    canceller.start()
    with pytest.raises(hitl.ApprovalRejected, match="cancelled"):
        tool_approval_results(
            requests,
            run_id="r1",
            store=store,
            serve=False,
            on_ask=lambda event: asked.put(event.request_id),
        )
    canceller.join(30)

    async def waits_left() -> list[str]:
        return [
            task.get_coro().__qualname__  # type: ignore[union-attr]
            for task in asyncio.all_tasks()
            if task is not asyncio.current_task()
        ]

    left = asyncio.run_coroutine_threadsafe(waits_left(), background_loop()).result(30)
    assert "_decision" not in left


def test_the_async_form_runs_to_the_end(store: hitl.MemoryStore) -> None:
    script, deleted = Script(), list[str]()

    async def main() -> Any:
        with answering(store, {"approved": True}):
            return await run_with_approvals.aio(
                make_agent(script, deleted), "go", store=store, serve=False
            )

    assert asyncio.run(main()).output == "tool said: deleted /srv/old.csv"


def test_a_bad_checkpoint_is_named(store: hitl.MemoryStore, tmp_path: Path) -> None:
    checkpoint = tmp_path / "run.json"
    checkpoint.write_text('{"not": "a history"}')
    with pytest.raises(ValueError, match=r"run\.json.*not a PydanticAI message history"):
        run_with_approvals(
            make_agent(Script(), []),
            "go",
            checkpoint=checkpoint,
            store=store,
            serve=False,
            timeout_seconds=1,
        )


def test_importing_without_pydantic_ai_says_what_to_install() -> None:
    code = "import sys; sys.modules['pydantic_ai'] = None\nimport hitlkit.contrib.pydantic_ai\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert 'pip install "hitlkit[pydantic-ai]"' in done.stderr


# -- a process killed while it waits, and a new one that resumes -------------------


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts, killed at teardown if still running (a failed test)."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        if process.stdout is not None and not process.stdout.closed:
            process.communicate(timeout=30)


def start_example(
    tmp_path: Path, env: dict[str, str], processes: list[subprocess.Popen[str]]
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), str(tmp_path / "run.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    processes.append(process)
    return process


def read_request_id(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("request_id="):
            return line.strip().partition("=")[2]
        assert line, f"the example ended without asking: {process.communicate()[1]}"
    raise AssertionError("the example did not ask in time")


@pytest.mark.slow
def test_a_killed_process_resumes_and_finds_the_answer(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    env = {
        **os.environ,
        "HITL_STORE": str(tmp_path / "store"),
        "HITL_AUTOSTART": "0",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    first = start_example(tmp_path, env, processes)
    request_id = read_request_id(first)
    assert (tmp_path / "run.json").exists()
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL

    answer = json.dumps({"approved": False, "reason": "keep it until Friday"})
    cli = subprocess.run(
        [sys.executable, "-m", "hitlkit", "answer", request_id, answer],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr

    second = start_example(tmp_path, env, processes)
    assert read_request_id(second) == request_id  # the same question, found again
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert out.strip() == "delete_file: A person denied this tool call: keep it until Friday"
    assert not (tmp_path / "run.json").exists()
    events = hitl.list_events("all", store=str(tmp_path / "store"))
    assert [event.request_id for event in events] == [request_id]
