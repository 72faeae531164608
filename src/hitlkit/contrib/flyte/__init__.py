"""hitlkit for Flyte 2 tasks, with the API of `flyteplugins.hitl`.

```python
import flyte
import flyteplugins.hitl as hitl     # or: import hitlkit.contrib.flyte as hitl

task_env = flyte.TaskEnvironment(name="my-hitl-workflow", depends_on=[hitl.env])


@task_env.task(report=True)
async def main() -> int:
    event = await hitl.new_event.aio(
        "integer_input_event", data_type=int, scope="run", prompt="What should I add to x?"
    )
    return await event.wait.aio()


if __name__ == "__main__":
    flyte.init()
    print(flyte.run(main).outputs())
```

Inside a task, events belong to the Flyte run (its name is the run id), so a
retried or restarted task finds its event and any answer given meanwhile.
Needs `pip install "hitlkit[flyte]"`.
"""

try:
    import flyte  # noqa: F401 - fail here, with the install hint, when flyte is missing
except ModuleNotFoundError as exc:
    if exc.name != "flyte":
        raise
    raise ModuleNotFoundError(
        'hitlkit\'s Flyte integration needs flyte: pip install "hitlkit[flyte]"', name="flyte"
    ) from None

from hitlkit._records import EventScope
from hitlkit.contrib.flyte._env import env
from hitlkit.contrib.flyte._event import Event, new_event

__all__ = ["Event", "EventScope", "env", "new_event"]
