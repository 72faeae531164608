"""`ask`: put a typed question to a person from a Dagster op or asset, without waiting.

The op creates a hitlkit event and ends at once, successfully, with the event's id as
its output; `answered_sensor` launches the continuation run when the event is
answered. No run (and no worker) waits for hours.

```python
@dg.op
def request_approval(context: dg.OpExecutionContext) -> str:
    return ask(context, "Deploy build 42?", bool, name="deploy")
```
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from hitlkit._event import Event
from hitlkit._options import MAX_NAME_LENGTH, NOT_GIVEN, PromptType, _NotGiven
from hitlkit._records import Outcome
from hitlkit._store import Store
from hitlkit._sync import syncify

__all__ = ["SEPARATOR", "Asked", "ask", "check_question", "event_name", "where"]

SEPARATOR = "@"
"""Between the question's name and the step's key in an event's name."""

Context = dg.OpExecutionContext | dg.AssetExecutionContext


@dataclass(frozen=True)
class Asked:
    """Which hitlkit event a step's question is: its run (the root run) and its name."""

    run_id: str
    name: str


def check_question(question: object) -> str:
    """`question` if it can name a question (the sensor finds its events by it)."""
    if not isinstance(question, str) or not question.strip() or SEPARATOR in question:
        raise ValueError(
            f"a question's name must be non-empty text without {SEPARATOR!r}, got {question!r}"
        )
    if len(question) > MAX_NAME_LENGTH // 2:
        raise ValueError(
            f"a question's name must be at most {MAX_NAME_LENGTH // 2} characters, "
            f"got {len(question)}"
        )
    return question


def event_name(question: str, step_key: str) -> str:
    """`question@step_key`, the step's key shortened with a digest when it is too long."""
    room = MAX_NAME_LENGTH - len(question) - len(SEPARATOR)
    if len(step_key) > room:
        digest = hashlib.sha256(step_key.encode()).hexdigest()[:12]
        step_key = f"{step_key[: room - len(digest) - 1]}~{digest}"
    return f"{question}{SEPARATOR}{step_key}"


def where(context: Context, name: str | None = None) -> Asked:
    """The event of a question asked in this step.

    Its run is the run's root run (Dagster's first run of a re-executed lineage) and its
    name holds the step's key (the op's handle, and the mapping key of a dynamic
    output): a re-executed step finds its question again, while each step of a run,
    and each new run, asks its own.
    """
    if isinstance(context, dg.AssetExecutionContext):
        op_context = context.op_execution_context
    elif isinstance(context, dg.OpExecutionContext):
        op_context = context
    else:
        raise TypeError(
            "ask() takes the op's or asset's context (dagster.OpExecutionContext or "
            f"AssetExecutionContext) first, got {type(context).__name__}"
        )
    mapping_key = op_context.get_mapping_key()
    step_key = str(op_context.op_handle) + (f"[{mapping_key}]" if mapping_key else "")
    question = check_question(name if name is not None else op_context.op_def.name)
    run = op_context.run
    return Asked(run.root_run_id or run.run_id, event_name(question, step_key))


def _announce(
    context: Context, event: Event[Any], outcome: Outcome | None, output_name: str | None
) -> str:
    """Log the form's link (or the outcome a re-executed step finds) and put it in the
    output's metadata; return the event's id."""
    if outcome is None:
        context.log.info(f"asked {event.prompt!r}: answer at {event.form_url}")
    else:
        by = f" by {outcome.by}" if outcome.by else ""
        context.log.info(
            f"{event.prompt!r} was {outcome.status.replace('_', ' ')}{by} already "
            f"(see {event.form_url}); the sensor carries the outcome on"
        )
    metadata: dict[str, Any] = {
        "hitlkit_event_id": event.request_id,
        "hitlkit_event_name": event.name,
        "form_url": dg.MetadataValue.url(event.form_url),
        "expires_at": event.deadline.isoformat(timespec="seconds"),
    }
    context.add_output_metadata(metadata, output_name=output_name)
    return event.request_id


@syncify
async def ask(
    context: Context,
    prompt: str,
    data_type: type[Any],
    *,
    name: str | None = None,
    timeout_seconds: float = 3600,
    default: Any | _NotGiven = NOT_GIVEN,
    assignees: Sequence[str] | None = None,
    notify: Sequence[str] | None = None,
    remind_before: float | None = None,
    description: str | None = None,
    prompt_type: PromptType = "text",
    store: Store | str | None = None,
    endpoint: str | None = None,
    serve: bool = False,
    output_name: str | None = None,
) -> str:
    """`ask(context, prompt, data_type, ...)` and its async twin `await ask.aio(...)`.

    Call it in an op or an asset, with its context: it creates the hitlkit event (or
    finds it, when the step is re-executed) and returns its id at once, for the op to
    return as its output; the output's metadata carries the id and the form's link
    (`form_url`), which the run's log shows too. Return right after: the step ends
    successfully and no run waits. `answered_sensor(job=..., question=name)` launches
    the continuation run, with the answer in its config, once the event is answered,
    times out or is cancelled.

    `name` is the question's name (default: the op's), which the sensor looks for;
    the event's name adds the step's key. The event belongs to the run's root run, so
    a re-executed step finds the same question and its answer is acted on once.
    `output_name` names the output the metadata goes to, for an op with several.
    `serve` is `False` by default: the step ends at once, so an app it started would
    end with it; run `hitl serve` (or the hitlkit app) on the same store instead.
    Other options as for `hitlkit.new_event`.

    ```python
    @dg.op
    def request_approval(context: dg.OpExecutionContext) -> str:
        return ask(context, "Deploy build 42?", bool, name="deploy", assignees=["ana"])
    ```
    """
    here = where(context, name)
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
    return _announce(context, event, await event.outcome.aio(), output_name)
