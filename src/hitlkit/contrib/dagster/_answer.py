"""`Answer`: how a hitlkit question ended, as the config of the continuation op.

`answered_sensor` fills it in the run config of the run it launches; the op reads
the answer as the asked type with `value_as`.

```python
@dg.op
def deploy(context: dg.OpExecutionContext, config: Answer) -> None:
    if config.value_as(bool):
        ...
```
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import dagster as dg
from pydantic import Field

from hitlkit._decisions import outcome_error
from hitlkit._records import Outcome
from hitlkit._values import adapter_for

__all__ = ["Answer"]

T = TypeVar("T")

STATUSES = ("answered", "defaulted", "timed_out", "cancelled")


class Answer(dg.Config):
    """The outcome of a question asked with `ask`, as a Dagster op's or asset's config.

    `status` is "answered", "defaulted" (the deadline passed and the event's default
    stands), "timed_out" (no answer, no default) or "cancelled"; `value` is the answer
    as JSON data (`None` unless answered or defaulted), `by` who gave it, `reason` why
    it was cancelled. `event_id` names the hitlkit event and `asked_in_run` the Dagster
    run that asked (its root run).

    `value_as(data_type)` returns the answer as the asked type and raises as
    `Event.wait()` would when there is none: `EventTimeoutError` after a timeout,
    `EventCancelledError` after a cancellation. An op that calls it and is not told
    fails, so the run shows that nobody answered; check `status` first to act on it.

    ```python
    @dg.op
    def deploy(context: dg.OpExecutionContext, config: Answer) -> None:
        if config.status == "cancelled":
            return
        if config.value_as(bool):
            context.log.info(f"approved by {config.by}")
    ```
    """

    event_id: str = Field(description="the hitlkit event's id (24 hex digits)")
    name: str = Field(default="", description="the hitlkit event's name")
    status: str = Field(description="answered, defaulted, timed_out or cancelled")
    value: Any = Field(default=None, description="the answer as JSON data")
    by: str | None = Field(default=None, description="who answered")
    reason: str | None = Field(default=None, description="why it was cancelled")
    at: str = Field(default="", description="when it was resolved (ISO 8601, UTC)")
    asked_in_run: str = Field(default="", description="the Dagster run that asked (its root)")
    timeout_seconds: float = Field(default=0, description="the question's time to answer")

    @classmethod
    def of(cls, outcome: Outcome, *, name: str, run_id: str, timeout_seconds: float) -> Answer:
        """The config for an event's recorded `outcome`."""
        return cls(
            event_id=outcome.request_id,
            name=name,
            status=outcome.status,
            value=outcome.value,
            by=outcome.by,
            reason=outcome.reason,
            at=outcome.at.isoformat(),
            asked_in_run=run_id,
            timeout_seconds=timeout_seconds,
        )

    def value_as(self, data_type: type[T]) -> T:
        """The answer as a `data_type` (as asked); raises when there is none.

        Raises `EventTimeoutError` or `EventCancelledError` as `Event.wait()` does,
        `InvalidValueError` when `value` is not a `data_type` (a config edited by hand),
        and `ValueError` for an unknown `status`.
        """
        if self.status not in STATUSES:
            raise ValueError(
                f"Answer.status must be one of {', '.join(STATUSES)}, got {self.status!r}"
            )
        outcome = Outcome(
            request_id=self.event_id,
            status=self.status,  # type: ignore[arg-type]  # checked above
            value=self.value,
            by=self.by,
            via="dagster",
            at=datetime.fromisoformat(self.at) if self.at else datetime.now().astimezone(),
            reason=self.reason,
        )
        error = outcome_error(
            outcome,
            name=self.name or self.event_id,
            request_id=self.event_id,
            timeout_seconds=self.timeout_seconds,
        )
        if error is not None:
            raise error
        adapter = adapter_for(data_type)
        loaded: T = adapter.load(adapter.validate_json(self.value))
        return loaded
