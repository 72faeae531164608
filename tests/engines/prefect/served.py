"""A deployment whose flow asks through hitlkit and suspends: `python served.py`.

Served by the suspend tests in a process of its own, as a user serves a flow:
Prefect's runner starts each flow run in a new process, from this file.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from hitlkit.contrib.prefect import ask

DEPLOYMENT = "hitlkit-release"


@flow(persist_result=True)
def release(version: str, log_to: str) -> bool:
    """Ask whether to ship; note the answer in `log_to`, once per run that gets one."""
    ok = ask(f"Ship {version}?", bool, name="ship", suspend=True)
    with Path(log_to).open("a") as log:
        log.write(f"{version} {ok}\n")
    return ok


if __name__ == "__main__":
    release.serve(name=DEPLOYMENT, print_starting_message=False)
