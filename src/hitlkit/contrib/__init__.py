"""Integrations of hitlkit with workflow engines and agent frameworks, one subpackage each.

- `hitlkit.contrib.flyte`: Flyte 2 tasks (`pip install "hitlkit[flyte]"`), also
  importable as `flyteplugins.hitl`.
- `hitlkit.contrib.langgraph`: questions and approvals from LangGraph nodes through
  `interrupt()`, and threads resumed once answered (`pip install "hitlkit[langgraph]"`).
- `hitlkit.contrib.openai_agents`: tool approvals of the OpenAI Agents SDK
  (`pip install "hitlkit[openai-agents]"`).
- `hitlkit.contrib.pydantic_ai`: PydanticAI tool calls that need approval
  (`pip install "hitlkit[pydantic-ai]"`).
- `hitlkit.contrib.prefect`: questions from Prefect flows and tasks, waited for or with the
  flow run suspended and resumed by a watcher (`pip install "hitlkit[prefect]"`).
- `hitlkit.contrib.dagster`: questions from ops and assets that end at once, and a sensor
  that launches the continuation run with the answer (`pip install "hitlkit[dagster]"`).
- `hitlkit.contrib.airflow`: a deferrable operator whose trigger waits in Airflow's
  triggerer (`pip install "hitlkit[airflow]"`).
- `hitlkit.contrib.temporal`: an activity that asks, a workflow mixin that waits for the
  signal, and the bridge behind `hitl temporal-bridge` (`pip install "hitlkit[temporal]"`).

Engines pin libraries that hitlkit uses too; each is tested in an environment of its own
(`noxfile.py`).
"""
