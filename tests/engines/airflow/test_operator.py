"""`HitlOperator` in a real DAG run (`dag.test()`, which runs the trigger inline),
answered from another thread as a person would, through the store."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import pytest

import hitlkit
from hitlkit.contrib.airflow import event_identity
from tests.engines.airflow.dags import RECEIVED, Budget, closed, mapped, typed


@contextmanager
def answering(answers: Mapping[str, Any]) -> Iterator[list[str]]:
    """Answer each question named in `answers` once it is asked (in any order); yields
    the names answered so far. A value of `hitlkit.cancel` cancels that question."""
    answered: list[str] = []
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set() and len(answered) < len(answers):
            for info in hitlkit.list_events():
                if info.name in answers and info.name not in answered:
                    value = answers[info.name]
                    if value is hitlkit.cancel:
                        hitlkit.cancel(info.request_id, reason="not needed")
                    else:
                        hitlkit.answer(info.request_id, value)
                    answered.append(info.name)
            stop.wait(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield answered
    finally:
        stop.set()
        thread.join()


def states(run: Any) -> dict[str, str]:
    return {
        ti.task_id + ("" if ti.map_index < 0 else f"[{ti.map_index}]"): ti.state
        for ti in run.get_task_instances()
    }


def test_typed_answers_reach_the_next_tasks_through_xcom() -> None:
    RECEIVED.clear()
    answers = {"count": 5, "ship": True, "budget": {"amount": 120, "currency": "USD"}}
    with answering(answers) as answered:
        run = typed.test()
    assert sorted(answered) == sorted(answers)
    assert run.state == "success", states(run)
    assert RECEIVED["count"] == 5
    assert type(RECEIVED["count"]) is int
    assert RECEIVED["ship"] is True
    assert RECEIVED["budget"] == Budget(amount=120, currency="USD")
    asked = {e.name: e for e in hitlkit.list_events("all")}
    assert asked["ship"].prompt == f"Ship {run.run_id}?"  # templated
    assert {e.run_id for e in asked.values()} == {f"airflow:hitl_typed:{run.run_id}"}


def test_a_timeout_fails_the_task_or_gives_the_default_and_a_cancel_fails_it(
    capfd: pytest.CaptureFixture[str],
) -> None:
    RECEIVED.clear()
    with answering({"called_off": hitlkit.cancel}):
        run = closed.test()
    assert states(run) == {
        "late": "failed",
        "late_default": "success",
        "keep_default": "success",
        "called_off": "failed",
    }
    assert RECEIVED == {"late_default": 7}
    logged = capfd.readouterr().out  # Airflow logs the task's error there
    assert "AirflowFailException: nobody answered 'late'" in logged
    assert "within 0.5 seconds" in logged
    assert "give the task a default=" in logged
    assert "AirflowFailException: event 'called_off' was cancelled: not needed" in logged
    outcomes = {e.name: e.status for e in hitlkit.list_events("all")}
    assert outcomes == {"late": "timed_out", "late_default": "defaulted", "called_off": "cancelled"}


def test_mapped_tasks_ask_one_question_each_and_a_rerun_finds_its_answer() -> None:
    RECEIVED.clear()
    when = datetime(2026, 1, 2, tzinfo=timezone.utc)
    airflow_run = f"manual__{when.isoformat()}"  # the run id dag.test() gives
    run_id, name = event_identity("hitl_mapped", airflow_run, "each", 0)
    # Answered before the task runs, as when a task is retried after its answer came.
    first = hitlkit.new_event(name, int, prompt="First?", run_id=run_id, serve=False)
    first.answer(1)
    # each[0] is answered here only if the task failed to find its answered question.
    with answering({"each[0]": 99, "each[1]": 2}) as answered:
        run = mapped.test(logical_date=when, run_after=when)
    assert run.run_id == airflow_run
    assert answered == ["each[1]"]
    assert RECEIVED == {"each": [1, 2]}
    assert states(run) == {"each[0]": "success", "each[1]": "success", "keep_all": "success"}
