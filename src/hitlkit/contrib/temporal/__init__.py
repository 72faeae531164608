"""hitlkit for Temporal: an activity asks, the workflow waits for a signal, a bridge signals.

```python
from hitlkit.contrib.temporal import HitlWorkflow, Question, ask_activity


@workflow.defn
class Release(HitlWorkflow):
    @workflow.run
    async def run(self, version: str) -> str:
        asked = await workflow.execute_activity(
            ask_activity,
            Question(name="ship", prompt=f"Ship {version}?", data_type="bool"),
            start_to_close_timeout=timedelta(seconds=30),
        )
        return "shipped" if await self.hitlkit_answer(asked, bool) else "held"
```

The activity creates the hitlkit event (its id from the workflow execution and the
name, so a retried activity finds it again and a new execution asks anew), records which workflow
waits for it, and returns at once: no worker slot is held while a person thinks.
`hitl temporal-bridge` watches the store and, when the event resolves (answered,
timed out, cancelled), signals the workflow once with a `Resolution`; the workflow
turns it into the typed answer. Workflow code does no hitlkit I/O. Import this module
in workflow files inside `workflow.unsafe.imports_passed_through()`.
Needs `pip install "hitlkit[temporal]"`.
"""

try:
    import temporalio.workflow  # noqa: F401 - fail here, with the install hint
except ModuleNotFoundError as exc:
    if exc.name is None or exc.name.split(".")[0] != "temporalio":
        raise
    raise ModuleNotFoundError(
        'hitlkit\'s Temporal integration needs temporalio: pip install "hitlkit[temporal]"',
        name="temporalio",
    ) from None

from hitlkit.contrib.temporal._activity import (
    NAMED_TYPES,
    Asked,
    Question,
    ask_activity,
    ask_question,
)
from hitlkit.contrib.temporal._bridge import CLAIM_SECONDS, Delivery, Undeliverable, bridge_pass
from hitlkit.contrib.temporal._serve import DEFAULT_ADDRESS, connect_config, run_bridge, signaller
from hitlkit.contrib.temporal._targets import SIGNAL, Resolution, Target
from hitlkit.contrib.temporal._workflow import (
    HitlWorkflow,
    QuestionCancelled,
    QuestionTimedOut,
    answer_of,
)

__all__ = [
    "CLAIM_SECONDS",
    "DEFAULT_ADDRESS",
    "NAMED_TYPES",
    "SIGNAL",
    "Asked",
    "Delivery",
    "HitlWorkflow",
    "Question",
    "QuestionCancelled",
    "QuestionTimedOut",
    "Resolution",
    "Target",
    "Undeliverable",
    "answer_of",
    "ask_activity",
    "ask_question",
    "bridge_pass",
    "connect_config",
    "run_bridge",
    "signaller",
]
