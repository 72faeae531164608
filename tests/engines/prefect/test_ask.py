"""`ask` in flows and tasks run against Prefect's test server, answered from a thread."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Literal

import pytest
from prefect import flow, task
from pydantic import BaseModel

import hitlkit
from hitlkit import ConfigurationError, HitlError
from hitlkit.contrib.prefect import ask
from hitlkit.contrib.prefect._records import SUSPENDED
from tests.engines.prefect.people import person

pytestmark = pytest.mark.usefixtures("prefect_api")


class Order(BaseModel):
    size: Literal["s", "m", "l"]
    count: int


@task
def pick_order() -> Order:
    return ask("Which order?", Order, name="order")


@flow
def ordering() -> Order:
    return pick_order()


def test_a_task_waits_for_the_answer_and_gets_it_typed() -> None:
    with person({"size": "m", "count": 2}, name="order") as answered:
        assert ordering() == Order(size="m", count=2)
    event = hitlkit.get_event(answered[0])
    assert event.run_id.startswith("prefect-")
    assert event.outcome is not None
    assert event.outcome.by == "tester"


@task
async def budget() -> int:
    return await ask.aio("Budget?", int)


@flow
async def planning() -> int:
    return await budget() + 1


def test_async_flow_and_task_wait_without_blocking_the_loop() -> None:
    with person(41, name="budget"):
        assert asyncio.run(planning()) == 42


attempts: list[str] = []


@task(retries=2, retry_delay_seconds=0)
def flaky_review() -> int:
    score = ask("Score?", int, name="score")
    attempts.append("tried")
    if len(attempts) < 2:
        raise RuntimeError("the step fails after asking")
    return score


@flow
def reviewing() -> int:
    return flaky_review()


def test_a_retried_task_finds_its_question_answered_once() -> None:
    attempts.clear()
    with person(7, name="score") as answered:
        assert reviewing() == 7
    assert attempts == ["tried", "tried"]
    asked = hitlkit.list_events("all")
    assert [e.request_id for e in asked] == answered  # one question, not one per attempt
    trail = hitlkit.Client().audit(answered[0])
    assert [entry.action for entry in trail].count("answered") == 1


@flow(retries=1, retry_delay_seconds=0)
def approving() -> bool:
    ok = ask("Go?", bool, name="go")
    attempts.append("flow ran")
    if len(attempts) < 2:
        raise RuntimeError("the flow fails after asking")
    return ok


def test_a_rerun_flow_finds_the_same_question() -> None:
    attempts.clear()
    with person(True, name="go"):
        assert approving() is True
    assert attempts == ["flow ran", "flow ran"]
    assert len(hitlkit.list_events("all")) == 1


@task
def two_questions(i: int) -> int:
    return ask(f"Number {i}?", int, name="number")


@flow
def numbering() -> list[int]:
    return [two_questions(0), two_questions(1)]


def test_each_call_of_a_task_asks_its_own_question() -> None:
    with person(10, 11, name="number@") as answered:
        assert numbering() == [10, 11]
    assert len(set(answered)) == 2


def test_outside_a_flow_run_it_says_where_to_call_it() -> None:
    with pytest.raises(HitlError, match="inside a Prefect flow or task run"):
        ask("Go?", bool)


@flow
def suspending_without_deployment() -> bool:
    return ask("Go?", bool, name="go", suspend=True)


@flow
async def suspending_async_without_deployment() -> bool:
    return await ask.aio("Go?", bool, name="go", suspend=True)


@task
def suspending_task() -> bool:
    return ask("Go?", bool, name="go", suspend=True)


@flow
def suspending_in_task() -> bool:
    return suspending_task()


@pytest.mark.parametrize(
    ("run", "message"),
    [
        (suspending_without_deployment, "needs a flow run of a deployment"),
        (lambda: asyncio.run(suspending_async_without_deployment()), "of a deployment"),
        (suspending_in_task, "in the flow's body, not in a task"),
    ],
)
def test_suspend_refused_where_prefect_cannot_and_nothing_is_lost(
    run: Callable[[], object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        run()
    asked = hitlkit.list_events("pending")
    assert len(asked) == 1  # the question stands, and a later waiter finds it
    assert not hitlkit.open_store(os.environ["HITL_STORE"]).list(SUSPENDED)
