"""The asking activity, run by temporalio's ActivityEnvironment against a real folder store."""

from __future__ import annotations

import dataclasses
import os

import pytest
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import hitlkit
from hitlkit import LocalStore
from hitlkit._exceptions import ConfigurationError
from hitlkit._reading import load_event
from hitlkit._sync import run_sync
from hitlkit.contrib.temporal import SIGNAL, Asked, Question, Target, ask_activity, ask_question
from hitlkit.contrib.temporal._targets import TARGETS

pytestmark = pytest.mark.anyio


def environment(
    workflow_id: str = "release-7", *, attempt: int = 1, run: str = "run"
) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        workflow_id=workflow_id,
        workflow_run_id=f"{workflow_id}-{run}",
        namespace="payments",
        attempt=attempt,
    )
    return env


def default_store() -> str:
    return os.environ["HITL_STORE"]


def targets(store_url: str) -> list[Target]:
    store = LocalStore(store_url)
    return [Target.model_validate_json(store.get(key) or b"") for key in store.list(TARGETS)]


async def test_the_activity_creates_the_event_and_records_the_workflow() -> None:
    question = Question(name="ship", prompt="Ship 1.2?", data_type="bool")
    asked = await environment().run(ask_activity, question)

    event = hitlkit.get_event(asked.request_id)
    assert (event.name, event.run_id, event.prompt) == (
        "ship",
        "release-7@release-7-run",
        "Ship 1.2?",
    )
    assert asked.resolution is None
    assert asked.form_url.endswith(asked.request_id)
    [target] = targets(default_store())
    assert target == Target(
        request_id=asked.request_id,
        namespace="payments",
        workflow_id="release-7",
        run_id="release-7-run",
        signal=SIGNAL,
    )


async def test_a_retried_activity_finds_the_same_event_and_target() -> None:
    question = Question(name="budget", prompt="Budget?", data_type="int", timeout_seconds=600)
    first = await environment().run(ask_activity, question)
    again = await environment(attempt=2).run(ask_activity, question)

    assert again.request_id == first.request_id
    assert len(targets(default_store())) == 1


async def test_a_new_execution_under_the_same_workflow_id_asks_anew() -> None:
    question = Question(name="ship", prompt="Ship 1.4?", data_type="bool")
    first = await environment("release-1.4").run(ask_activity, question)
    hitlkit.answer(first.request_id, True)

    again = await environment("release-1.4", run="second").run(ask_activity, question)

    assert again.request_id != first.request_id
    assert again.resolution is None  # not the first execution's answer


async def test_a_question_answered_already_comes_back_with_its_resolution() -> None:
    question = Question(name="budget", prompt="Budget?", data_type="int")
    asked = await environment().run(ask_activity, question)
    hitlkit.answer(asked.request_id, 1200)

    again = await environment().run(ask_activity, question)

    assert again.resolution is not None
    assert (again.resolution.status, again.resolution.value) == ("answered", 1200)
    assert again.resolution.by == "tester"


class Budget(BaseModel):
    amount: int
    currency: str = "EUR"


def ask_budget(team: str, store: str) -> Asked:
    """A sync activity of the user's own, asking for a model."""
    return ask_question(f"budget-{team}", Budget, prompt=f"Budget for {team}?", store=store)


def test_a_sync_activity_asks_for_a_type_of_its_own(store_url: str) -> None:
    asked = environment("plan-3").run(ask_budget, "ops", store_url)

    event = hitlkit.get_event(asked.request_id, store=store_url)
    assert event.name == "budget-ops"
    assert event.data_type == "Budget"
    assert [t.workflow_id for t in targets(store_url)] == ["plan-3"]


async def test_an_unknown_answer_type_fails_the_activity_for_good() -> None:
    question = Question(name="when", prompt="When?", data_type="date")
    with pytest.raises(ApplicationError, match="'bool', 'int', 'float', 'str'") as caught:
        await environment().run(ask_activity, question)

    assert caught.value.non_retryable
    assert LocalStore(default_store()).list() == []


async def test_a_default_is_kept_with_the_question() -> None:
    question = Question(name="n", prompt="How many?", data_type="int", has_default=True, default=3)
    asked = await environment().run(ask_activity, question)

    record = run_sync(load_event(LocalStore(default_store()), asked.request_id))
    assert (record.has_default, record.default) == (True, 3)


async def test_asking_from_an_activity_without_a_workflow_is_refused() -> None:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=None, workflow_run_id=None)
    with pytest.raises(ConfigurationError, match="started by a workflow"):
        await env.run(ask_question.aio, "x", int)


def test_asking_outside_an_activity_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="inside a Temporal activity"):
        ask_question("x", int)
