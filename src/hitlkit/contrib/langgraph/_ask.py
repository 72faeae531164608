"""`ask`: put a typed question to a person from inside a LangGraph node.

The question is a hitlkit event of the run named after the graph's thread, so the
person answers it through the form, the inbox, the CLI or a notification, and it
outlives the process. The node then stops with LangGraph's `interrupt()`; the
graph resumes, in this process or another, with `Command(resume=...)` (see
`resume_answered`), and the node, run again from its start, finds the same event
and gets the answer.

```python
def review(state: State) -> dict[str, int]:
    budget = ask("How much may we spend?", int, name="budget")
    return {"budget": budget}
```
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from langgraph.config import get_config
from langgraph.types import interrupt

from hitlkit._event import Event
from hitlkit._exceptions import ConfigurationError, EventResolvedError, HitlError
from hitlkit._options import MAX_NAME_LENGTH, NOT_GIVEN, PromptType, _NotGiven
from hitlkit._records import Outcome
from hitlkit._store import Store
from hitlkit._sync import syncify

__all__ = ["RESUME_KEY", "Where", "ask", "interrupt_payload", "settle", "where"]

T = TypeVar("T")

log = logging.getLogger("hitlkit")

KIND = "hitlkit"
"""The key that marks an interrupt's payload as a hitlkit question."""
RESUME_KEY = "hitlkit_outcome"
"""The key of the resume value `resume_answered` sends: the event's outcome as JSON."""


@dataclass(frozen=True)
class Where:
    """Which event a node's question is: its run (default: the thread) and its name."""

    thread_id: str
    run_id: str
    name: str


def where(name: str | None = None, run_id: str | None = None) -> Where:
    """The run and event name of a question asked here, inside a node.

    The name adds to the given one a digest of the node's task, which LangGraph keeps
    across resumes and restarts (a resumed node runs as the same task) and changes
    on every new visit of the node: a thread that comes back to the node asks
    again, while a resumed node finds its question.
    """
    try:
        config = get_config()
    except RuntimeError:
        raise HitlError(
            "hitlkit.contrib.langgraph.ask() must be called inside a LangGraph node"
        ) from None
    configurable = config.get("configurable", {})
    metadata = config.get("metadata", {})
    thread_id = configurable.get("thread_id")
    if thread_id is None or not str(thread_id):
        raise ConfigurationError(
            "asking a person from a LangGraph node needs a thread: compile the graph "
            'with a checkpointer and call it with config={"configurable": {"thread_id": ...}}'
        )
    task = str(configurable.get("checkpoint_ns") or metadata.get("langgraph_checkpoint_ns"))
    node = str(metadata.get("langgraph_node") or "node")
    digest = hashlib.sha256(task.encode()).hexdigest()[:12]
    base = (name or node)[: MAX_NAME_LENGTH - len(digest) - 1]
    return Where(str(thread_id), run_id or str(thread_id), f"{base}@{digest}")


def interrupt_payload(event: Event[Any], kind: str = "ask") -> dict[str, Any]:
    """What the graph's caller sees of the question: JSON data, marked as hitlkit's."""
    record = event.record
    return {
        KIND: kind,
        "request_id": event.request_id,
        "name": event.name,
        "run_id": event.run_id,
        "prompt": event.prompt,
        "data_type": record.data_type,
        "json_schema": record.json_schema,
        "form_url": event.form_url,
        "endpoint": event.endpoint,
        "expires_at": record.deadline.isoformat(),
        "assignees": None if record.assignees is None else list(record.assignees),
    }


async def outcome_of_resume(event: Event[Any], resumed: object) -> Outcome | None:
    """The recorded outcome a resume value points at, or `None` for a bare value (an
    answer to record).

    The resume value only says that the event is resolved: whoever resumes the graph
    could write anything in it, so the outcome is read from the store.
    """
    if not (isinstance(resumed, dict) and RESUME_KEY in resumed):
        return None
    claimed = Outcome.model_validate(resumed[RESUME_KEY])
    if claimed.request_id != event.request_id:
        raise HitlError(
            f"the node was resumed with the outcome of event {claimed.request_id}, "
            f"but it asks {event.request_id} ({event.name!r}): resume each interrupt "
            "by its id, as resume_answered does"
        )
    recorded = await event.outcome.aio()
    if recorded is None:
        raise HitlError(
            f"the node was resumed as if event {event.request_id} ({event.name!r}) were "
            "resolved, but the store holds no outcome for it: resume it with "
            "resume_answered once it is answered"
        )
    return recorded


class _Ask:
    """`ask(prompt, data_type, ...)` and its async twin `await ask.aio(...)`.

    Call it inside a LangGraph node of a graph compiled with a checkpointer. The
    first time, it creates the hitlkit event and stops the node with `interrupt()`,
    whose payload (JSON) carries `request_id`, `form_url`, `prompt`, `data_type`,
    `json_schema`, `expires_at` and `assignees`, marked with `"hitlkit": "ask"`.
    When the graph is resumed, the node runs again, `ask` finds the same event and
    returns the answer as a `data_type`:

    - resumed by `resume_answered` / `wait_and_resume` (the event's outcome): the
      answer, or the event's default after its deadline; raises `EventTimeoutError`
      when the deadline passed with no default, `EventCancelledError` when it was
      cancelled, so the node (or the graph's caller) sees it;
    - resumed by hand with `Command(resume=value)`: `value` is recorded as an
      answer (by `HITL_USER`, checked like any other), unless the event was already
      resolved: then the recorded outcome wins, as with every channel.

    Options: `name` (default: the node's name; give each question of a node its own
    name), `timeout_seconds`, `default`, `assignees`, `notify`, `remind_before`,
    `description`, `prompt_type`, `store`, `endpoint`, `serve` and `run_id`
    (default: the thread id) as for `hitlkit.new_event`.

    ```python
    def review(state: State) -> dict[str, bool]:
        ok = ask("Ship it?", bool, name="ship", assignees=["ana"])
        return {"ship": ok}
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
        return event._result(settle(event, interrupt(interrupt_payload(event))))

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
    ) -> T:
        """The async form of `ask`, for `async def` nodes."""
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
        resumed = interrupt(interrupt_payload(event))
        return event._result(await settle.aio(event, resumed))


@syncify
async def settle(event: Event[Any], resumed: object) -> Outcome:
    """The outcome the node goes on with, given what `interrupt()` returned.

    The outcome sent by `resume_answered`, or else a value given by hand with
    `Command(resume=value)`, recorded as an answer unless the event was resolved
    first (then the recorded outcome counts: the first answer wins).
    """
    outcome = await outcome_of_resume(event, resumed)
    if outcome is not None:
        return outcome
    try:
        answered = await event.answer.aio(resumed)
    except EventResolvedError as exc:
        return _lost(event, exc)
    if answered is None:
        raise HitlError(
            f"event {event.name!r} is decided by a policy: the value resumed is one vote, "
            "and the votes decide nothing yet; resume once they do (resume_answered)"
        )
    return answered


def _lost(event: Event[Any], exc: EventResolvedError) -> Outcome:
    """The recorded outcome, when a value given through `Command(resume=...)` came second."""
    log.warning(
        "event %r (%s) was resolved before the graph was resumed with a value: %s; "
        "the recorded outcome counts",
        event.name,
        event.request_id,
        exc,
    )
    return exc.outcome


ask = _Ask()
