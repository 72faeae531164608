"""hitlkit for PydanticAI: tool calls that need approval, answered by a person.

A tool registered with `requires_approval=True` (or raising `ApprovalRequired`)
ends the run with `DeferredToolRequests`. Here each such call becomes a hitlkit
question (the tool's name as the action, its arguments shown through a redaction
hook), and the answers become the `DeferredToolResults` of the next run; a "no"
reaches the model with the person's reason.

```python
from pydantic_ai import Agent, DeferredToolRequests
from hitlkit.contrib.pydantic_ai import run_with_approvals

agent = Agent("openai:gpt-5", output_type=[str, DeferredToolRequests])


@agent.tool_plain(requires_approval=True)
def delete_file(path: str) -> str: ...


result = run_with_approvals(agent, "Remove /tmp/report.csv", checkpoint="run.json")
print(result.output)
```

- `run_with_approvals`: runs to the end, asking and waiting at each deferral;
  with `checkpoint=`, a restarted process resumes the run and finds its questions.
- `tool_approval_results`: asks about one `DeferredToolRequests` and waits,
  returning the `DeferredToolResults`; `ask_tool_approvals` only asks.

Every call is also `await f.aio(...)`. Needs `pip install "hitlkit[pydantic-ai]"`.
"""

try:
    import pydantic_ai  # noqa: F401 - fail here, with the install hint, when it is missing
except ModuleNotFoundError as exc:
    if exc.name != "pydantic_ai":
        raise
    raise ModuleNotFoundError(
        'hitlkit\'s PydanticAI integration needs PydanticAI: pip install "hitlkit[pydantic-ai]"',
        name="pydantic_ai",
    ) from None

from hitlkit.contrib.pydantic_ai._approvals import (
    approval_event_name,
    ask_tool_approvals,
    tool_approval_results,
)
from hitlkit.contrib.pydantic_ai._run import load_checkpoint, run_with_approvals

__all__ = [
    "approval_event_name",
    "ask_tool_approvals",
    "load_checkpoint",
    "run_with_approvals",
    "tool_approval_results",
]
