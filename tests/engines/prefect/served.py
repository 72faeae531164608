"""Deployments whose flows (one sync, one async) ask through hitlkit and suspend:
`python served.py` serves both.

Served by the suspend tests in a process of its own, as a user serves a flow:
Prefect's runner starts each flow run in a new process, from this file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect import flow, serve
from prefect.deployments.runner import RunnerDeployment

from hitlkit.contrib.prefect import ask

DEPLOYMENT = "hitlkit-release"


def note(log_to: str, line: str) -> None:
    with Path(log_to).open("a") as log:
        log.write(f"{line}\n")


@flow(persist_result=True)
def release(version: str, log_to: str) -> bool:
    """Ask whether to ship; note the answer in `log_to`, once per run that gets one."""
    ok = ask(f"Ship {version}?", bool, name="ship", suspend=True)
    note(log_to, f"{version} {ok}")
    return ok


@flow(persist_result=True)
async def release_async(version: str, log_to: str) -> bool:
    """`release`, asking with `ask.aio` in an async flow."""
    ok = await ask.aio(f"Ship {version}?", bool, name="ship", suspend=True)
    await asyncio.to_thread(note, log_to, f"{version} {ok}")
    return ok


if __name__ == "__main__":
    deployments = [f.to_deployment(name=DEPLOYMENT) for f in (release, release_async)]
    serve(
        *(d for d in deployments if isinstance(d, RunnerDeployment)), print_starting_message=False
    )
