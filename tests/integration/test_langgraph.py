"""hitlkit.contrib.langgraph with the real LangGraph: questions asked from nodes through
`interrupt()`, answered in a real folder store, and the threads resumed; a process
killed while it waits resumes in a new one (SQLite checkpoints, real SIGKILL)."""

from __future__ import annotations

import asyncio
import json
import operator
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send

import hitlkit
from hitlkit import NOT_GIVEN, LocalStore
from hitlkit.contrib.langgraph import (
    approve,
    ask,
    questions,
    resume_answered,
    wait_and_resume,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "langgraph_approval.py"
HITL = [sys.executable, "-m", "hitlkit._cli"]


class State(TypedDict, total=False):
    budget: int
    outcome: str
    visits: int


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    folder = LocalStore(tmp_path / "store")
    yield folder
    folder.close()


def budget_graph(store: LocalStore, **options: Any) -> Any:
    """One node that asks for a budget (catching nothing), then a node that counts visits."""

    def plan(state: State) -> State:
        budget = ask("How much may we spend?", int, name="budget", store=store, **options)
        return {"budget": budget}

    def count(state: State) -> State:
        return {"visits": state.get("visits", 0) + 1}

    builder = StateGraph(State)
    builder.add_node("plan", plan)
    builder.add_node("count", count)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "count")
    builder.add_edge("count", END)
    return builder.compile(checkpointer=InMemorySaver())


def thread(name: str) -> RunnableConfig:
    return {"configurable": {"thread_id": name}}


def paused_on(graph: Any, name: str) -> str:
    """The request id of the one hitlkit question thread `name` is paused on."""
    (question,) = questions(graph.get_state(thread(name)))
    return question.request_id


def test_a_node_asks_through_interrupt_and_gets_the_typed_answer(store: LocalStore) -> None:
    graph = budget_graph(store, serve=False)
    first = graph.invoke({}, thread("t1"))
    (pending,) = first["__interrupt__"]
    payload = pending.value
    assert payload["hitlkit"] == "ask"
    assert payload["prompt"] == "How much may we spend?"
    assert payload["data_type"] == "int"
    assert payload["run_id"] == "t1"
    assert payload["form_url"].endswith(f"/form/{payload['request_id']}")
    json.dumps(payload)  # a client can send it on as it is
    assert hitlkit.get_event(payload["request_id"], store=store).status == "pending"

    assert resume_answered(graph, ["t1"], store=store) == []  # nobody answered yet
    hitlkit.answer(payload["request_id"], "12", as_text=True, store=store)
    (resumed,) = resume_answered(graph, ["t1"], store=store)
    assert resumed.thread_id == "t1"
    assert resumed.request_ids == (payload["request_id"],)
    assert resumed.error is None
    assert resumed.output == {"budget": 12, "visits": 1}
    assert type(resumed.output["budget"]) is int
    # The re-run node found its event: one event in the run, nothing more to resume.
    assert [e.request_id for e in hitlkit.list_events("all", run_id="t1", store=store)] == [
        payload["request_id"]
    ]
    assert resume_answered(graph, ["t1"], store=store) == []


def test_only_answered_threads_are_resumed(store: LocalStore) -> None:
    graph = budget_graph(store, serve=False)
    for name in ("a", "b", "c"):
        graph.invoke({}, thread(name))
    hitlkit.answer(paused_on(graph, "b"), 3, store=store)
    (resumed,) = resume_answered(graph, ["a", thread("b"), "c", "never-started"], store=store)
    assert resumed.thread_id == "b"
    assert graph.get_state(thread("b")).values == {"budget": 3, "visits": 1}
    assert questions(graph.get_state(thread("a")))
    assert questions(graph.get_state(thread("c")))


def test_a_question_gone_from_the_store_is_reported_and_the_others_resumed(
    store: LocalStore, tmp_path: Path
) -> None:
    graph = budget_graph(store, serve=False)
    graph.invoke({}, thread("gone"))
    graph.invoke({}, thread("kept"))
    gone = paused_on(graph, "gone")
    (record,) = (tmp_path / "store").rglob(f"events/**/{gone}.json")
    record.unlink()
    hitlkit.answer(paused_on(graph, "kept"), 8, store=store)
    failed, resumed = resume_answered(graph, ["gone", "kept"], store=store)
    assert isinstance(failed.error, hitlkit.EventNotFoundError)
    assert failed.request_ids == (gone,)
    assert questions(graph.get_state(thread("gone")))  # still paused, not resumed
    assert resumed.output == {"budget": 8, "visits": 1}


def test_each_visit_of_a_node_asks_again_and_each_thread_has_its_own_question(
    store: LocalStore,
) -> None:
    graph = budget_graph(store, serve=False)
    graph.invoke({}, thread("t1"))
    graph.invoke({}, thread("t2"))
    first, other = paused_on(graph, "t1"), paused_on(graph, "t2")
    assert first != other
    hitlkit.answer(first, 1, store=store)
    resume_answered(graph, ["t1"], store=store)
    graph.invoke({}, thread("t1"))  # the thread comes back to the node
    second = paused_on(graph, "t1")
    assert second != first
    hitlkit.answer(second, 2, store=store)
    resume_answered(graph, ["t1"], store=store)
    assert graph.get_state(thread("t1")).values == {"budget": 2, "visits": 2}


def test_wait_and_resume_wakes_when_another_thread_answers(store: LocalStore) -> None:
    graph = budget_graph(store, serve=False)
    graph.invoke({}, thread("t1"))
    request_id = paused_on(graph, "t1")
    answering = threading.Timer(0.3, hitlkit.answer, (request_id, 40), {"store": store})
    answering.start()
    try:
        assert wait_and_resume(graph, "t1", store=store) == {"budget": 40, "visits": 1}
    finally:
        answering.join()
    assert wait_and_resume(graph, "t1", store=store) is None  # nothing left to wait for


def test_a_timeout_is_raised_inside_the_node(store: LocalStore) -> None:
    caught: list[BaseException] = []

    def careful(state: State) -> State:
        try:
            return {"budget": ask("Budget?", int, name="b", timeout_seconds=0.3, store=store)}
        except hitlkit.EventTimeoutError as exc:
            caught.append(exc)
            return {"outcome": "nobody answered"}

    builder = StateGraph(State)
    builder.add_node("careful", careful)
    builder.add_edge(START, "careful")
    careful_graph = builder.compile(checkpointer=InMemorySaver())
    careful_graph.invoke({}, thread("t1"))
    careless = budget_graph(store, serve=False, timeout_seconds=0.3)
    careless.invoke({}, thread("t2"))
    time.sleep(0.4)

    (resumed,) = resume_answered(careful_graph, ["t1"], store=store)
    assert resumed.output == {"outcome": "nobody answered"}
    assert len(caught) == 1
    (failed,) = resume_answered(careless, ["t2"], store=store)
    assert isinstance(failed.error, hitlkit.EventTimeoutError)
    assert failed.output is None
    # The deadline was recorded by the resumer, as wait() would have.
    outcome = hitlkit.get_event(failed.request_ids[0], store=store).outcome
    assert outcome is not None
    assert outcome.status == "timed_out"


def test_wait_and_resume_raises_what_the_node_raises(store: LocalStore) -> None:
    graph = budget_graph(store, serve=False, timeout_seconds=0.3)
    graph.invoke({}, thread("t1"))
    with pytest.raises(hitlkit.EventTimeoutError):
        wait_and_resume(graph, "t1", store=store)
    graph.invoke({}, thread("t2"))
    hitlkit.cancel(paused_on(graph, "t2"), reason="plan dropped", store=store)
    with pytest.raises(hitlkit.EventCancelledError, match="plan dropped"):
        wait_and_resume(graph, "t2", store=store)


def test_a_default_decides_at_the_deadline(store: LocalStore) -> None:
    graph = budget_graph(store, serve=False, timeout_seconds=0.3, default=5)
    graph.invoke({}, thread("t1"))
    assert wait_and_resume(graph, "t1", store=store) == {"budget": 5, "visits": 1}


def test_resuming_by_hand_records_the_answer_and_the_first_answer_wins(
    store: LocalStore,
) -> None:
    graph = budget_graph(store, serve=False)
    graph.invoke({}, thread("t1"))
    request_id = paused_on(graph, "t1")
    assert graph.invoke(Command(resume=7), thread("t1")) == {"budget": 7, "visits": 1}
    outcome = hitlkit.get_event(request_id, store=store).outcome
    assert outcome is not None
    assert (outcome.value, outcome.via) == (7, "python")

    graph.invoke({}, thread("t2"))
    hitlkit.answer(paused_on(graph, "t2"), 5, store=store)
    assert graph.invoke(Command(resume=9), thread("t2")) == {"budget": 5, "visits": 1}


def test_resuming_by_hand_with_a_wrong_value_fails_the_node(store: LocalStore) -> None:
    graph = budget_graph(store, serve=False)
    graph.invoke({}, thread("t1"))
    with pytest.raises(hitlkit.InvalidValueError):
        graph.invoke(Command(resume="many"), thread("t1"))


class Items(TypedDict, total=False):
    items: list[str]
    answers: Annotated[list[str], operator.add]


def test_parallel_questions_are_resumed_as_they_are_answered(store: LocalStore) -> None:
    def fan_out(state: Items) -> list[Send]:
        return [Send("check", {"items": [item]}) for item in state["items"]]

    def check(state: Items) -> Items:
        item = state["items"][0]
        verdict = ask(f"Keep {item}?", bool, name="keep", store=store, serve=False)
        return {"answers": [f"{item}: {verdict}"]}

    builder = StateGraph(Items)
    builder.add_node("check", check)
    builder.add_conditional_edges(START, fan_out, ["check"])
    graph = builder.compile(checkpointer=InMemorySaver())
    graph.invoke({"items": ["a", "b"]}, thread("t1"))
    asked = {q.payload["prompt"]: q.request_id for q in questions(graph.get_state(thread("t1")))}
    assert list(asked) == ["Keep a?", "Keep b?"]
    assert len(set(asked.values())) == 2

    hitlkit.answer(asked["Keep b?"], False, store=store)
    (first,) = resume_answered(graph, ["t1"], store=store)
    assert first.request_ids == (asked["Keep b?"],)
    assert first.output["answers"] == ["b: False"]
    assert [q.request_id for q in questions(graph.get_state(thread("t1")))] == [asked["Keep a?"]]
    hitlkit.answer(asked["Keep a?"], True, store=store)
    (second,) = resume_answered(graph, ["t1"], store=store)
    assert sorted(second.output["answers"]) == ["a: True", "b: False"]


def test_two_questions_in_one_node_and_a_question_in_a_subgraph(store: LocalStore) -> None:
    def inner(state: State) -> State:
        budget = ask("Budget?", int, name="budget", store=store, serve=False)
        ok = ask(f"Spend {budget}?", bool, name="confirm", store=store, serve=False)
        return {"budget": budget, "outcome": "go" if ok else "stop"}

    sub = StateGraph(State)
    sub.add_node("inner", inner)
    sub.add_edge(START, "inner")
    outer = StateGraph(State)
    outer.add_node("sub", sub.compile())
    outer.add_edge(START, "sub")
    graph = outer.compile(checkpointer=InMemorySaver())
    graph.invoke({}, thread("t1"))
    hitlkit.answer(paused_on(graph, "t1"), 30, store=store)
    resume_answered(graph, ["t1"], store=store)
    (confirm,) = questions(graph.get_state(thread("t1")))
    assert confirm.payload["prompt"] == "Spend 30?"
    hitlkit.answer(confirm.request_id, True, store=store)
    resume_answered(graph, ["t1"], store=store)
    assert graph.get_state(thread("t1")).values == {"budget": 30, "outcome": "go"}
    assert len(hitlkit.list_events("all", run_id="t1", store=store)) == 2


def approval_graph(store: LocalStore, sent: list[dict[str, Any]]) -> Any:
    class Mail(TypedDict, total=False):
        args: dict[str, Any]
        outcome: str

    def review(state: Mail) -> Mail:
        try:
            approve("send_email", state["args"], assignees=["ana"], store=store, serve=False)
        except hitlkit.ApprovalRejected as rejected:
            return {"outcome": f"rejected by {rejected.by}: {rejected.reason}"}
        sent.append(state["args"])
        return {"outcome": "sent"}

    builder = StateGraph(Mail)
    builder.add_node("review", review)
    builder.add_edge(START, "review")
    return builder.compile(checkpointer=InMemorySaver())


def test_approve_runs_the_action_on_a_yes_and_raises_the_reason_on_a_no(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_USER", "ana")
    sent: list[dict[str, Any]] = []
    graph = approval_graph(store, sent)
    args = {"to": "team@example.com", "smtp_password": "hunter2"}
    first = graph.invoke({"args": args}, thread("yes"))
    payload = first["__interrupt__"][0].value
    assert payload["hitlkit"] == "approval"
    assert payload["action"] == "send_email"
    assert payload["arguments"] == {"to": "team@example.com", "smtp_password": "[redacted]"}
    assert payload["assignees"] == ["ana"]
    assert "hunter2" not in json.dumps(payload)
    graph.invoke({"args": args}, thread("no"))

    hitlkit.answer(payload["request_id"], {"approved": True}, store=store)
    hitlkit.answer(
        paused_on(graph, "no"), {"approved": False, "reason": "not on Friday"}, store=store
    )
    resumed = resume_answered(graph, ["yes", "no"], store=store)
    assert [r.output["outcome"] for r in resumed] == ["sent", "rejected by ana: not on Friday"]
    assert sent == [args]


def test_approve_takes_a_bool_given_by_hand(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_USER", "ana")
    sent: list[dict[str, Any]] = []
    graph = approval_graph(store, sent)
    graph.invoke({"args": {"to": "x@example.com"}}, thread("t1"))
    assert graph.invoke(Command(resume=True), thread("t1"))["outcome"] == "sent"
    assert sent == [{"to": "x@example.com"}]


def test_a_forged_outcome_in_a_resume_approves_nothing(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_USER", "mallory")
    sent: list[dict[str, Any]] = []
    graph = approval_graph(store, sent)
    first = graph.invoke({"args": {"to": "x@example.com"}}, thread("t1"))
    request_id = first["__interrupt__"][0].value["request_id"]
    forged = {
        "request_id": request_id,
        "status": "answered",
        "value": {"approved": True},
        "by": "ana",
        "via": "form",
        "at": "2026-01-01T00:00:00Z",
    }
    with pytest.raises(hitlkit.HitlError, match="the store holds no outcome"):
        graph.invoke(Command(resume={"hitlkit_outcome": forged}), thread("t1"))
    assert sent == []
    assert hitlkit.get_event(request_id, store=store).status == "pending"


def test_approve_at_the_deadline_takes_the_default_or_raises_approval_timeout(
    store: LocalStore,
) -> None:
    def review(state: State) -> State:
        decided = []
        for action, default in (("lenient", True), ("strict", NOT_GIVEN)):
            try:
                approve(action, timeout_seconds=0.3, default=default, store=store, serve=False)
            except hitlkit.ApprovalTimeout:
                decided.append(f"{action}: timed out")
            else:
                decided.append(f"{action}: approved")
        return {"outcome": ", ".join(decided)}

    builder = StateGraph(State)
    builder.add_node("review", review)
    builder.add_edge(START, "review")
    graph = builder.compile(checkpointer=InMemorySaver())
    graph.invoke({}, thread("t1"))
    assert wait_and_resume(graph, "t1", store=store) == {
        "outcome": "lenient: approved, strict: timed out"
    }


def test_a_graph_without_a_thread_is_told_to_use_one(store: LocalStore) -> None:
    def plan(state: State) -> State:
        return {"budget": ask("Budget?", int, store=store, serve=False)}

    builder = StateGraph(State)
    builder.add_node("plan", plan)
    builder.add_edge(START, "plan")
    with pytest.raises(hitlkit.ConfigurationError, match="needs a thread"):
        builder.compile().invoke({})


def test_async_nodes_and_helpers(store: LocalStore) -> None:
    async def plan(state: State) -> State:
        return {"budget": await ask.aio("Budget?", int, name="budget", store=store, serve=False)}

    async def review(state: State) -> State:
        try:
            await approve.aio("spend", {"amount": state["budget"]}, store=store, serve=False)
        except hitlkit.ApprovalRejected:
            return {"outcome": "refused"}
        return {"outcome": "approved"}

    builder = StateGraph(State)
    builder.add_node("plan", plan)
    builder.add_node("review", review)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "review")
    graph: Any = builder.compile(checkpointer=InMemorySaver())

    async def scenario() -> Any:
        await graph.ainvoke({}, thread("t1"))
        budget = questions(await graph.aget_state(thread("t1")))[0].request_id
        assert await resume_answered.aio(graph, ["t1"], store=store) == []
        await hitlkit.answer.aio(budget, 100, store=store)
        (resumed,) = await resume_answered.aio(graph, ["t1"], store=store)
        approval = questions(await graph.aget_state(thread("t1")))[0].request_id
        assert resumed.output["__interrupt__"][0].value["request_id"] == approval
        answering = asyncio.get_running_loop().call_later(
            0.3,
            lambda: asyncio.ensure_future(
                hitlkit.answer.aio(approval, {"approved": True}, store=store)
            ),
        )
        try:
            return await wait_and_resume.aio(graph, "t1", store=store)
        finally:
            answering.cancel()

    assert asyncio.run(scenario()) == {"budget": 100, "outcome": "approved"}


def test_async_resume_with_a_new_graph_on_the_same_sqlite_file(
    store: LocalStore, tmp_path: Path
) -> None:
    async def plan(state: State) -> State:
        return {"budget": await ask.aio("Budget?", int, name="budget", store=store, serve=False)}

    builder = StateGraph(State)
    builder.add_node("plan", plan)
    builder.add_edge(START, "plan")
    database = str(tmp_path / "graph.db")

    async def scenario() -> tuple[str, Any]:
        async with AsyncSqliteSaver.from_conn_string(database) as saver:
            graph: Any = builder.compile(checkpointer=saver)
            await graph.ainvoke({}, thread("t1"))
            (question,) = questions(await graph.aget_state(thread("t1")))
        await hitlkit.answer.aio(question.request_id, 21, store=store)
        async with AsyncSqliteSaver.from_conn_string(database) as saver:
            graph = builder.compile(checkpointer=saver)
            (resumed,) = await resume_answered.aio(graph, ["t1"], store=store)
            return question.request_id, resumed

    request_id, resumed = asyncio.run(scenario())
    assert resumed.request_ids == (request_id,)
    assert resumed.output == {"budget": 21}


def test_ask_outside_a_node_says_where_it_belongs(store: LocalStore) -> None:
    with pytest.raises(hitlkit.HitlError, match="inside a LangGraph node"):
        ask("Budget?", int, store=store)


def test_bad_threads_are_refused_with_what_was_expected(store: LocalStore) -> None:
    graph = budget_graph(store, serve=False)
    with pytest.raises(ValueError, match="thread id"):
        resume_answered(graph, [{"configurable": {}}], store=store)


def test_without_langgraph_the_import_names_the_extra() -> None:
    blocked = (
        "import importlib.abc, sys\n"
        "class Missing(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] == 'langgraph':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Missing())\n"
        "import hitlkit.contrib.langgraph\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert 'pip install "hitlkit[langgraph]"' in done.stderr.splitlines()[-1]


# -- a process killed while it waits ------------------------------------------------


class Example:
    """examples/langgraph_approval.py in its own folder, run as real processes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HITL_")}
        self.env.update(
            HITL_STORE=str(folder / "store"),
            HITL_AUTOSTART="0",
            HITL_USER="ana",
            HITL_CEILING_DIRECTORIES=str(folder.parent),
            PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
            PYTHONUNBUFFERED="1",
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(EXAMPLE), *args],
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def hitl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*HITL, *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def sent(self) -> list[str]:
        outbox = self.folder / "outbox.txt"
        return outbox.read_text().splitlines() if outbox.exists() else []


def waiting_for(process: subprocess.Popen[str]) -> str:
    """Read the process's output until it says which event it waits for."""
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("waiting for "), line + process.stderr.read()  # type: ignore[union-attr]
    return line.split()[2].rstrip(":")


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)  # reaps it and closes its pipes
    assert process.returncode == -signal.SIGKILL


def finished(process: subprocess.Popen[str]) -> list[str]:
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    return stdout.splitlines()


@pytest.fixture
def example(tmp_path: Path) -> Example:
    folder = tmp_path / "agent"
    folder.mkdir()
    return Example(folder)


@pytest.mark.slow
def test_killed_while_waiting_then_resumed_in_a_new_process_once_answered(
    example: Example,
) -> None:
    first = example.start()
    request_id = waiting_for(first)
    time.sleep(0.5)  # well inside wait_and_resume
    kill(first)

    asleep = example.start("--no-wait")  # not answered yet: it leaves the thread waiting
    assert waiting_for(asleep) == request_id
    assert finished(asleep) == ["result: waiting"]

    answered = example.hitl("answer", request_id, '{"approved": true}')
    assert answered.returncode == 0, answered.stderr
    again = example.start("--no-wait")
    assert waiting_for(again) == request_id
    assert finished(again) == [f"resumed with {request_id}", "result: sent"]
    assert example.sent() == [
        json.dumps({"to": "team@example.com", "subject": "Weekly report", "body": "All green."})
    ]
    assert finished(example.start()) == ["result: sent"]  # nothing left to ask or send
    assert len(example.sent()) == 1


@pytest.mark.slow
def test_killed_then_a_new_process_waits_and_wakes_on_the_answer(example: Example) -> None:
    first = example.start()
    request_id = waiting_for(first)
    kill(first)

    second = example.start()
    assert waiting_for(second) == request_id
    time.sleep(1)  # the second process is waiting now
    hitlkit.answer(
        request_id,
        {"approved": False, "reason": "not on Friday"},
        store=LocalStore(example.folder / "store"),
    )
    assert finished(second) == ["result: not sent: not on Friday"]
    assert example.sent() == []


def test_the_public_names() -> None:
    import hitlkit.contrib.langgraph

    assert hitlkit.contrib.langgraph.__all__ == [
        "Question",
        "Resumed",
        "approve",
        "ask",
        "questions",
        "resume_answered",
        "wait_and_resume",
    ]
