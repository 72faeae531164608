"""Jobs the tests run: an op that asks, and the continuation that gets the answer.

Module-level, so Dagster can rebuild them by name when it re-executes a run.
No `from __future__ import annotations`: Dagster reads config classes from annotations.
"""

from typing import Literal

import dagster as dg
from pydantic import BaseModel

from hitlkit.contrib.dagster import Answer, answered_sensor, ask


class Plan(BaseModel):
    """A typed answer: the form's fields."""

    replicas: int
    region: Literal["eu", "us"]


class AskConfig(dg.Config):
    timeout_seconds: float = 3600


@dg.op
def request_plan(context: dg.OpExecutionContext, config: AskConfig) -> str:
    return ask(context, "How should we scale?", Plan, timeout_seconds=config.timeout_seconds)


@dg.op
def after_asking(event_id: str) -> str:
    return event_id


@dg.op
def apply_plan(config: Answer) -> Plan:
    return config.value_as(Plan)


@dg.job(executor_def=dg.in_process_executor)
def ask_job() -> None:
    after_asking(request_plan())


@dg.job
def apply_job() -> None:
    apply_plan()


plan_answered = answered_sensor(apply_job, question="request_plan")


@dg.op(out=dg.DynamicOut(str))
def regions() -> object:
    for region in ("eu", "us"):
        yield dg.DynamicOutput(region, mapping_key=region)


@dg.op
def request_replicas(context: dg.OpExecutionContext, region: str) -> str:
    return ask(context, f"How many replicas in {region}?", int, name="replicas")


@dg.job
def fan_out_job() -> None:
    regions().map(request_replicas)


@dg.op
async def request_go(context: dg.OpExecutionContext, config: AskConfig) -> str:
    timeout = config.timeout_seconds
    return await ask.aio(context, "Go?", bool, name="go", default=False, timeout_seconds=timeout)


@dg.job
def async_job() -> None:
    request_go()


@dg.asset
def approval(context: dg.AssetExecutionContext) -> str:
    return ask(context, "Publish the report?", bool, name="publish")


@dg.asset
def published(config: Answer) -> bool:
    return config.value_as(bool)


publish_job = dg.define_asset_job("publish_job", selection=[published])
publish_answered = answered_sensor(publish_job, question="publish", op="published")
go_answered = answered_sensor(publish_job, question="go", op="published")
