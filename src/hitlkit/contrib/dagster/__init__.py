"""hitlkit for Dagster: ask a person from an op, continue in a new run once answered.

```python
import dagster as dg
from hitlkit.contrib.dagster import Answer, answered_sensor, ask


@dg.op
def request_approval(context: dg.OpExecutionContext) -> str:
    return ask(context, "Deploy build 42?", bool, name="deploy")  # returns at once


@dg.op
def deploy(context: dg.OpExecutionContext, config: Answer) -> None:
    if config.value_as(bool):
        context.log.info(f"deploying, approved by {config.by}")


@dg.job
def ask_job() -> None:
    request_approval()


@dg.job
def deploy_job() -> None:
    deploy()


defs = dg.Definitions(
    jobs=[ask_job, deploy_job],
    sensors=[answered_sensor(deploy_job, question="deploy")],
)
```

The asking op creates a durable hitlkit event and ends; no run waits. When someone
answers (form, inbox, CLI, Python), the sensor launches `deploy_job` once, with the
outcome in the run config. Needs `pip install "hitlkit[dagster]"`.
"""

try:
    import dagster  # noqa: F401 - fail here, with the install hint, when dagster is missing
except ModuleNotFoundError as exc:
    if exc.name is None or exc.name.split(".")[0] != "dagster":
        raise
    raise ModuleNotFoundError(
        'hitlkit\'s Dagster integration needs dagster: pip install "hitlkit[dagster]"',
        name="dagster",
    ) from None

from hitlkit.contrib.dagster._answer import Answer
from hitlkit.contrib.dagster._ask import ask
from hitlkit.contrib.dagster._sensor import EVENT_TAG, answered_sensor

__all__ = ["EVENT_TAG", "Answer", "answered_sensor", "ask"]
