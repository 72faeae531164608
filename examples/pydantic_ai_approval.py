"""A PydanticAI agent whose risky tool waits for a person's approval, through hitlkit.

Offline: a scripted model stands in for the LLM (`pip install "hitlkit[pydantic-ai]"`).
Run it, then answer from another terminal with the printed link, or:

    hitl answer ID '{"approved": false, "reason": "keep it until Friday"}'

Kill it while it waits and run it again: it resumes from the checkpoint file
(first argument, default `pydantic_ai_run.json`) and finds the same question.
"""

import sys

from pydantic_ai import Agent, DeferredToolRequests
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from hitlkit import Approval, Event
from hitlkit.contrib.pydantic_ai import run_with_approvals


def scripted_model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """Stands in for an LLM: asks to delete a file, then says what the tool answered."""
    returned = [
        part for message in messages for part in message.parts if isinstance(part, ToolReturnPart)
    ]
    if not returned:
        call = ToolCallPart(
            "delete_file",
            {"path": "/srv/reports/2025.csv", "api_token": "tok-123"},  # the token is not shown
            tool_call_id="call-1",
        )
        return ModelResponse(parts=[call])
    return ModelResponse(parts=[TextPart(f"delete_file: {returned[-1].content}")])


agent = Agent(FunctionModel(scripted_model), output_type=[str, DeferredToolRequests])


@agent.tool_plain(requires_approval=True)
def delete_file(path: str, api_token: str) -> str:
    """Delete a file on the report server (here: pretend to)."""
    return f"deleted {path}"


def show(event: Event[Approval]) -> None:
    print(f"waiting for approval: {event.form_url}  (hitl answer {event.request_id} ...)")
    print(f"request_id={event.request_id}", flush=True)


if __name__ == "__main__":
    checkpoint = sys.argv[1] if len(sys.argv) > 1 else "pydantic_ai_run.json"
    result = run_with_approvals(
        agent, "Remove last year's report.", checkpoint=checkpoint, on_ask=show
    )
    print(result.output, flush=True)
