"""Integrations of hitlkit with workflow engines, one subpackage each.

- `hitlkit.contrib.flyte`: Flyte 2 tasks (`pip install "hitlkit[flyte]"`), also
  importable as `flyteplugins.hitl`.
- `hitlkit.contrib.openai_agents`: tool approvals of the OpenAI Agents SDK
  (`pip install "hitlkit[openai-agents]"`).
"""
