"""Served deployments' flow runs suspend on a question and are resumed, once, when answered.

Real processes: Prefect's test server, `serve()` of a sync and an async flow (whose
runner starts each flow run in a process of its own), and two `python -m
hitlkit.contrib.prefect watch` watchers racing to resume the same runs.
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
FLOWS = ("release", "release-async")  # the same flow, sync and async
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
                    for name in FLOWS:
                        client.read_deployment_by_name(f"{name}/{DEPLOYMENT}")
                except ObjectNotFound:
                    return False
                return True

            eventually(deployed, "the deployment is served")
            yield client
    finally:
        stop(server)


def reaches(client: SyncPrefectClient, run: FlowRun, name: str) -> Callable[[], bool]:
    """Whether `run` is in the state called `name` (Suspended, Completed), asked when called."""

    def check() -> bool:
        state = client.read_flow_run(run.id).state
        return state is not None and state.name == name

    return check


@pytest.mark.timeout(400)  # processes that import Prefect, on a busy machine
def test_suspended_runs_are_resumed_once_when_answered(
    served: SyncPrefectClient, env: dict[str, str], tmp_path: Path
) -> None:
    log_to = {name: tmp_path / f"{name}.txt" for name in FLOWS}
    runs: dict[str, FlowRun] = {}
    for name in FLOWS:
        run = run_deployment(
            f"{name}/{DEPLOYMENT}",
            parameters={"version": "1.2", "log_to": str(log_to[name])},
            timeout=0,
        )
        assert isinstance(run, FlowRun)
        runs[name] = run
    watchers = [
        start(
            ["-m", "hitlkit.contrib.prefect", "watch", "--interval", "0.2"], env, tmp_path / f"w{i}"
        )
        for i in range(2)
    ]
    try:
        for run in runs.values():
            eventually(reaches(served, run, "Suspended"), "the flow run suspends")
        store = hitlkit.open_store(os.environ["HITL_STORE"])
        questions = {q.run_id: q for q in hitlkit.list_events("pending")}
        assert set(questions) == {f"prefect-{run.id}" for run in runs.values()}
        # Which run to resume is recorded before suspending.
        assert len(store.list(SUSPENDED)) == 2

        # Two people answer each question at once: the first answer is the one recorded.
        results: list[object] = []

        def answer(request_id: str, value: bool) -> None:
            try:
                results.append(hitlkit.answer(request_id, value))
            except AlreadyAnsweredError as exc:
                results.append(exc)

        people = [
            threading.Thread(target=answer, args=(q.request_id, value))
            for q in questions.values()
            for value in (True, False)
        ]
        for p in people:
            p.start()
        for p in people:
            p.join()
        assert sum(isinstance(r, AlreadyAnsweredError) for r in results) == 2

        for name, run in runs.items():
            eventually(reaches(served, run, "Completed"), f"the resumed {name} completes")
            outcome = hitlkit.get_event(questions[f"prefect-{run.id}"].request_id).outcome
            assert outcome is not None
            # The flow ran on once, with the recorded answer.
            assert log_to[name].read_text() == f"1.2 {outcome.value}\n"
        assert store.list(SUSPENDED) == []
        assert len(store.list(RESUMED)) == 2
    finally:
        for w in watchers:
            stop(w)
    said = "".join((tmp_path / f"w{i}").read_text() for i in range(2))
    assert said.count("resumed flow run") == 2, said  # once each, across both watchers
    for run in runs.values():
        assert said.count(str(run.id)) == 1, said
    assert resume_answered() == []  # nothing left to resume
