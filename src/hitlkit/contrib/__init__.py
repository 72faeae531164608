"""Integrations of hitlkit with workflow engines, one subpackage each.

- `hitlkit.contrib.flyte`: Flyte 2 tasks (`pip install "hitlkit[flyte]"`), also
  importable as `flyteplugins.hitl`.
- `hitlkit.contrib.pydantic_ai`: PydanticAI tool calls that need approval
  (`pip install "hitlkit[pydantic-ai]"`).
"""
