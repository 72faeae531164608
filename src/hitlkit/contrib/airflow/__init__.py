"""hitlkit for Airflow 3: a deferrable task that asks a person for a typed value.

```python
from airflow.sdk import dag, task
from hitlkit.contrib.airflow import HitlOperator


@dag(schedule=None)
def release():
    approved = HitlOperator(task_id="approve", data_type=bool, prompt="Ship it?")

    @task
    def ship(ok: bool) -> None:
        print("shipping" if ok else "not shipping")

    ship(approved.output)


release()
```

The task creates a durable hitlkit event and defers to `HitlTrigger`, which waits
in Airflow's triggerer (no worker slot held) and survives a triggerer restart.
Once someone answers (`hitl answer`, the form, `hitlkit.answer`), the task resumes
and returns the typed answer to XCom. Needs `pip install "hitlkit[airflow]"`, which
installs beside Airflow's own web stack (add `hitlkit[server]` elsewhere for the form).
"""

try:
    import airflow.sdk  # noqa: F401 - fail here, with the install hint, when Airflow is missing
except ModuleNotFoundError as exc:
    if exc.name is None or exc.name.split(".")[0] != "airflow":
        raise
    raise ModuleNotFoundError(
        'hitlkit\'s Airflow integration needs Airflow 3: pip install "hitlkit[airflow]"',
        name="airflow",
    ) from None

from hitlkit.contrib.airflow._operator import DEFAULT_TIMEOUT_SECONDS, HitlOperator, event_identity
from hitlkit.contrib.airflow._trigger import HitlTrigger

__all__ = ["DEFAULT_TIMEOUT_SECONDS", "HitlOperator", "HitlTrigger", "event_identity"]
