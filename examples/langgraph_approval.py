"""A LangGraph agent that asks a person before it sends an email, and survives a restart.

A scripted "model" proposes a tool call; the "review" node asks for approval through
hitlkit (`approve`), which pauses the graph with `interrupt()`; the "act" node sends
the email (here: appends it to an outbox file) only when approved. The graph's
checkpoints are kept in SQLite, the question in hitlkit's store, so the process can
stop (or be killed) while it waits: run it again and it picks the thread up.

    pip install "hitlkit[langgraph]"
    python examples/langgraph_approval.py            # prints the form's link, then waits
    hitl answer REQUEST_ID '{"approved": true}'      # from another terminal (or the form)

The first run serves the form while it waits; a later run only waits, so answer it
with `hitl answer` or start `hitl serve` for the form.

Options: `--db` (the checkpoints, default `graph.db`), `--thread` (default `weekly-report`),
`--outbox` (default `outbox.txt`), `--no-wait` (resume only if already answered, then exit).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path
from typing import Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

import hitlkit
from hitlkit.contrib.langgraph import approve, questions, resume_answered, wait_and_resume


class State(TypedDict, total=False):
    task: str
    tool_call: dict[str, Any]
    approved: bool
    result: str


def model(state: State) -> State:
    """A scripted model: turns the task into one `send_email` tool call."""
    return {
        "tool_call": {
            "name": "send_email",
            "args": {"to": "team@example.com", "subject": state["task"], "body": "All green."},
        }
    }


def review(state: State) -> State:
    """Ask a person whether the tool call may run; a no ends the run with the reason."""
    call = state["tool_call"]
    try:
        approve(call["name"], call["args"], prompt="May the agent send this email?")
    except hitlkit.ApprovalRejected as rejected:
        return {"approved": False, "result": f"not sent: {rejected.reason or 'rejected'}"}
    return {"approved": True}


def after_review(state: State) -> Literal["act", "__end__"]:
    return "act" if state.get("approved") else "__end__"


def make_act(outbox: Path) -> Any:
    def act(state: State) -> State:
        """The tool itself, run only once approved."""
        with outbox.open("a") as sent:
            sent.write(json.dumps(state["tool_call"]["args"]) + "\n")
        return {"result": "sent"}

    return act


def build(checkpointer: SqliteSaver, outbox: Path) -> Any:
    builder = StateGraph(State)
    builder.add_node("model", model)
    builder.add_node("review", review)
    builder.add_node("act", make_act(outbox))
    builder.add_edge(START, "model")
    builder.add_edge("model", "review")
    builder.add_conditional_edges("review", after_review)
    builder.add_edge("act", END)
    return builder.compile(checkpointer=checkpointer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="graph.db")
    parser.add_argument("--thread", default="weekly-report")
    parser.add_argument("--outbox", type=Path, default=Path("outbox.txt"))
    parser.add_argument("--no-wait", action="store_true")
    options = parser.parse_args()
    connection = sqlite3.connect(options.db, check_same_thread=False)
    graph = build(SqliteSaver(connection), options.outbox)
    config: RunnableConfig = {"configurable": {"thread_id": options.thread}}
    state = graph.get_state(config)
    if not state.values:  # a new thread: start it
        graph.invoke({"task": "Weekly report"}, config)
    elif state.next and not state.interrupts:  # stopped between two steps: go on
        graph.invoke(None, config)
    for question in questions(graph.get_state(config)):
        print(f"waiting for {question.request_id}: {question.payload['form_url']}", flush=True)
    if options.no_wait:
        for resumed in resume_answered(graph, [config]):
            print(f"resumed with {', '.join(resumed.request_ids)}", flush=True)
    else:
        wait_and_resume(graph, config)
    state = graph.get_state(config)
    print(f"result: {state.values.get('result', 'waiting')}", flush=True)


if __name__ == "__main__":
    main()
