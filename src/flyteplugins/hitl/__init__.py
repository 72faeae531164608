"""`flyteplugins.hitl`, served by hitlkit: the same API, runnable without a cluster.

```python
import flyteplugins.hitl as hitl

task_env = flyte.TaskEnvironment(name="my-hitl-workflow", depends_on=[hitl.env])
```

Everything here is `hitlkit.contrib.flyte`; see its documentation.
"""

from hitlkit.contrib.flyte import Event, EventScope, env, new_event

__all__ = ["Event", "EventScope", "env", "new_event"]
