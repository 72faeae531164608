"""hitlkit for Prefect 3: ask a person from a flow or task; suspend and resume long waits.

```python
from prefect import flow, task

from hitlkit.contrib.prefect import ask


@task(retries=2)
def score(doc: str) -> int:
    return ask(f"Score for {doc}?", int, name="score")  # waits in the task


@flow(persist_result=True)
def release(version: str) -> None:
    if ask(f"Ship {version}?", bool, name="ship", suspend=True):  # a deployed flow
        ...
```

The question is a durable hitlkit event of the flow run: a retried task or re-run
flow finds it again, and the first answer is the one recorded. With
`suspend=True` the flow run is suspended while the question is open, and
`python -m hitlkit.contrib.prefect watch` (or `resume_answered`) resumes it once
answered. Needs `pip install "hitlkit[prefect]"`.
"""

try:
    import prefect.flow_runs  # noqa: F401 - fail here, with the install hint, when prefect is missing
except ModuleNotFoundError as exc:
    if exc.name is None or exc.name.split(".")[0] != "prefect":
        raise
    raise ModuleNotFoundError(
        'hitlkit\'s Prefect integration needs prefect: pip install "hitlkit[prefect]"',
        name="prefect",
    ) from None

from hitlkit.contrib.prefect._ask import ask
from hitlkit.contrib.prefect._records import Suspension
from hitlkit.contrib.prefect._resume import Resumed, resume_answered, watch

__all__ = ["Resumed", "Suspension", "ask", "resume_answered", "watch"]
