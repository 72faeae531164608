"""An OpenAI Agents SDK agent whose refund tool waits for a person's approval.

Runs offline: a scripted model stands in for the LLM (it calls `refund`, then
reports what the tool said), so no API key is needed. Run it, then answer from
another terminal with the printed link or `hitl answer` command:

    python examples/openai_agents_approval.py
    hitl answer <request id> '{"approved": false, "reason": "over the limit"}'

Stop it (even with `kill -9`) while it waits and run it again: it resumes the
saved run from `refund-42.json` and finds the same question, and any answer
given meanwhile. Needs `pip install "hitlkit[openai-agents]"`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from agents import (
    Agent,
    ModelResponse,
    ModelSettings,
    Runner,
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

QUESTION = "Refund order 42: the parcel never arrived."


class ScriptedModel(Model):
    """Stands in for an LLM: asks for a refund, then reports the tool's output."""

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
        outputs = [str(i["output"]) for i in items if i.get("type") == "function_call_output"]
        if outputs:
            text = ResponseOutputText(type="output_text", text=outputs[-1], annotations=[])
            reply: Any = ResponseOutputMessage(
                id="msg_1", type="message", role="assistant", status="completed", content=[text]
            )
        else:
            arguments = {"order": 42, "amount": 59.90, "payment_token": "tok_live_4242"}
            reply = ResponseFunctionToolCall(
                id="fc_1",
                call_id="call_refund_42",
                type="function_call",
                name="refund",
                arguments=json.dumps(arguments),
            )
        return ModelResponse(output=[reply], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the scripted model does not stream")


@function_tool(needs_approval=True)
def refund(order: int, amount: float, payment_token: str) -> str:
    """Refund `amount` on `order`, to the card behind `payment_token`."""
    return f"Refunded {amount:.2f} on order {order}."


agent = Agent(name="support", instructions="Refund orders.", model=ScriptedModel(), tools=[refund])


async def main() -> None:
    set_tracing_disabled(True)  # the SDK's traces go to OpenAI by default
    approvals = ToolApprovals("refund-42.json", timeout_seconds=600)
    if not approvals.state_path.exists():  # else a saved run resumes, with its questions
        first = await Runner.run(agent, QUESTION)
        for event in await approvals.ask.aio(first):
            print(f"{event.name} waits for approval: {event.form_url}", flush=True)
            print(f"""  or: hitl answer {event.request_id} '{{"approved": true}}'""", flush=True)
    else:
        print(f"resuming the run saved in {approvals.state_path} (hitl ls: its questions)")
    result = await approvals.run.aio(agent, QUESTION)  # waits, then carries on
    print(result.final_output, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
