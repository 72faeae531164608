"""Deferred tool approvals of a PydanticAI run, asked of a person through hitlkit.

A run whose tools need approval ends with `DeferredToolRequests`; each call in
its `approvals` becomes one hitlkit event (answer type `Approval`), named from
the call itself, so asking again, in this process or after a restart, finds the
same event and any answer given meanwhile. The answers become the
`DeferredToolResults` the next run takes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from pydantic_ai import DeferredToolRequests, DeferredToolResults, ToolApproved, ToolDenied
from pydantic_ai.messages import ToolCallPart

from hitlkit._approval import (
    Approval,
    ApprovalRejected,
    ApprovalTimeout,
    ArgumentsView,
    approval_name,
    ask_approval,
    redact,
    wait_for_approval,
)
from hitlkit._event import Event
from hitlkit._options import NOT_GIVEN, _NotGiven
from hitlkit._store import Store
from hitlkit._sync import syncify

__all__ = ["approval_event_name", "ask_tool_approvals", "tool_approval_results"]

OnAsk = Callable[[Event[Approval]], object]

DENIED = "A person denied this tool call."
TIMED_OUT = "Nobody approved this tool call in time, so it was not run."
DEFAULT_DENIED = "Nobody answered in time, and the default is to deny this tool call."


def approval_event_name(call: ToolCallPart, show_args: ArgumentsView = redact) -> str:
    """The name of the event that asks about `call`: `<tool>:<tool_call_id>:<hash>`.

    The tool call id tells calls apart within one conversation. The hash, of the
    arguments as `approval_name` hashes them (secrets hidden, nothing shortened),
    keeps a reused id (some models number their calls) from finding the answer
    about other arguments, and tells nothing of the secrets.

    ```python
    approval_event_name(ToolCallPart("delete_file", {"path": "/tmp/x"}, tool_call_id="c1"))
    # 'delete_file:c1:cb1533f3eb417069'
    ```
    """
    return approval_name(call.tool_name, call.args_as_dict(), show_args, call_id=call.tool_call_id)


def _shown_arguments(requests: DeferredToolRequests, call: ToolCallPart) -> dict[str, Any]:
    """The arguments the tool will receive when known (validated), else the model's."""
    return requests.validated_args.get(call.tool_call_id) or call.args_as_dict()


@syncify
async def ask_tool_approvals(
    requests: DeferredToolRequests,
    *,
    run_id: str | None = None,
    prompt: str | None = None,
    show_args: ArgumentsView = redact,
    assignees: Sequence[str] | None = None,
    timeout_seconds: float = 3600,
    default: bool | _NotGiven = NOT_GIVEN,
    store: Store | str | None = None,
    notify: Sequence[str] | None = None,
    serve: bool | None = None,
    endpoint: str | None = None,
) -> dict[str, Event[Approval]]:
    """Ask a person about every call in `requests.approvals`; do not wait.

    Returns the events by `tool_call_id`. Each event shows the tool's name as
    the action and its arguments through `show_args` (default: `redact`, which
    hides names that look secret and truncates long values). Asked again with
    the same `run_id`, the same calls find their events, answered or not.
    The other options are `new_event`'s; `default` is the approval given when
    nobody answers before the deadline (none: the call is denied then).

    ```python
    events = ask_tool_approvals(result.output, run_id="order-42")
    for tool_call_id, event in events.items():
        print(event.form_url)
    ```
    """
    events: dict[str, Event[Approval]] = {}
    for call in requests.approvals:
        events[call.tool_call_id] = await ask_approval.aio(
            call.tool_name,
            _shown_arguments(requests, call),
            name=approval_event_name(call, show_args),
            prompt=prompt,
            show_args=show_args,
            assignees=assignees,
            timeout_seconds=timeout_seconds,
            default=default,
            run_id=run_id,
            store=store,
            notify=notify,
            serve=serve,
            endpoint=endpoint,
        )
    return events


@syncify
async def tool_approval_results(
    requests: DeferredToolRequests,
    *,
    run_id: str | None = None,
    prompt: str | None = None,
    show_args: ArgumentsView = redact,
    assignees: Sequence[str] | None = None,
    timeout_seconds: float = 3600,
    default: bool | _NotGiven = NOT_GIVEN,
    store: Store | str | None = None,
    notify: Sequence[str] | None = None,
    serve: bool | None = None,
    endpoint: str | None = None,
    on_ask: OnAsk | None = None,
) -> DeferredToolResults:
    """Ask about every approval in `requests` (or find the questions), wait for all
    the answers, and return them as the `DeferredToolResults` of the next run.

    - yes: `ToolApproved()`; the tool runs.
    - no: `ToolDenied` whose message carries the person's reason, which the model sees.
    - no answer by the deadline: the `default` if one was given, else `ToolDenied`.
    - the question cancelled: `ApprovalRejected` (its `reason` the canceller's); the run
      should stop.

    Who answered each call is in `answered_by`. `on_ask(event)` is called for
    each question once it is asked (or found), before waiting: show its
    `form_url`, send a message. It runs in the event loop (hitlkit's own, in the
    plain call): keep it quick, and call no blocking hitlkit function from it.
    The other options are `ask_tool_approvals`'.

    ```python
    result = agent.run_sync("Tidy up /tmp")
    if isinstance(result.output, DeferredToolRequests):
        answers = tool_approval_results(result.output, run_id="tidy-1")
        history = result.all_messages()
        result = agent.run_sync(message_history=history, deferred_tool_results=answers)
    ```
    """
    events = await ask_tool_approvals.aio(
        requests,
        run_id=run_id,
        prompt=prompt,
        show_args=show_args,
        assignees=assignees,
        timeout_seconds=timeout_seconds,
        default=default,
        store=store,
        notify=notify,
        serve=serve,
        endpoint=endpoint,
    )
    if on_ask is not None:
        for event in events.values():
            on_ask(event)
    decided = await _decisions(list(events.values()))
    results = DeferredToolResults()
    for tool_call_id, (decision, by) in zip(events, decided, strict=True):
        results.approvals[tool_call_id] = decision
        if by is not None:
            results.answered_by[tool_call_id] = by
    return results


async def _decisions(
    events: Sequence[Event[Approval]],
) -> list[tuple[ToolApproved | ToolDenied, str | None]]:
    """Wait for every event at once. When one wait fails (a cancelled question), the
    others stop too, rather than wait on alone until their deadlines."""
    waits = [asyncio.ensure_future(_decision(event)) for event in events]
    try:
        return list(await asyncio.gather(*waits))
    except BaseException:
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        raise


async def _decision(event: Event[Approval]) -> tuple[ToolApproved | ToolDenied, str | None]:
    """Wait for `event`; its answer as PydanticAI's approval result, and who gave it.

    A cancelled question is no decision on the call: its `ApprovalRejected` ends the run.
    """
    try:
        await wait_for_approval.aio(event)
    except ApprovalTimeout:
        return ToolDenied(TIMED_OUT), None
    except ApprovalRejected as no:
        if no.outcome is None or no.outcome.status == "cancelled":
            raise
        if no.outcome.status == "defaulted":
            return ToolDenied(DEFAULT_DENIED), None
        if no.reason:
            return ToolDenied(f"A person denied this tool call: {no.reason}"), no.by
        return ToolDenied(DENIED), no.by
    outcome = await event.outcome.aio()
    answered = outcome is not None and outcome.status == "answered"
    return ToolApproved(), outcome.by if answered and outcome is not None else None
