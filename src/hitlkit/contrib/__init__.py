"""Integrations of hitlkit with workflow engines and agent frameworks, one subpackage each.

- `hitlkit.contrib.flyte`: Flyte 2 tasks (`pip install "hitlkit[flyte]"`), also
  importable as `flyteplugins.hitl`.
- `hitlkit.contrib.langgraph`: questions and approvals from LangGraph nodes through
  `interrupt()`, and threads resumed once answered (`pip install "hitlkit[langgraph]"`).
- `hitlkit.contrib.openai_agents`: tool approvals of the OpenAI Agents SDK
  (`pip install "hitlkit[openai-agents]"`).
- `hitlkit.contrib.pydantic_ai`: PydanticAI tool calls that need approval
  (`pip install "hitlkit[pydantic-ai]"`).
"""
