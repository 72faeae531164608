"""A served deployment's flow run suspends on a question and is resumed, once, when answered.

Real processes: Prefect's test server, `flow.serve()` (whose runner starts each flow
run in a process of its own), and two `python -m hitlkit.contrib.prefect watch`
watchers racing to resume the same run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound

import hitlkit
from hitlkit import AlreadyAnsweredError
from hitlkit.contrib.prefect import resume_answered
from hitlkit.contrib.prefect._records import RESUMED, SUSPENDED
from tests.engines.prefect.served import DEPLOYMENT

HERE = Path(__file__).parent
# Processes importing Prefect take long on a busy machine; these tests wait for them.
STARTUP_SECONDS = 150


def eventually(check: Callable[[], bool], what: str, seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.2)


@pytest.fixture
def env(prefect_api: str) -> dict[str, str]:
    """What the served flow and the watchers see: the test server, the test's store."""
    return {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # stopped with its flow-run processes
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def served(env: dict[str, str], tmp_path: Path) -> Iterator[SyncPrefectClient]:
    """`release` served as a deployment, and a client of the test server."""
    server = start([str(HERE / "served.py")], env, tmp_path / "serve.log")
    try:
        with get_client(sync_client=True) as client:

            def deployed() -> bool:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                try:
                    client.read_deployment_by_name(f"release/{DEPLOYMENT}")
                except ObjectNotFound:
                    return False
                return True

            eventually(deployed, "the deployment is served")
            yield client
    finally:
        stop(server)


def state_of(client: SyncPrefectClient, run: FlowRun) -> str:
    state = client.read_flow_run(run.id).state
    return str(state.name) if state is not None else "none"


@pytest.mark.timeout(400)  # three processes that import Prefect, one after the other
def test_a_suspended_run_is_resumed_once_when_answered(
    served: SyncPrefectClient, env: dict[str, str], tmp_path: Path
) -> None:
    log_to = tmp_path / "shipped.txt"
    run = run_deployment(
        f"release/{DEPLOYMENT}", parameters={"version": "1.2", "log_to": str(log_to)}, timeout=0
    )
    assert isinstance(run, FlowRun)
    watchers = [
        start(
            ["-m", "hitlkit.contrib.prefect", "watch", "--interval", "0.2"], env, tmp_path / f"w{i}"
        )
        for i in range(2)
    ]
    try:
        eventually(lambda: state_of(served, run) == "Suspended", "the flow run suspends")
        store = hitlkit.open_store(os.environ["HITL_STORE"])
        (question,) = hitlkit.list_events("pending")
        assert question.run_id == f"prefect-{run.id}"
        assert len(store.list(SUSPENDED)) == 1  # which run to resume, recorded before suspending

        # Two people answer at once: the first answer is the one recorded.
        results: list[object] = []

        def answer(value: bool) -> None:
            try:
                results.append(hitlkit.answer(question.request_id, value))
            except AlreadyAnsweredError as exc:
                results.append(exc)

        people = [threading.Thread(target=answer, args=(v,)) for v in (True, False)]
        for p in people:
            p.start()
        for p in people:
            p.join()
        assert sum(isinstance(r, AlreadyAnsweredError) for r in results) == 1
        outcome = hitlkit.get_event(question.request_id).outcome
        assert outcome is not None

        eventually(lambda: state_of(served, run) == "Completed", "the resumed run completes")
        assert log_to.read_text() == f"1.2 {outcome.value}\n"  # ran on once, with the answer
        assert store.list(SUSPENDED) == []
        assert len(store.list(RESUMED)) == 1
    finally:
        for w in watchers:
            stop(w)
    said = [(tmp_path / f"w{i}").read_text() for i in range(2)]
    assert sum(text.count("resumed flow run") for text in said) == 1, said
    assert resume_answered() == []  # nothing left to resume
