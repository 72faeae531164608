"""`approve`: ask a person whether an action may run, from inside a LangGraph node.

Built on hitlkit's approvals (`hitlkit.ask_approval`): the answer is an `Approval`
(yes or no, and an optional reason), and a no raises `ApprovalRejected`.

```python
def act(state: State) -> dict[str, str]:
    call = state["tool_call"]
    approve("send_email", call["args"], assignees=["ana"])  # raises on a no
    return {"result": send_email(**call["args"])}
```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.types import interrupt
from pydantic_core import to_jsonable_python

from hitlkit._approval import (
    Approval,
    ArgumentsView,
    approval_name,
    ask_approval,
    check_approval,
    redact,
)
from hitlkit._event import Event
from hitlkit._options import NOT_GIVEN, _NotGiven
from hitlkit._store import Store
from hitlkit.contrib.langgraph._ask import interrupt_payload, settle, where

__all__ = ["approve"]

ACTION_CHARACTERS = 150
"""How much of the action names the event (the rest of its name is two hashes)."""


def _approval_payload(
    event: Event[Approval],
    action: str,
    arguments: Mapping[str, Any],
    show_args: ArgumentsView,
) -> dict[str, Any]:
    shown = to_jsonable_python(show_args(arguments), fallback=lambda value: type(value).__name__)
    return {**interrupt_payload(event, "approval"), "action": action, "arguments": shown}


def _resumed_value(resumed: object) -> object:
    """A yes or no given by hand (`Command(resume=True)`) as an `Approval`."""
    return Approval(approved=resumed) if isinstance(resumed, bool) else resumed


class _Approve:
    """`approve(action, arguments, ...)` and its async twin `await approve.aio(...)`.

    Call it inside a LangGraph node (of a graph with a checkpointer), before the
    action runs. The first time, it creates the approval event (its prompt shows the
    arguments through `show_args`, by default `hitlkit.redact`) and stops the node
    with `interrupt()`; the payload is that of `ask`, marked `"hitlkit": "approval"`,
    with `action` and the shown `arguments`. When the graph is resumed (by
    `resume_answered` or `wait_and_resume`), `approve` returns the `Approval` on a
    yes and raises `ApprovalRejected` (with the person's `reason`) on a no or a
    cancellation, `ApprovalTimeout` when nobody answered in time and no `default`
    (a bool) was given. Resumed by hand, `Command(resume=True)` (or an `Approval`'s
    fields) is recorded as the answer, unless someone answered first.

    Each visit of the node asks anew; a resumed node finds its approval.

    ```python
    approve("deploy", {"service": "api"}, prompt="Deploy now?", timeout_seconds=600)
    ```
    """

    def __call__(
        self,
        action: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        prompt: str | None = None,
        show_args: ArgumentsView = redact,
        assignees: Sequence[str] | None = None,
        timeout_seconds: float = 3600,
        default: bool | _NotGiven = NOT_GIVEN,
        notify: Sequence[str] | None = None,
        store: Store | str | None = None,
        endpoint: str | None = None,
        serve: bool | None = None,
        run_id: str | None = None,
    ) -> Approval:
        given = dict(arguments or {})
        here = where(approval_name(action[:ACTION_CHARACTERS], given, show_args), run_id)
        event = ask_approval(
            action,
            given,
            prompt=prompt,
            show_args=show_args,
            assignees=assignees,
            timeout_seconds=timeout_seconds,
            default=default,
            name=here.name,
            run_id=here.run_id,
            store=store,
            notify=notify,
            serve=serve,
            endpoint=endpoint,
        )
        resumed = interrupt(_approval_payload(event, action, given, show_args))
        return check_approval(event, settle(event, _resumed_value(resumed)))

    async def aio(
        self,
        action: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        prompt: str | None = None,
        show_args: ArgumentsView = redact,
        assignees: Sequence[str] | None = None,
        timeout_seconds: float = 3600,
        default: bool | _NotGiven = NOT_GIVEN,
        notify: Sequence[str] | None = None,
        store: Store | str | None = None,
        endpoint: str | None = None,
        serve: bool | None = None,
        run_id: str | None = None,
    ) -> Approval:
        """The async form of `approve`, for `async def` nodes."""
        given = dict(arguments or {})
        here = where(approval_name(action[:ACTION_CHARACTERS], given, show_args), run_id)
        event = await ask_approval.aio(
            action,
            given,
            prompt=prompt,
            show_args=show_args,
            assignees=assignees,
            timeout_seconds=timeout_seconds,
            default=default,
            name=here.name,
            run_id=here.run_id,
            store=store,
            notify=notify,
            serve=serve,
            endpoint=endpoint,
        )
        resumed = interrupt(_approval_payload(event, action, given, show_args))
        return check_approval(event, await settle.aio(event, _resumed_value(resumed)))


approve = _Approve()
