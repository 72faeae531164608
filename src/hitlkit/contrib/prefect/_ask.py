"""`ask`: put a typed question to a person from a Prefect flow or task, and get the answer.

The question is a hitlkit event of the run named after the flow run, and its name
comes from the asking task (or flow), so a retried task or a re-run flow finds the
same question and the answer is recorded once. By default `ask` waits in the
process; with `suspend=True`, called in the body of a deployed flow, it records
which flow run waits and suspends it, so no worker is held, and the watcher
(`resume_answered`, `python -m hitlkit.contrib.prefect watch`) resumes it once the
question is answered; the flow, run again from its start, gets the answer from
the same call.

```python
@flow
def release(version: str) -> None:
    ok = ask(f"Ship {version}?", bool, name="ship")
```
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from prefect.context import FlowRunContext, TaskRunContext
from prefect.flow_runs import asuspend_flow_run, suspend_flow_run
from prefect.logging import get_run_logger
from prefect.utilities.hashing import hash_objects

from hitlkit._event import Event
from hitlkit._exceptions import ConfigurationError, HitlError
from hitlkit._options import MAX_NAME_LENGTH, NOT_GIVEN, PromptType, _NotGiven
from hitlkit._records import utcnow
from hitlkit._store import Store
from hitlkit.contrib.prefect._records import Suspension, record_suspension

__all__ = ["SUSPEND_GRACE_SECONDS", "Where", "ask", "where"]

T = TypeVar("T")

log = logging.getLogger("hitlkit")

SUSPEND_GRACE_SECONDS = 300
"""How long past the event's deadline a suspended flow run may wait for the watcher to
resume it (with the default, or the timeout error) before Prefect fails it."""


@dataclass(frozen=True)
class Where:
    """Which event a question asked here is, and which flow run asks it."""

    run_id: str
    name: str
    flow_run_id: str
    flow_run_name: str
    deployment_id: str | None
    in_task: bool


def where(name: str | None = None, run_id: str | None = None) -> Where:
    """The run and event name of a question asked here, in a flow or task run.

    The run is the flow run (`prefect-<flow run id>`), the same on every retry and
    resume of it. The name is `name`, else the task's (or the flow's) name; in a task
    that takes parameters, `@` and a digest of their values follow, so each call of
    a task (a loop, `.map`) asks its own question, and a retry or re-run of the same
    call finds it again. (Prefect's task run keys are random: they cannot serve.)
    """
    flow_context = FlowRunContext.get()
    task_context = TaskRunContext.get()
    if task_context is not None:
        flow_run_id = task_context.task_run.flow_run_id
        flow_run = flow_context.flow_run if flow_context is not None else None
        step = task_context.task.name
        suffix = _digest(task_context.parameters, name or step)
    elif flow_context is not None and flow_context.flow_run is not None:
        flow_run = flow_context.flow_run
        flow_run_id = flow_run.id
        step = flow_context.flow.name if flow_context.flow is not None else "flow"
        suffix = ""
    else:
        raise HitlError(
            "hitlkit.contrib.prefect.ask() must be called inside a Prefect flow or task run"
        )
    if flow_run_id is None:
        raise HitlError(
            "this task runs outside any flow run: call ask() in a task of a flow, "
            "or in the flow itself, so the question belongs to the flow run"
        )
    base = (name or step)[: MAX_NAME_LENGTH - len(suffix)]
    return Where(
        run_id=run_id or f"prefect-{flow_run_id}",
        name=f"{base}{suffix}",
        flow_run_id=str(flow_run_id),
        flow_run_name=flow_run.name if flow_run is not None else "",
        deployment_id=str(flow_run.deployment_id)
        if flow_run is not None and flow_run.deployment_id
        else None,
        in_task=task_context is not None,
    )


def _digest(parameters: dict[str, Any], name: str) -> str:
    """`@` and 8 hex digits of the task's parameters; nothing for a task without any."""
    if not parameters:
        return ""
    digest = hash_objects(parameters)
    if digest is None:
        log.warning(
            "the parameters of the task asking %r cannot be hashed: every call of the "
            "task in this flow run shares one question; give each call its own name=",
            name,
        )
        return ""
    return f"@{digest[:8]}"


def _suspension(here: Where, event: Event[Any]) -> tuple[Suspension, int]:
    """What the watcher needs to resume this flow run, and Prefect's suspend timeout."""
    if here.in_task:
        raise ConfigurationError(
            "ask(suspend=True) must be called in the flow's body, not in a task: "
            "Prefect suspends flow runs only (or pass suspend=False to wait in the task)"
        )
    if here.deployment_id is None:
        raise ConfigurationError(
            "ask(suspend=True) needs a flow run of a deployment (flow.serve(), "
            "flow.deploy() or prefect deploy): Prefect runs a suspended flow again "
            "through its deployment; call the flow that way, or pass suspend=False"
        )
    record = Suspension(
        request_id=event.request_id,
        event_name=event.name,
        flow_run_id=here.flow_run_id,
        flow_run_name=here.flow_run_name,
        deployment_id=here.deployment_id,
        created_at=utcnow(),
    )
    remaining = (event.deadline - utcnow()).total_seconds()
    return record, max(1, math.ceil(remaining)) + SUSPEND_GRACE_SECONDS


def _announce(event: Event[Any], suspend: bool) -> None:
    """Tell the run's log (the Prefect UI) where the question is answered."""
    get_run_logger().info(
        "asked %r (hitlkit event %s): answer at %s or with `hitl answer %s VALUE`%s",
        event.prompt,
        event.request_id,
        event.form_url,
        event.request_id,
        "; the flow run suspends until then" if suspend else "",
    )


class _Ask:
    """`ask(prompt, data_type, ...)` and its async twin `await ask.aio(...)`.

    Call it inside a Prefect flow or task run. It creates the hitlkit event (or finds
    it, when a retried task or re-run flow asks again) and returns the answer as a
    `data_type`, or the default given at the deadline; it raises `EventTimeoutError`
    at the deadline without a default, and `EventCancelledError` when the event is
    cancelled, so Prefect sees the failure (and retries, when the task has retries).

    - `suspend=False` (default): waits in the process (a worker slot stays taken).
    - `suspend=True`, in a deployed flow's body: unless the event is already resolved,
      records the flow run in the store (`prefect/suspended/`) and suspends it with
      Prefect's `suspend_flow_run` (the process exits; no worker is held). Run
      `python -m hitlkit.contrib.prefect watch` (or `resume_answered` on a schedule)
      beside the server: it resumes the run once the event is answered or its deadline
      passes, and the flow, run again from its start, gets the answer here. Give the
      flow `persist_result=True` (its tasks inherit it) so that the re-run takes the
      results of the tasks that already ran instead of running them again.

    Options: `name` (default: the task's or flow's name; give each question of a step
    its own name; in a task with parameters, a digest of their values is added),
    `timeout_seconds`, `default`, `assignees`, `notify`, `remind_before`,
    `description`, `prompt_type`, `store`, `endpoint`, `serve` and `run_id` (default:
    `prefect-<flow run id>`) as for `hitlkit.new_event`.

    ```python
    @task(retries=2)
    def review(doc: str) -> int:
        return ask(f"Score for {doc}?", int, name="score", assignees=["ana"])


    @flow(persist_result=True)
    async def release(version: str) -> None:
        if await ask.aio(f"Ship {version}?", bool, name="ship", suspend=True):
            ...
    ```
    """

    def __call__(
        self,
        prompt: str,
        data_type: type[T],
        *,
        name: str | None = None,
        timeout_seconds: float = 3600,
        default: T | _NotGiven = NOT_GIVEN,
        assignees: Sequence[str] | None = None,
        notify: Sequence[str] | None = None,
        remind_before: float | None = None,
        description: str | None = None,
        prompt_type: PromptType = "text",
        store: Store | str | None = None,
        endpoint: str | None = None,
        serve: bool | None = None,
        run_id: str | None = None,
        suspend: bool = False,
    ) -> T:
        here = where(name, run_id)
        event = Event.create(
            here.name,
            data_type,
            prompt=prompt,
            timeout_seconds=timeout_seconds,
            default=default,
            assignees=assignees,
            notify=notify,
            remind_before=remind_before,
            description=description,
            prompt_type=prompt_type,
            store=store,
            endpoint=endpoint,
            serve=serve,
            run_id=here.run_id,
        )
        if event.outcome() is None and not event.record.is_expired():
            _announce(event, suspend)
            if suspend:
                record, timeout = _suspension(here, event)
                record_suspension(event.store, record)
                # Raises Prefect's Pause: the process leaves the flow; a resumed run
                # calls ask again, which finds the event resolved. Returns only when
                # Prefect refuses (this key was suspended and resumed before): then wait.
                suspend_flow_run(timeout=timeout, key=event.request_id)
        return event.wait()

    async def aio(
        self,
        prompt: str,
        data_type: type[T],
        *,
        name: str | None = None,
        timeout_seconds: float = 3600,
        default: T | _NotGiven = NOT_GIVEN,
        assignees: Sequence[str] | None = None,
        notify: Sequence[str] | None = None,
        remind_before: float | None = None,
        description: str | None = None,
        prompt_type: PromptType = "text",
        store: Store | str | None = None,
        endpoint: str | None = None,
        serve: bool | None = None,
        run_id: str | None = None,
        suspend: bool = False,
    ) -> T:
        """The async form of `ask`, for `async def` flows and tasks."""
        here = where(name, run_id)
        event = await Event.create.aio(
            here.name,
            data_type,
            prompt=prompt,
            timeout_seconds=timeout_seconds,
            default=default,
            assignees=assignees,
            notify=notify,
            remind_before=remind_before,
            description=description,
            prompt_type=prompt_type,
            store=store,
            endpoint=endpoint,
            serve=serve,
            run_id=here.run_id,
        )
        if await event.outcome.aio() is None and not event.record.is_expired():
            _announce(event, suspend)
            if suspend:
                record, timeout = _suspension(here, event)
                await record_suspension.aio(event.store, record)
                await asuspend_flow_run(timeout=timeout, key=event.request_id)
        return await event.wait.aio()


ask = _Ask()
