"""`HitlOperator`: a deferrable Airflow task that asks a person for a typed value.

The task creates a hitlkit event named after itself in the DAG run, then defers to
`HitlTrigger`: no worker slot is held while the person takes hours. When the event
resolves, Airflow resumes the task, which reads the answer from the store and
returns it (to XCom). A retried task finds the same event: its answer, or its
pending question.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException, TaskDeferralTimeout

from hitlkit._event import Event, new_event
from hitlkit._exceptions import EventCancelledError, EventTimeoutError
from hitlkit._options import NOT_GIVEN, PromptType, _NotGiven
from hitlkit._records import utcnow
from hitlkit._values import adapter_for
from hitlkit.contrib.airflow._trigger import HitlTrigger

__all__ = ["DEFAULT_TIMEOUT_SECONDS", "HitlOperator", "event_identity"]

T = TypeVar("T")

DEFAULT_TIMEOUT_SECONDS = 3600.0
"""How long a question stays open when neither `timeout_seconds` nor `execution_timeout` says."""

DEFERRAL_GRACE_SECONDS = 300.0
"""How long after the event's deadline Airflow's own deferral timeout ends the wait: the
event's deadline decides, Airflow's timeout only catches a triggerer that was down."""


def event_identity(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> tuple[str, str]:
    """The hitlkit run id and event name of the question a task asks.

    ```python
    event_identity("deploy", "manual__2026-01-01T00:00:00+00:00", "approve")
    # ("airflow:deploy:manual__2026-01-01T00:00:00+00:00", "approve")
    ```

    A mapped task's instances ask one question each (`approve[0]`, `approve[1]`, ...).
    """
    name = task_id if map_index < 0 else f"{task_id}[{map_index}]"
    return f"airflow:{dag_id}:{run_id}", name


class HitlOperator(BaseOperator, Generic[T]):
    """Ask a person for a `data_type` value and return it (to XCom), without holding a
    worker while they answer.

    ```python
    from hitlkit.contrib.airflow import HitlOperator

    budget = HitlOperator(
        task_id="budget",
        data_type=int,
        prompt="How much may the {{ dag_run.conf['team'] }} team spend?",
        timeout_seconds=3600,
        assignees=["ana"],
    )
    ```

    The event is named after the task (`name`, default the task id; a mapped task
    adds its map index) in the run `airflow:<dag_id>:<run_id>`, so a retried task
    finds the same question, and its answer if it has one. Answer it through the form
    (`hitl serve` on the same store), `hitl answer <id> <value>`, or
    `hitlkit.answer` from code; the task log shows the id and the form's URL.

    - `data_type`: `int`, `bool`, `str`, `Literal[...]`, a pydantic model, ... as for
      `hitlkit.new_event`. `prompt` and `description` are templated.
    - `timeout_seconds`: seconds from the question to its deadline. Default: the
      task's `execution_timeout`, else an hour (as for `new_event`). At the deadline
      the task returns `default` if one was given, and otherwise fails (without retries: a retry
      would find the same closed question) with an `AirflowFailException` that says
      nobody answered. A cancelled event (`hitl cancel`) fails it the same way.
    - `store`: the store's URL, which the triggerer must reach too (an absolute
      folder path or `s3://...`); default `HITL_STORE` as the worker sees it.
    - `endpoint`: the app's URL shown in the form link (default `HITL_ENDPOINT`).
      The task never starts an app of its own: its process ends when it defers.
    - `default`, `assignees`, `description`, `prompt_type`, `poll_interval_seconds`
      (how often the trigger looks at a store that cannot notify): as for `new_event`.
    """

    template_fields: Sequence[str] = ("prompt", "description")
    ui_color = "#f5e6a8"

    def __init__(
        self,
        *,
        data_type: type[T],
        prompt: str = "Please provide a value",
        name: str | None = None,
        timeout_seconds: float | None = None,
        poll_interval_seconds: float = 5,
        default: T | _NotGiven = NOT_GIVEN,
        assignees: Sequence[str] | None = None,
        description: str | None = None,
        prompt_type: PromptType = "text",
        store: str | Path | None = None,
        endpoint: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        adapter = adapter_for(data_type)  # an unsupported type fails when the DAG is parsed
        if not isinstance(default, _NotGiven):
            adapter.dump(default)
        if timeout_seconds is not None and (
            isinstance(timeout_seconds, bool)
            or not isinstance(timeout_seconds, (int, float))
            or not timeout_seconds > 0
        ):
            raise ValueError(f"timeout_seconds must be a positive number, got {timeout_seconds!r}")
        if store is not None and not isinstance(store, (str, Path)):
            raise TypeError(
                f"store must be a store URL or folder path (the triggerer opens it), got {store!r}"
            )
        self.data_type = data_type
        self.prompt = prompt
        self.event_name = name
        self.timeout_seconds = timeout_seconds
        self.poll_interval_seconds = poll_interval_seconds
        self.default = default
        self.assignees = None if assignees is None else list(assignees)
        self.description = description
        self.prompt_type: PromptType = prompt_type
        self.store = None if store is None else str(store)
        self.endpoint = endpoint

    def execute(self, context: Context) -> T:
        """Ask (or find the question asked before), then defer until it resolves."""
        event = self.event(context)
        outcome = event.outcome()
        if outcome is not None:  # a retried task whose question was answered already
            return self._answer(event)
        self.log.info(
            "Asked %r (event %s). Answer at %s, or run: hitl answer %s <value>",
            event.name,
            event.request_id,
            event.form_url,
            event.request_id,
        )
        remaining = (event.deadline - utcnow()).total_seconds()
        self.defer(
            trigger=HitlTrigger(event.request_id, event.store.url, event.endpoint),
            method_name="execute_complete",
            timeout=timedelta(seconds=max(remaining, 0) + DEFERRAL_GRACE_SECONDS),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> T:
        """Resumed by the trigger: return the answer, or fail saying why there is none."""
        question = self.event(context)
        if event is not None and event.get("request_id") != question.request_id:
            raise AirflowFailException(
                f"the trigger fired for event {event.get('request_id')!r}, but task "
                f"{self.task_id!r} asks {question.request_id}: was the task renamed?"
            )
        return self._answer(question)

    def resume_execution(
        self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context
    ) -> Any:
        """Resume after deferral; after Airflow's deferral timeout too, where the event's
        deadline decides (its default, or the failure that says nobody answered)."""
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except TaskDeferralTimeout:
            self.log.warning("Airflow stopped waiting for the trigger; reading the event")
            return self.execute_complete(context)

    def event(self, context: Context) -> Event[T]:
        """This task instance's hitlkit event, created on first use (idempotent)."""
        ti = context["ti"]
        map_index = -1 if ti.map_index is None else ti.map_index
        run_id, name = event_identity(
            ti.dag_id, ti.run_id, self.event_name or ti.task_id, map_index
        )
        return new_event(
            name,
            self.data_type,
            prompt=self.prompt,
            timeout_seconds=self._timeout_seconds(),
            poll_interval_seconds=self.poll_interval_seconds,
            default=self.default,
            assignees=self.assignees,
            description=self.description,
            prompt_type=self.prompt_type,
            run_id=run_id,
            store=self.store,
            endpoint=self.endpoint,
            serve=False,
        )

    def _timeout_seconds(self) -> float:
        if self.timeout_seconds is not None:
            return float(self.timeout_seconds)
        if self.execution_timeout is not None:
            return self.execution_timeout.total_seconds()
        return DEFAULT_TIMEOUT_SECONDS

    def _answer(self, event: Event[T]) -> T:
        """The event's answer (its default after the deadline, when it has one); an
        `AirflowFailException` when it timed out or was cancelled."""
        try:
            outcome = event.outcome()
            # No outcome yet only after Airflow's deferral timeout, past the deadline:
            # waiting records the timeout at once.
            return event._result(outcome) if outcome is not None else event.wait()
        except EventTimeoutError as exc:
            raise AirflowFailException(
                f"nobody answered {event.name!r} (hitlkit event {event.request_id}) within "
                f"{event.timeout_seconds:g} seconds, by {event.deadline:%Y-%m-%d %H:%M:%S} UTC; "
                "give the task a default= to go on with, or a longer timeout_seconds"
            ) from exc
        except EventCancelledError as exc:
            raise AirflowFailException(
                f"{exc} (hitlkit event {event.request_id}), so task {self.task_id!r} has no answer"
            ) from exc
