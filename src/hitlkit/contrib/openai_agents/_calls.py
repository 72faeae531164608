"""What a person is asked about one tool call, and what the model is told after.

A `ToolApprovalItem` carries the SDK's raw tool call: for a function tool, its
`name`, `call_id` and `arguments` (a JSON text). Other tools (shell, MCP, patches)
carry other shapes; each is shown as best it can be, never refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents import ToolApprovalItem

from hitlkit._approval import ApprovalRejected, ApprovalTimeout, approval_name

__all__ = ["ToolCall", "rejection_message"]


@dataclass(frozen=True)
class ToolCall:
    """One tool call waiting for approval, as hitlkit asks about it."""

    tool: str
    """The tool's name: the approval's action."""
    arguments: dict[str, Any]
    """The call's arguments, decoded from the model's JSON."""
    call_id: str | None
    """The SDK's id of this call, fixed for the run's life (and across its saved state)."""
    agent: str
    """The name of the agent that made the call."""

    @classmethod
    def of(cls, item: ToolApprovalItem) -> ToolCall:
        """Read the tool call an interruption is about."""
        raw: Any = item.raw_item
        tool = item.name or _field(raw, "type") or "tool"
        call_id = _field(raw, "call_id") or _field(raw, "id")
        found = (_field(raw, key) for key in ("arguments", "input", "action", "operation"))
        payload: Any = next((value for value in found if value is not None), {})
        return cls(
            tool=str(tool),
            arguments=_as_arguments(payload),
            call_id=str(call_id) if call_id else None,
            agent=item.agent.name,
        )

    def event_name(self) -> str:
        """The approval event's name: the tool, the SDK's call id and a hash of the
        arguments, `refund:call_8f2c:<hash>` (`approval_name`).

        One event per call: two identical calls in one run are asked about
        separately (approving one never approves the other); an id used again with
        other arguments is asked about anew; and a restart that reads the saved run
        asks about the same call, so it finds the same event.
        """
        return approval_name(self.tool, self.arguments, call_id=self.call_id)

    def default_prompt(self) -> str:
        """The question when the caller gives none."""
        return f"The agent **{self.agent}** asks to run the tool **{self.tool}**."


def _field(raw: Any, key: str) -> Any:
    """A field of a raw tool call, which is a dict or a model depending on the tool."""
    return raw.get(key) if isinstance(raw, dict) else getattr(raw, key, None)


def _as_arguments(payload: Any) -> dict[str, Any]:
    """The call's arguments as a mapping: JSON text decoded, models dumped."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError:
            return {"arguments": payload}
    if hasattr(payload, "model_dump"):
        payload = payload.model_dump(exclude_none=True)
    if isinstance(payload, Mapping):
        return {str(key): value for key, value in payload.items()}
    return {"arguments": payload}


def rejection_message(error: ApprovalRejected) -> str:
    """What the model reads in place of the tool's output when the call was not approved."""
    status = error.outcome.status if error.outcome is not None else None
    if isinstance(error, ApprovalTimeout) or status == "defaulted":
        said = "Not approved: nobody answered the request for approval in time."
    elif status == "cancelled":
        said = "Not approved: the request for approval was cancelled."
    else:
        said = "Not approved by a person."
    return f"{said} Their reason: {error.reason}" if error.reason else said
