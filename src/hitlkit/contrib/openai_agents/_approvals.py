"""`ToolApprovals`: the SDK's tool approvals asked through hitlkit, resumable after a restart.

The flow, each step safe to repeat after a crash:

1. `ask(result)`: save the run's state to `state_path`, then open one approval
   event per interrupted tool call (or find it, when asked again).
2. `resume(agent)`: load the saved state, wait for each event's answer, approve or
   reject each call (a "no" rejects with the person's reason, which the model
   reads), and continue the run.
3. `run(agent, input)`: both in a loop until the run ends, starting from the
   saved state when there is one; the file is removed when the run ends.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents import (
    Agent,
    RunConfig,
    Runner,
    RunResult,
    RunResultStreaming,
    RunState,
    TResponseInputItem,
)
from agents.items import ToolApprovalItem

from hitlkit._approval import (
    Approval,
    ApprovalRejected,
    ArgumentsView,
    ask_approval,
    redact,
    wait_for_approval,
)
from hitlkit._config import default_run_id
from hitlkit._event import NOT_GIVEN, Event
from hitlkit._options import _NotGiven
from hitlkit._store import Store
from hitlkit._sync import syncmethod
from hitlkit.contrib.openai_agents._calls import ToolCall, rejection_message
from hitlkit.contrib.openai_agents._state import load_run, remove_run, save_run

__all__ = ["ToolApprovals"]


class ToolApprovals:
    """Ask a person, through hitlkit, before an agent's tools that `needs_approval` run.

    ```python
    from agents import Agent, function_tool
    from hitlkit.contrib.openai_agents import ToolApprovals

    @function_tool(needs_approval=True)
    def refund(order: int, amount: float) -> str: ...

    agent = Agent(name="clerk", tools=[refund])
    approvals = ToolApprovals("runs/order-42.json", run_id="order-42")
    result = approvals.run(agent, "Refund order 42")     # or: await approvals.run.aio(...)
    print(result.final_output)
    ```

    The run's state is saved to `state_path` before anyone is asked, so a process
    that dies while waiting is replaced by one that calls `run` (or `resume`) with
    the same `state_path`: it finds the same questions, and any answer given
    meanwhile, and carries on. Each tool call is its own event, named from the tool
    and the SDK's call id (`refund:call_8f2c...`), so identical calls are asked about
    separately. The options after `state_path` are those of `ask_approval`; the
    question shows the call's arguments through `show_args` (secrets hidden).

    A "no" rejects the call, and the model reads "Not approved by a person. Their
    reason: ..." instead of the tool's output. At the deadline, a call nobody
    answered is rejected too ("Not approved: nobody answered ... in time."), unless
    `default=` (`True` or `False`) was given; a cancelled question is a rejection
    ("Not approved: the request for approval was cancelled.", with the reason).
    """

    def __init__(
        self,
        state_path: str | os.PathLike[str],
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
    ) -> None:
        self.state_path = Path(state_path)
        self.run_id = run_id
        self.prompt = prompt
        self.show_args = show_args
        self.assignees = assignees
        self.timeout_seconds = timeout_seconds
        self.default = default
        self.store = store
        self.notify = notify
        self.serve = serve
        self.endpoint = endpoint

    @syncmethod
    async def ask(self, result: RunResult | RunResultStreaming) -> list[Event[Approval]]:
        """Save the run's state, then ask about each interrupted tool call; do not wait.

        Returns the approval events, one per call, in the run's order. A result
        without interruptions raises `ValueError`: there is nothing to ask.
        """
        if not result.interruptions:
            raise ValueError("the run result has no interruptions: no tool call awaits approval")
        run_id = self.run_id or await asyncio.to_thread(self._saved_run_id) or default_run_id()
        state = result.to_state().to_json()
        await asyncio.to_thread(save_run, self.state_path, run_id, state)
        return [await self._event(item, run_id) for item in result.interruptions]

    @syncmethod
    async def resume(self, agent: Agent[Any], *, run_config: RunConfig | None = None) -> RunResult:
        """Load the saved run, apply each answer as it comes, and continue the run.

        Waits for every interrupted call's answer (up to its deadline). The result
        may hold new interruptions: pass it to `ask` again (as `run` does).
        """
        saved = await asyncio.to_thread(load_run, self.state_path)
        if self.run_id is not None and self.run_id != saved.run_id:
            raise ValueError(
                f"the run saved at {self.state_path} asks in hitlkit run {saved.run_id!r}, "
                f"not {self.run_id!r}: pass run_id={saved.run_id!r} or another state_path"
            )
        state = await RunState.from_json(agent, saved.state)
        for item in state.get_interruptions():
            await self._decide(state, item, saved.run_id)
        return await Runner.run(agent, state, run_config=run_config)

    @syncmethod
    async def run(
        self,
        agent: Agent[Any],
        input: str | list[TResponseInputItem],
        *,
        context: Any = None,
        run_config: RunConfig | None = None,
    ) -> RunResult:
        """Run `agent` to its end, asking about each tool call that needs approval.

        Starts from the run saved at `state_path` if there is one (then `input` and
        `context` are not used: the saved run has its own), else from `input`.
        Removes the saved state once the run ends. `context` is saved with the
        run, so make it a dict: the SDK saves other contexts only with a serializer.
        """
        if await asyncio.to_thread(self.state_path.exists):
            result = await self.resume.aio(agent, run_config=run_config)
        else:
            result = await Runner.run(agent, input, context=context, run_config=run_config)
        while result.interruptions:
            await self.ask.aio(result)
            result = await self.resume.aio(agent, run_config=run_config)
        await asyncio.to_thread(remove_run, self.state_path)
        return result

    async def _event(self, item: ToolApprovalItem, run_id: str) -> Event[Approval]:
        """The approval event of one tool call: opened, or found when it exists."""
        call = ToolCall.of(item)
        return await ask_approval.aio(
            call.tool,
            call.arguments,
            prompt=self.prompt or call.default_prompt(),
            show_args=self.show_args,
            name=call.event_name(),
            assignees=self.assignees,
            timeout_seconds=self.timeout_seconds,
            default=self.default,
            run_id=run_id,
            store=self.store,
            notify=self.notify,
            serve=self.serve,
            endpoint=self.endpoint,
        )

    async def _decide(self, state: RunState[Any], item: ToolApprovalItem, run_id: str) -> None:
        """Wait for one call's answer and record it in `state` as an approval or a rejection."""
        event = await self._event(item, run_id)
        try:
            await wait_for_approval.aio(event)
        except ApprovalRejected as no:  # a no, a cancellation, or the deadline
            state.reject(item, rejection_message=rejection_message(no))
        else:
            state.approve(item)

    def _saved_run_id(self) -> str | None:
        """The hitlkit run id of the state saved earlier, so one agent run keeps one."""
        try:
            return load_run(self.state_path).run_id
        except (FileNotFoundError, ValueError):
            return None
