"""The DAGs the tests run; conftest copies this file into Airflow's dags folder too.

`dag.test()` in Airflow 3 runs only DAGs that the dags folder defines, so these DAGs
live in a file of their own. Tasks downstream of a question write what they got
through XCom into `RECEIVED`, which the tests read (`dag.test()` runs in-process).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, task
from pydantic import BaseModel

from hitlkit.contrib.airflow import HitlOperator

RECEIVED: dict[str, Any] = {}


class Budget(BaseModel):
    """A structured answer: it reaches the next task as a model, through XCom."""

    amount: int
    currency: str = "EUR"


@task
def keep(key: str, value: object) -> None:
    RECEIVED[key] = value


@task
def keep_all(key: str, values: Any) -> None:  # a lazy sequence of the mapped answers
    RECEIVED[key] = list(values)


with DAG("hitl_typed", schedule=None) as typed:
    count = HitlOperator(task_id="count", data_type=int, prompt="How many?")
    ship = HitlOperator(task_id="ship", data_type=bool, prompt="Ship {{ dag_run.run_id }}?")
    budget = HitlOperator(task_id="budget", data_type=Budget, prompt="Budget?")
    keep.override(task_id="keep_count")("count", count.output)
    keep.override(task_id="keep_ship")("ship", ship.output)
    keep.override(task_id="keep_budget")("budget", budget.output)


with DAG("hitl_closed", schedule=None) as closed:
    HitlOperator(task_id="late", data_type=int, prompt="Too late?", timeout_seconds=0.5)
    late_default = HitlOperator(
        task_id="late_default", data_type=int, timeout_seconds=0.5, default=7
    )
    keep.override(task_id="keep_default")("late_default", late_default.output)
    HitlOperator(task_id="called_off", data_type=str, prompt="Which?")


with DAG("hitl_mapped", schedule=None) as mapped:
    each = HitlOperator.partial(task_id="each", data_type=int).expand(prompt=["First?", "Second?"])
    keep_all("each", each.output)
