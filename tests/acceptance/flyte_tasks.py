"""Flyte tasks that stop for answers: `python flyte_tasks.py TASK RUN_NAME`.

Runs TASK locally with `flyte.run` under the run name RUN_NAME and prints
`result: VALUE`. Used by test_flyte.py.
"""

from __future__ import annotations

import asyncio
import sys

import flyte

import flyteplugins.hitl as hitl

env = flyte.TaskEnvironment(name="hitl-tests", depends_on=[hitl.env])


@env.task
def sync_add(x: int) -> int:
    event = hitl.new_event("add", data_type=int, prompt="What should I add to x?")
    return x + event.wait()


@env.task
async def blocking_calls_in_async_task(x: int) -> int:
    # Sync calls while flyte's event loop runs in this thread.
    event = hitl.new_event("add", data_type=int, prompt="What should I add to x?")
    return x + event.wait()


@env.task(report=True)
async def two_questions() -> str:
    first = await hitl.new_event.aio("first", data_type=str, poll_interval_seconds=0.5)
    second = await hitl.new_event.aio("second", data_type=str, poll_interval_seconds=0.5)
    return f"{await first.wait.aio()} {await second.wait.aio()}"


@env.task
async def ask(name: str) -> int:
    event = await hitl.new_event.aio(name, data_type=int, poll_interval_seconds=0.5)
    return await event.wait.aio()


@env.task
async def parallel_questions() -> str:
    left, right = await asyncio.gather(ask("left"), ask("right"))
    return f"{left} {right}"


TASKS = {
    "sync_add": lambda: flyte.with_runcontext(name=sys.argv[2]).run(sync_add, 10),
    "blocking_calls_in_async_task": lambda: flyte.with_runcontext(name=sys.argv[2]).run(
        blocking_calls_in_async_task, 10
    ),
    "two_questions": lambda: flyte.with_runcontext(name=sys.argv[2]).run(two_questions),
    "parallel_questions": lambda: flyte.with_runcontext(name=sys.argv[2]).run(parallel_questions),
}

if __name__ == "__main__":
    flyte.init()
    run = TASKS[sys.argv[1]]()
    print(f"result: {run.outputs()[0]}", flush=True)
