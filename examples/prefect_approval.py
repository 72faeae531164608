"""A Prefect flow that builds a release, asks a person whether to ship it, then ships.

The question is a hitlkit event of the flow run: answer it in the form, with
`hitl answer`, or from code. A retried task or a re-run flow finds the same question,
and the first answer is the one recorded.

Waiting in the process (no server to set up: Prefect starts a temporary one):

    pip install "hitlkit[prefect,server]"
    python examples/prefect_approval.py             # logs the form's link, then waits
    hitl answer REQUEST_ID true                     # from another terminal (or the form)

Suspending while it waits (no worker is held; needs a Prefect server and a deployment),
each command in its own terminal, from the same folder (they share the store `.hitl`):

    prefect server start
    export PREFECT_API_URL=http://127.0.0.1:4200/api   # in each of the other terminals
    python examples/prefect_approval.py serve       # serves the deployment "release/approval"
    python -m hitlkit.contrib.prefect watch         # resumes flow runs once answered
    prefect deployment run release/approval         # the run suspends on the question
    hitl serve                                      # the form (or: hitl ls; hitl answer ...)

Once answered, the watcher resumes the run; the flow runs again from its start, takes
the build's persisted result, gets the answer from `ask` and ships (or not).
"""

from __future__ import annotations

import sys

from prefect import flow, task

from hitlkit.contrib.prefect import ask


@task
def build(version: str) -> str:
    print(f"building {version}")
    return f"release-{version}.tar.gz"


@task
def ship(artifact: str) -> str:
    print(f"shipping {artifact}")
    return f"shipped {artifact}"


@flow(persist_result=True)  # a resumed run takes the build's result, not a new build
def release(version: str = "1.2.0", suspend: bool = False) -> str:
    artifact = build(version)
    approved = ask(
        f"Ship **{artifact}** to production?",
        bool,
        name="ship",
        prompt_type="markdown",
        timeout_seconds=24 * 3600,
        suspend=suspend,
    )
    return ship(artifact) if approved else f"{artifact} not shipped"


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        release.serve(name="approval", parameters={"suspend": True})
    elif not sys.argv[1:]:
        print(release())
    else:
        sys.exit("usage: python examples/prefect_approval.py [serve]")
