"""After Airflow's own deferral timeout (a triggerer that was down past the deadline),
the resumed task reads the event: its deadline decides, as when the trigger fires."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any, cast

import pytest
from airflow.sdk import Context
from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR, TriggerFailureReason
from airflow.sdk.exceptions import AirflowFailException

import hitlkit
from hitlkit.contrib.airflow import HitlOperator

TIMED_OUT = {"error": TriggerFailureReason.TRIGGER_TIMEOUT}


def context_of(task_id: str) -> Context:
    """The part of a task's context the operator reads: which task instance it is."""
    ti = SimpleNamespace(dag_id="d", run_id="r", task_id=task_id, map_index=-1)
    return cast(Context, {"ti": ti})


def asked_and_past_deadline(operator: HitlOperator[Any], context: Context) -> None:
    """Ask, then let the deadline pass with nobody waiting (the triggerer is down)."""
    operator.event(context)
    time.sleep(0.4)  # the operators here ask with a 0.2 s deadline


def test_the_default_counts_after_airflows_deferral_timeout() -> None:
    operator = HitlOperator(task_id="late", data_type=int, timeout_seconds=0.2, default=4)
    context = context_of("late")
    asked_and_past_deadline(operator, context)
    assert operator.resume_execution(TRIGGER_FAIL_REPR, TIMED_OUT, context) == 4
    assert [e.status for e in hitlkit.list_events("all")] == ["defaulted"]


def test_without_a_default_the_task_fails_saying_nobody_answered() -> None:
    operator = HitlOperator(task_id="late", data_type=int, timeout_seconds=0.2)
    context = context_of("late")
    asked_and_past_deadline(operator, context)
    with pytest.raises(AirflowFailException, match="nobody answered 'late'"):
        operator.resume_execution(TRIGGER_FAIL_REPR, TIMED_OUT, context)
