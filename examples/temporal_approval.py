"""Ask a person from a Temporal workflow, without holding a worker while they think.

A release workflow asks whether to ship (a ready activity, `ask_activity`) and, if so,
when (an activity of its own, for a typed answer: a pydantic model). Each activity
creates a hitlkit event and returns at once; the workflow then waits for a signal, which
`hitl temporal-bridge` sends when the question is answered, times out or is cancelled.

Run it against a Temporal server (`temporal server start-dev`, from the Temporal CLI):

    pip install "hitlkit[temporal,server]"
    export HITL_STORE=$PWD/.hitl            # the same store for the worker and the bridge
    python examples/temporal_approval.py worker          # terminal 1: worker (serves forms)
    hitl temporal-bridge                                 # terminal 2: signals the workflows
    python examples/temporal_approval.py start 1.4.0     # terminal 3: waits for the result
    hitl ls                                              # the question and its id
    hitl answer <id of ship> yes                         # or answer in the browser
    hitl answer <id of window> '{"day": "Friday", "hour": 10}'

Both connect with Temporal's own settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, its
temporal.toml profile), else to localhost:7233. Stop the worker or the bridge while the
question is open and start them again: nothing is lost. The answer is in the store; the
bridge signals once it runs again.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

# Workflow code runs in Temporal's sandbox; hitlkit is used there only for its records
# and answer types (no I/O), so it is passed through rather than re-imported.
with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from hitlkit.contrib.temporal import (
        Asked,
        HitlWorkflow,
        Question,
        ask_activity,
        ask_question,
        connect_config,
    )

TASK_QUEUE = "releases"
ASK_TIMEOUT = timedelta(seconds=30)  # creating the question, not answering it


class Window(BaseModel):
    """When to ship: the answer's type, shown as a form."""

    day: str
    hour: int = 9


@activity.defn
async def ask_window(version: str) -> Asked:
    """An activity of our own, for an answer type of our own."""
    return await ask_question.aio(
        "window", Window, prompt=f"When do we ship {version}?", timeout_seconds=86400
    )


@workflow.defn
class Release(HitlWorkflow):
    """Ask whether to ship and when; the answers arrive as signals."""

    @workflow.run
    async def run(self, version: str) -> str:
        question = Question(
            name="ship", prompt=f"Ship {version}?", data_type="bool", timeout_seconds=86400
        )
        asked = await workflow.execute_activity(
            ask_activity, question, start_to_close_timeout=ASK_TIMEOUT
        )
        if not await self.hitlkit_answer(asked, bool):
            return f"{version} held"
        when = await workflow.execute_activity(
            ask_window, version, start_to_close_timeout=ASK_TIMEOUT
        )
        window = await self.hitlkit_answer(when, Window)
        return f"{version} ships on {window.day} at {window.hour}:00"


USAGE = "usage: python examples/temporal_approval.py worker | start VERSION"


async def main(command: str, version: str = "1.0.0") -> None:
    # Temporal's own settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, its profile), as the
    # bridge reads them; else localhost:7233.
    try:
        client = await Client.connect(**connect_config(None, None))
    except RuntimeError as exc:
        raise SystemExit(
            f"cannot reach Temporal ({exc}); is `temporal server start-dev` running?"
        ) from None
    if command == "worker":
        worker = Worker(
            client,
            task_queue=TASK_QUEUE,
            workflows=[Release],
            activities=[ask_activity, ask_window],
        )
        await worker.run()
    else:
        result = await client.execute_workflow(
            Release.run, version, id=f"release-{version}", task_queue=TASK_QUEUE
        )
        print(result)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args in (["worker"],) or (len(args) == 2 and args[0] == "start"):
        asyncio.run(main(*args))
    else:
        raise SystemExit(USAGE)
