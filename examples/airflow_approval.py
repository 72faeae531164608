"""Ask a person before a release ships, from an Airflow 3 DAG, without holding a worker.

The `approve` task asks "Ship v1.4.2 to production?" as a hitlkit event and defers:
the wait happens in Airflow's triggerer, not in a worker slot. Once someone answers,
the task resumes and returns the answer (`True`/`False`) to XCom, and `ship` gets
it. Nobody answering within a day counts as "no" (`default=False`).

Try it without a scheduler (Airflow runs the trigger inline):

    pip install "hitlkit[airflow]"
    export AIRFLOW_HOME=~/airflow HITL_STORE=~/hitl-store   # the same store for everyone
    airflow db migrate
    mkdir -p ~/airflow/dags && cp examples/airflow_approval.py ~/airflow/dags/
    python ~/airflow/dags/airflow_approval.py               # dag.test(): asks, then waits

and answer from another terminal (with the same `HITL_STORE`):

    hitl ls                        # the question and its id
    hitl answer <id> true          # or false

With `airflow standalone` (started with the same `HITL_STORE`), trigger the
`approval` DAG in the UI: `approve` goes to "deferred" and its log shows the id and
the form's URL; answer with `hitl answer`. For the form, run `hitl serve --port 8081`
from an environment with `pip install "hitlkit[server]"` (Airflow pins an older
FastAPI, and its own UI takes port 8080) on the same store, and start Airflow with
`HITL_ENDPOINT=http://127.0.0.1:8081` so the logged link points there. The store must
be one the worker, the triggerer and whoever answers can all reach: a shared folder,
or `s3://...` (`hitlkit[s3]`).
"""

from __future__ import annotations

from airflow.sdk import dag, task

from hitlkit.contrib.airflow import HitlOperator


@dag(schedule=None, tags=["hitlkit"])
def approval() -> None:
    @task
    def build() -> str:
        return "v1.4.2"

    @task
    def ship(approved: bool, version: str) -> str:
        outcome = f"shipped {version}" if approved else f"kept {version} back"
        print(outcome)
        return outcome

    version = build()
    approve = HitlOperator(
        task_id="approve",
        data_type=bool,
        prompt="Ship {{ ti.xcom_pull(task_ids='build') }} to production?",
        description="The canary has been green for an hour.",
        timeout_seconds=24 * 3600,
        default=False,
    )
    version >> approve
    # The task gets the values themselves when it runs; here they are XCom references.
    ship(approve.output, version)  # type: ignore[arg-type]


release = approval()

if __name__ == "__main__":
    release.test()
