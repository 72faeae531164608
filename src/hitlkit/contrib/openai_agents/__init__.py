"""hitlkit for the OpenAI Agents SDK: tool approvals answered by a person, durably.

```python
from agents import Agent, function_tool
from hitlkit.contrib.openai_agents import ToolApprovals

@function_tool(needs_approval=True)
def send_email(to: str, body: str) -> str: ...

agent = Agent(name="assistant", tools=[send_email])
result = ToolApprovals("runs/mail.json", run_id="mail-1").run(agent, "Mail Ana the report")
```

Each tool call that needs approval becomes a hitlkit approval event (answer it
in the web app, with `hitl answer`, or from code). The run's state is saved to a
file first, so a process killed while waiting is replaced by one that runs the
same code and carries on. Needs `pip install "hitlkit[openai-agents]"`.
"""

try:
    import agents  # noqa: F401 - fail here, with the install hint, when the SDK is missing
except ModuleNotFoundError as exc:
    if exc.name != "agents":
        raise
    raise ModuleNotFoundError(
        "hitlkit's OpenAI Agents SDK integration needs openai-agents: "
        'pip install "hitlkit[openai-agents]"',
        name="agents",
    ) from None

from hitlkit.contrib.openai_agents._approvals import ToolApprovals

__all__ = ["ToolApprovals"]
