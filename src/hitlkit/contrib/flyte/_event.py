"""`Event` and `new_event` for Flyte tasks: hitlkit's, with the run, store and app from Flyte."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

import flyte.report

from hitlkit._config import setting
from hitlkit._event import Event as _CoreEvent
from hitlkit._exceptions import HitlError
from hitlkit._options import NOT_GIVEN, PromptType, _NotGiven, documented, given
from hitlkit._policy import Policy, Quorum
from hitlkit._records import EventScope, Outcome
from hitlkit._shell import hitl_command
from hitlkit._store import Store
from hitlkit._sync import Syncified
from hitlkit._values import adapter_for
from hitlkit.contrib.flyte._context import bucket_store, task_defaults
from hitlkit.contrib.flyte._env import app_endpoint

__all__ = ["Event", "new_event"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
U = TypeVar("U")

log = logging.getLogger("hitlkit")

_blocking_a_loop: ContextVar[bool] = ContextVar("hitlkit_blocking_a_loop", default=False)


class _TaskCall(Syncified[P, R]):
    """A sync call that remembers whether it blocks an event loop running in its thread.

    A sync call inside an async task blocks Flyte's loop, which Flyte's own async
    calls (the report's flush) run on: such a call leaves the flush to Flyte, at
    the end of the task.
    """

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return super().__call__(*args, **kwargs)
        token = _blocking_a_loop.set(True)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            _blocking_a_loop.reset(token)


def _task_call(fn: Callable[P, Coroutine[Any, Any, R]]) -> _TaskCall[P, R]:
    return _TaskCall(fn)


class Event(_CoreEvent[T]):
    """A question put to a person from a Flyte task; `wait()` returns the typed answer.

    The same as `hitlkit.Event`, except that inside a task the run id is the
    Flyte run's name, and the form's link goes to the console and the task's report.

    ```python
    event = await Event.create.aio("add_to_x", data_type=int, prompt="What should I add to x?")
    y = await event.wait.aio()
    ```
    """

    # The same signature, returning this subclass; mypy cannot match generic
    # signatures held in attributes, hence the ignore.
    @staticmethod
    @_task_call
    @documented
    async def create(  # type: ignore[override]
        name: str,
        data_type: type[U],
        scope: EventScope = "run",
        prompt: str = "Please provide a value",
        timeout_seconds: float = 3600,
        poll_interval_seconds: float = 5,
        *,
        default: U | _NotGiven = NOT_GIVEN,
        initial: object = None,
        description: str | None = None,
        prompt_type: PromptType = "text",
        run_id: str | None = None,
        store: Store | str | None = None,
        endpoint: str | None = None,
        serve: bool | None = None,
        assignees: Sequence[str] | None = None,
        notify: Sequence[str] | None = None,
        remind_before: float | None = None,
        policy: Policy | Quorum | None = None,
        requested_by: str | None = None,
    ) -> Event[U]:
        """Create the event `name` in this Flyte run, or find it if it exists.

        Options as in `hitlkit.Event.create`; inside a task, `run_id` defaults
        to the run's name (`HITL_RUN_ID` still wins), and on a cluster the store
        and endpoint default to the deployed app's.

        {options}

        ```python
        event = Event.create("ok", data_type=bool, prompt="Deploy?")
        ```
        """
        found = task_defaults()
        if found.remote:
            # The app runs as a Flyte app on a cluster; tasks only point at it.
            if endpoint is None and not setting("endpoint").value:
                endpoint = await asyncio.to_thread(app_endpoint)
            serve = False if serve is None else serve
        options = given(locals())
        if store is None and found.store is not None:
            store = bucket_store(found.store)
        options.update(run_id=run_id or found.run_id, store=store)
        core = await _CoreEvent.create.aio(**options)
        event = Event(
            core.record,
            value_type=adapter_for(data_type),
            store=core.store,
            endpoint=core.endpoint,
            notices=core._notices,
        )
        if found.in_task:
            await _announce(event, await _outcome_if_any(event))
        return event


new_event = Event.create
"""Ask a person for a value of `data_type` from a Flyte task; the same call as `Event.create`.

```python
import flyteplugins.hitl as hitl

event = await hitl.new_event.aio("integer_input_event", data_type=int, prompt="Add?")
y = await event.wait.aio()
```
"""


async def _outcome_if_any(event: Event[T]) -> Outcome | None:
    """A run started again finds its event, maybe resolved meanwhile: how, if it was.

    The announcement is a courtesy: a store that fails to answer here leaves it saying
    the event waits, and `wait()` deals with the store as it always does.
    """
    try:
        return await event.outcome.aio()
    except HitlError as exc:
        log.warning("could not read whether %r was resolved already: %s", event.name, exc)
        return None


async def _announce(event: Event[T], outcome: Outcome | None) -> None:
    """Show where to answer, or how the event was resolved already (a run started again).

    One line on stderr, and a section of the task's report.
    """
    if outcome is None:
        line = (
            f"hitl: {event.name!r} waits for an answer at {event.form_url} "
            f"(or: {hitl_command()} answer {event.request_id} VALUE)"
        )
        section = _report_html(event)
    else:
        line = f"hitl: {event.name!r} was already {_resolution(outcome)} (see {event.form_url})"
        section = _resolved_html(event, outcome)
    print(line, file=sys.stderr, flush=True)
    flyte.report.get_tab("main").log(section)
    if not _blocking_a_loop.get():
        try:
            await flyte.report.flush.aio()
        except Exception as exc:  # the report is a courtesy: never fail the question over it
            log.warning("could not write the task's report: %s", exc)


def _report_html(event: Event[T]) -> str:
    form = html.escape(event.form_url, quote=True)
    api = html.escape(event.api_url)
    body = html.escape(f'{{"request_id": "{event.request_id}", "value": ...}}')
    return (
        f"<section><h3>Waiting for an answer: {html.escape(event.name)}</h3>"
        f"<p>{html.escape(event.prompt)}</p>"
        f'<p><a href="{form}" target="_blank" rel="noopener">Answer in the form</a></p>'
        f"<p>From a program: <code>POST {api}</code> with <code>{body}</code>; "
        f"from a shell: <code>hitl answer {event.request_id} VALUE</code></p></section>"
    )


_HEADINGS = {
    "answered": "Already answered",
    "defaulted": "Default used",
    "timed_out": "Timed out",
    "cancelled": "Cancelled",
}


def _resolved_html(event: Event[T], outcome: Outcome) -> str:
    form = html.escape(event.form_url, quote=True)
    return (
        f"<section><h3>{_HEADINGS[outcome.status]}: {html.escape(event.name)}</h3>"
        f"<p>{html.escape(event.prompt)}</p>"
        f"<p>This run found the event {html.escape(_resolution(outcome))}.</p>"
        f'<p><a href="{form}" target="_blank" rel="noopener">See it in the form</a></p>'
        "</section>"
    )


def _resolution(outcome: Outcome) -> str:
    """How an outcome reads in a sentence: "answered by ana at 2026-01-31 10:00:00 UTC: 5"."""
    at = outcome.at.strftime("%Y-%m-%d %H:%M:%S UTC")
    by = f" by {outcome.by}" if outcome.by else ""
    if outcome.status == "answered":
        return f"answered{by} at {at}: {json.dumps(outcome.value, ensure_ascii=False)}"
    if outcome.status == "defaulted":
        return f"past its deadline at {at}, so its default was used: {json.dumps(outcome.value)}"
    if outcome.status == "timed_out":
        return f"past its deadline at {at}, with no answer"
    reason = f": {outcome.reason}" if outcome.reason else ""
    return f"cancelled{by} at {at}{reason}"
