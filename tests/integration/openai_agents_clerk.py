"""An agent with a tool that needs approval, driven by a scripted model (no network).

Imported by `test_openai_agents.py`, and run as a process by its restart test:

    python -m tests.integration.openai_agents_clerk STATE_PATH STORE RUN_ID|- LEDGER

which runs the agent through `ToolApprovals.run` and prints its final output.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from agents import (
    Agent,
    ModelResponse,
    ModelSettings,
    RunContextWrapper,
    Tool,
    TResponseInputItem,
    Usage,
    function_tool,
    set_tracing_disabled,
)
from agents.models.interface import Model, ModelTracing
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

from hitlkit.contrib.openai_agents import ToolApprovals

set_tracing_disabled(True)


class ScriptedModel(Model):
    """A model that calls the tools it is scripted to, then reports the tools' outputs.

    It reads only its input, so a new process given a saved run answers as the
    first one would: the scripted calls first; once the input holds their outputs,
    a final message quoting them ("done: ..."), which is what a test checks.
    """

    def __init__(self, calls: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
        self.calls = list(calls)  # (call_id, tool, arguments)
        self.inputs: list[list[dict[str, Any]]] = []

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: object,
        handoffs: list[Any],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: object,
    ) -> ModelResponse:
        items = [dict(item) for item in input] if isinstance(input, list) else []
        self.inputs.append(items)
        outputs = [str(i["output"]) for i in items if i.get("type") == "function_call_output"]
        if outputs or not self.calls:
            text = ResponseOutputText(
                type="output_text", text="done: " + " | ".join(outputs), annotations=[]
            )
            message = ResponseOutputMessage(
                id="msg_1", type="message", role="assistant", status="completed", content=[text]
            )
            return ModelResponse(output=[message], usage=Usage(), response_id=None)
        calls = [
            ResponseFunctionToolCall(
                id=f"fc_{call_id}",
                call_id=call_id,
                type="function_call",
                name=tool,
                arguments=json.dumps(arguments),
            )
            for call_id, tool, arguments in self.calls
        ]
        return ModelResponse(output=list(calls), usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the scripted model does not stream")


def clerk(ledger: Path, calls: Sequence[tuple[str, str, dict[str, Any]]]) -> Agent[Any]:
    """An agent whose `refund` tool needs approval and writes each refund to `ledger`."""

    @function_tool(needs_approval=True)
    def refund(ctx: RunContextWrapper[Any], order: int, amount: float, api_token: str) -> str:
        """Refund an order (in the run context's currency, when it has one)."""
        with ledger.open("a", encoding="utf-8") as file:
            file.write(f"{order} {amount}\n")
        currency = ctx.context.get("currency") if isinstance(ctx.context, dict) else None
        return f"refunded {amount}{f' {currency}' if currency else ''} on order {order}"

    return Agent(
        name="clerk", instructions="Refund orders.", model=ScriptedModel(calls), tools=[refund]
    )


ONE_REFUND = [("call_1", "refund", {"order": 42, "amount": 12.5, "api_token": "s3cret-t0ken"})]


def main(argv: list[str]) -> None:
    state_path, store, run_id, ledger = argv
    given_run_id = run_id if run_id != "-" else None  # "-": each process's own default
    approvals = ToolApprovals(state_path, run_id=given_run_id, store=store, serve=False)
    agent = clerk(Path(ledger), ONE_REFUND)
    print("running", flush=True)
    result = approvals.run(agent, "Refund order 42")
    print("final:", result.final_output, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
