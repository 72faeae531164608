"""hitlkit for LangGraph: ask a person from a node, resume the graph when answered.

```python
from hitlkit.contrib.langgraph import ask, wait_and_resume


def review(state: State) -> dict[str, int]:
    budget = ask("How much may we spend?", int, name="budget", assignees=["ana"])
    return {"budget": budget}


graph = builder.compile(checkpointer=SqliteSaver(sqlite3.connect("graph.db")))
graph.invoke({"task": "plan"}, {"configurable": {"thread_id": "t1"}})  # pauses in review
print(wait_and_resume(graph, "t1"))  # once someone answered, in this process or another
```

The question is a durable hitlkit event of the run named after the thread, and
the node stops with LangGraph's `interrupt()`. With a persistent checkpointer, any
process can resume the thread once the question is answered (`resume_answered`
checks without waiting; `wait_and_resume` waits), even after the first was killed.
Needs `pip install "hitlkit[langgraph]"`.
"""

try:
    import langgraph.types  # noqa: F401 - fail here, with the install hint, when langgraph is missing
except ModuleNotFoundError as exc:
    if exc.name is None or exc.name.split(".")[0] != "langgraph":
        raise
    raise ModuleNotFoundError(
        'hitlkit\'s LangGraph integration needs langgraph: pip install "hitlkit[langgraph]"',
        name="langgraph",
    ) from None

from hitlkit.contrib.langgraph._approve import approve
from hitlkit.contrib.langgraph._ask import ask
from hitlkit.contrib.langgraph._resume import (
    Question,
    Resumed,
    questions,
    resume_answered,
    wait_and_resume,
)

__all__ = [
    "Question",
    "Resumed",
    "approve",
    "ask",
    "questions",
    "resume_answered",
    "wait_and_resume",
]
