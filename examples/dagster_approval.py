"""A release that waits for a person's approval in Dagster, with no run left waiting.

`ask_for_release` asks, through hitlkit, how to release a build (a typed answer: a
`Release`), and ends at once with the question's event id as its output. When someone
answers, the sensor `release_answered` launches `release` with the answer in its run
config; `ship` reads it as a `Release`.

Run it with Dagster's UI:

    pip install "hitlkit[dagster,server]" dagster-webserver
    export HITL_STORE=$PWD/.hitl     # one store for the runs, the sensor and the app
    hitl serve &                     # the form and the inbox at http://127.0.0.1:8080
    dagster dev -f examples/dagster_approval.py   # says to use `dg dev`: this still works

In the UI (http://127.0.0.1:3000), turn the sensor `release_answered` on (Automation),
then launch the job `ask_for_release` (Jobs, Launchpad). The run ends at once; its log
and the output's metadata show the form's link (`form_url`). Answer in the form, or
from a shell:

    hitl ls                          # the pending question and its id
    hitl answer ID '{"approved": true, "channel": "canary"}'

Within 30 seconds the sensor launches `release` (run key `hitlkit:ID`, once per
answer), whose log says what ships. A question nobody answers in a day launches
`release` too, whose `ship` then stops on `EventTimeoutError`.

Without the UI, `python examples/dagster_approval.py` does the same in one process:
ask, answer from code, evaluate the sensor once, run the release with the config it
requests.
"""

# No `from __future__ import annotations`: Dagster reads the config classes from the
# ops' annotations, which must stay classes.
from typing import Literal

import dagster as dg
from pydantic import BaseModel

import hitlkit
from hitlkit.contrib.dagster import Answer, answered_sensor, ask


class Release(BaseModel):
    """How to release the build: the form shows these fields."""

    approved: bool
    channel: Literal["canary", "everyone"] = "canary"
    note: str = ""


class BuildConfig(dg.Config):
    build: str = "build-42"


@dg.op
def ask_for_approval(context: dg.OpExecutionContext, config: BuildConfig) -> str:
    """Ask and end: the output is the question's event id."""
    return ask(
        context,
        f"Release {config.build}?",
        Release,
        name="release",
        timeout_seconds=24 * 3600,
    )


@dg.op
def ship(context: dg.OpExecutionContext, config: Answer) -> str:
    """Act on the answer, given in the run config by the sensor."""
    release = config.value_as(Release)  # raises if it timed out or was cancelled
    if not release.approved:
        context.log.info(f"{config.by} said no: {release.note or 'no reason given'}")
        return "held"
    context.log.info(f"releasing to {release.channel}, approved by {config.by}")
    return f"released to {release.channel}"


@dg.job
def ask_for_release() -> None:
    ask_for_approval()


@dg.job
def release() -> None:
    ship()


release_answered = answered_sensor(release, question="release")

defs = dg.Definitions(jobs=[ask_for_release, release], sensors=[release_answered])


def main() -> None:
    """The whole flow in one process, on a throwaway Dagster instance."""
    with dg.DagsterInstance.ephemeral() as instance:
        asked = ask_for_release.execute_in_process(instance=instance)
        event_id = asked.output_for_node("ask_for_approval")
        print(f"asked {event_id}; answering it from code")
        hitlkit.answer(event_id, Release(approved=True, channel="everyone"))
        context = dg.build_sensor_context(instance=instance, definitions=defs)
        requests = release_answered.evaluate_tick(context).run_requests or []
        for request in requests:
            run = release.execute_in_process(run_config=request.run_config, instance=instance)
            print(f"{request.run_key}: {run.output_for_node('ship')}")


if __name__ == "__main__":
    main()
