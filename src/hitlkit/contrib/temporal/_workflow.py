"""The workflow side: receive hitlkit's signal and wait for an answer, deterministically.

No hitlkit I/O happens in workflow code: the activity asked, the bridge signals, and
the workflow only keeps the `Resolution`s it received (the first per event: a signal
sent twice changes nothing) and turns one into the answer's type.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from hitlkit._values import adapter_for
from hitlkit.contrib.temporal._activity import Asked
from hitlkit.contrib.temporal._targets import SIGNAL, Resolution

__all__ = ["HitlWorkflow", "QuestionCancelled", "QuestionTimedOut", "answer_of"]

T = TypeVar("T")


class QuestionTimedOut(ApplicationError):
    """Nobody answered before the deadline, and the question had no default.

    An `ApplicationError` (not retried): uncaught, it fails the workflow run.
    """

    def __init__(self, resolution: Resolution) -> None:
        super().__init__(
            f"nobody answered hitlkit event {resolution.request_id} in time",
            type="QuestionTimedOut",
            non_retryable=True,
        )
        self.resolution = resolution


class QuestionCancelled(ApplicationError):
    """The question was cancelled (its `reason` says why), or its votes failed to decide."""

    def __init__(self, resolution: Resolution) -> None:
        reason = f": {resolution.reason}" if resolution.reason else ""
        super().__init__(
            f"hitlkit event {resolution.request_id} was cancelled{reason}",
            type="QuestionCancelled",
            non_retryable=True,
        )
        self.resolution = resolution


def answer_of(resolution: Resolution, data_type: type[T]) -> T:
    """The answer a `Resolution` carries, as `data_type`; deterministic, no I/O.

    Returns the answer (or the default, for `defaulted`); raises `QuestionTimedOut`
    or `QuestionCancelled` otherwise.

    ```python
    budget = answer_of(resolution, int)
    ```
    """
    if resolution.status in ("answered", "defaulted"):
        loaded: T = adapter_for(data_type).load(resolution.value)
        return loaded
    if resolution.status == "timed_out":
        raise QuestionTimedOut(resolution)
    if resolution.status == "cancelled":
        raise QuestionCancelled(resolution)
    raise ValueError(
        "a resolution's status is answered, defaulted, timed_out or cancelled, "
        f"got {resolution.status!r}"
    )


class HitlWorkflow:
    """A base for workflow classes that wait for hitlkit answers.

    It adds the signal handler `hitlkit_resolved` (signal name `SIGNAL`), which keeps
    the first `Resolution` per event, and `hitlkit_wait` / `hitlkit_answer`, which
    wait for the one an `Asked` (the asking activity's result) names.

    ```python
    @workflow.defn
    class Release(HitlWorkflow):
        @workflow.run
        async def run(self, version: str) -> str:
            asked = await workflow.execute_activity(
                ask_activity, Question(name="ship", prompt=f"Ship {version}?", data_type="bool"),
                start_to_close_timeout=timedelta(seconds=30),
            )
            return "shipped" if await self.hitlkit_answer(asked, bool) else "held"
    ```
    """

    @workflow.signal(name=SIGNAL)
    def hitlkit_resolved(self, resolution: Resolution) -> None:
        """Keep `resolution`, unless one for its event came before (a repeated signal)."""
        self._hitlkit_resolutions().setdefault(resolution.request_id, resolution)

    def _hitlkit_resolutions(self) -> dict[str, Resolution]:
        # Made on first use, so that subclasses need not call an __init__ of ours.
        found: dict[str, Resolution] | None = self.__dict__.get("_hitlkit_seen")
        if found is None:
            found = self.__dict__["_hitlkit_seen"] = {}
        return found

    def hitlkit_resolution(self, asked: Asked | str) -> Resolution | None:
        """The resolution received for `asked` (or its event id) so far, or `None`.

        An `Asked` that came back resolved (the question was asked again) carries its
        own; both hold the event's one recorded outcome.
        """
        if isinstance(asked, str):
            return self._hitlkit_resolutions().get(asked)
        return self._hitlkit_resolutions().get(asked.request_id, asked.resolution)

    async def hitlkit_wait(self, asked: Asked, *, timeout: timedelta | None = None) -> Resolution:
        """Wait (durably: a workflow condition) for the resolution of `asked`.

        Returns at once when the activity found the event already resolved. With
        `timeout`, raises `asyncio.TimeoutError` after that long (for a workflow that
        must not wait on a bridge that is down: the bridge also signals timeouts).
        """
        await workflow.wait_condition(
            lambda: self.hitlkit_resolution(asked) is not None, timeout=timeout
        )
        found = self.hitlkit_resolution(asked)
        assert found is not None  # the condition held
        return found

    async def hitlkit_answer(
        self, asked: Asked, data_type: type[T], *, timeout: timedelta | None = None
    ) -> T:
        """Wait for `asked` and return its answer as `data_type` (see `answer_of`)."""
        return answer_of(await self.hitlkit_wait(asked, timeout=timeout), data_type)
