"""The activity side: create the question and return at once, naming who waits for it.

The event is hitlkit's usual one: its id comes from the run (by default the workflow
id) and the name, so an activity retried, or run again by a replayed or reset
workflow, finds the same event. Next to it the activity records the workflow to
signal (`Target`), which `hitl temporal-bridge` reads. When the event is already
resolved (asked again after the answer), `Asked.resolution` carries the outcome, and
the workflow goes on without a signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from hitlkit._event import Event
from hitlkit._exceptions import ConfigurationError
from hitlkit._options import NOT_GIVEN, PromptType, _NotGiven
from hitlkit._store import Store
from hitlkit._sync import run_sync
from hitlkit.contrib.temporal._targets import SIGNAL, Resolution, Target, remember, resolution_of

__all__ = ["NAMED_TYPES", "Asked", "Question", "ask_activity", "ask_question"]

T = TypeVar("T")

NAMED_TYPES: dict[str, type[Any]] = {"bool": bool, "int": int, "float": float, "str": str}
"""The answer types `ask_activity` takes by name; other types need an activity of your own."""


@dataclass(frozen=True)
class Asked:
    """What the asking activity returns to the workflow: which event to wait for.

    `resolution` is set when the event was already resolved (a question asked again).
    """

    request_id: str
    name: str
    run_id: str
    form_url: str
    expires_at: str
    resolution: Resolution | None = None


@dataclass(frozen=True)
class Question:
    """`ask_activity`'s argument: a question whose answer type is named.

    `data_type` is `"bool"`, `"int"`, `"float"` or `"str"`; `run_id` defaults to the
    workflow execution (`run_of`); `default` (JSON) is the answer once `timeout_seconds`
    pass, if given.
    """

    name: str
    prompt: str
    data_type: str = "str"
    timeout_seconds: float = 3600
    assignees: list[str] | None = None
    notify: list[str] | None = None
    description: str | None = None
    has_default: bool = False
    default: Any = None
    run_id: str | None = None
    signal: str = SIGNAL


def _workflow_of(signal: str) -> tuple[str, str, str | None]:
    """The namespace, workflow id and run id of the workflow that runs this activity."""
    try:
        info = activity.info()
    except RuntimeError:
        raise ConfigurationError(
            "hitlkit.contrib.temporal.ask_question() must be called inside a Temporal activity"
        ) from None
    if info.workflow_id is None:
        raise ConfigurationError(
            "hitlkit.contrib.temporal.ask_question() needs an activity started by a workflow "
            "(the workflow is what the answer is signalled to); this one was started alone"
        )
    if not signal:
        raise ConfigurationError("signal must name the workflow's signal, got an empty name")
    return info.namespace, info.workflow_id, info.workflow_run_id


def run_of(workflow_id: str, workflow_run: str | None) -> str:
    """The hitlkit run of a workflow execution: a retried activity finds its question
    again, and a new execution under the same workflow id asks anew.

    ```python
    run_of("release-1.4.0", "0191b0c5-...")   # "release-1.4.0@0191b0c5-..."
    ```
    """
    return f"{workflow_id}@{workflow_run}" if workflow_run else workflow_id


async def _ask(
    where: tuple[str, str, str | None],
    name: str,
    data_type: type[Any],
    *,
    signal: str,
    run_id: str | None,
    store: Store | str | None,
    options: dict[str, Any],
) -> Asked:
    namespace, workflow_id, workflow_run = where
    event = await Event.create.aio(
        name, data_type, run_id=run_id or run_of(workflow_id, workflow_run), store=store, **options
    )
    target = Target(
        request_id=event.request_id,
        namespace=namespace,
        workflow_id=workflow_id,
        run_id=workflow_run,
        signal=signal,
    )
    await remember(event.store, target)
    outcome = await event.outcome.aio()  # after the target: a later answer is signalled
    return Asked(
        request_id=event.request_id,
        name=event.name,
        run_id=event.run_id,
        form_url=event.form_url,
        expires_at=event.deadline.isoformat(),
        resolution=None if outcome is None else resolution_of(outcome),
    )


class _AskQuestion:
    """`ask_question(name, data_type, ...)` in an activity, and `await ask_question.aio(...)`.

    Creates (or finds) the hitlkit event `name` of the run `run_id` (default: the
    workflow execution, `workflow-id@run-id`), records that the workflow running this
    activity waits for it (signalled `signal` by `hitl temporal-bridge` when it
    resolves), and returns an `Asked` at once. Other options as for `hitlkit.new_event`: `prompt`,
    `timeout_seconds`, `default`, `assignees`, `notify`, `description`,
    `prompt_type`, `store`, `endpoint`, `serve`.

    ```python
    @activity.defn
    async def ask_budget(team: str) -> Asked:
        return await ask_question.aio(f"budget-{team}", Budget, prompt=f"Budget for {team}?")
    ```
    """

    def __call__(
        self,
        name: str,
        data_type: type[T],
        *,
        prompt: str = "Please provide a value",
        timeout_seconds: float = 3600,
        default: T | _NotGiven = NOT_GIVEN,
        assignees: Sequence[str] | None = None,
        notify: Sequence[str] | None = None,
        description: str | None = None,
        prompt_type: PromptType = "text",
        store: Store | str | None = None,
        endpoint: str | None = None,
        serve: bool | None = None,
        run_id: str | None = None,
        signal: str = SIGNAL,
    ) -> Asked:
        where = _workflow_of(signal)  # here: the activity's context is not on hitlkit's loop
        options: dict[str, Any] = {
            "prompt": prompt,
            "timeout_seconds": timeout_seconds,
            "default": default,
            "assignees": assignees,
            "notify": notify,
            "description": description,
            "prompt_type": prompt_type,
            "endpoint": endpoint,
            "serve": serve,
        }
        return run_sync(
            _ask(
                where,
                name,
                data_type,
                signal=signal,
                run_id=run_id,
                store=store,
                options=options,
            )
        )

    async def aio(
        self,
        name: str,
        data_type: type[T],
        *,
        prompt: str = "Please provide a value",
        timeout_seconds: float = 3600,
        default: T | _NotGiven = NOT_GIVEN,
        assignees: Sequence[str] | None = None,
        notify: Sequence[str] | None = None,
        description: str | None = None,
        prompt_type: PromptType = "text",
        store: Store | str | None = None,
        endpoint: str | None = None,
        serve: bool | None = None,
        run_id: str | None = None,
        signal: str = SIGNAL,
    ) -> Asked:
        """The async form of `ask_question`, for `async def` activities."""
        options: dict[str, Any] = {
            "prompt": prompt,
            "timeout_seconds": timeout_seconds,
            "default": default,
            "assignees": assignees,
            "notify": notify,
            "description": description,
            "prompt_type": prompt_type,
            "endpoint": endpoint,
            "serve": serve,
        }
        return await _ask(
            _workflow_of(signal),
            name,
            data_type,
            signal=signal,
            run_id=run_id,
            store=store,
            options=options,
        )


ask_question = _AskQuestion()


@activity.defn(name="hitlkit_ask")
async def ask_activity(question: Question) -> Asked:
    """A ready activity that asks `question` (its answer type named) and returns at once.

    Register it on the worker (`Worker(..., activities=[ask_activity])`) and run it
    from the workflow; the store and the forms' endpoint are the worker's settings
    (`HITL_STORE`, `HITL_ENDPOINT`).

    ```python
    asked = await workflow.execute_activity(
        ask_activity,
        Question(name="ship", prompt="Ship it?", data_type="bool"),
        start_to_close_timeout=timedelta(seconds=30),
    )
    ```
    """
    data_type = NAMED_TYPES.get(question.data_type)
    if data_type is None:
        raise ApplicationError(
            f"Question.data_type must be one of {', '.join(map(repr, NAMED_TYPES))}, "
            f"got {question.data_type!r}: for other types, write an activity that calls "
            "ask_question with the type",
            type="ConfigurationError",
            non_retryable=True,
        )
    return await ask_question.aio(
        question.name,
        data_type,
        prompt=question.prompt,
        timeout_seconds=question.timeout_seconds,
        default=question.default if question.has_default else NOT_GIVEN,
        assignees=question.assignees,
        notify=question.notify,
        description=question.description,
        run_id=question.run_id,
        signal=question.signal,
    )
