"""Flyte on a cluster, emulated on one machine with Flyte's own entrypoints and a real bucket.

What is real: Flyte's raw data and metadata live in an S3 bucket (SeaweedFS on 127.0.0.1,
reached through Flyte's own storage settings, `FLYTE_AWS_*`, as its sandbox sets them);
the seed example's task is serialized by Flyte (`get_proto_task`) and its container args
(`a0 --inputs ... --raw-data-path ...`) run in a process of their own, reading its inputs
from and writing its outputs to the bucket; the app is `hitl.env`'s app environment,
serialized by Flyte (`get_proto_container`) and started with that container's command and
args (`fserve ... -- uvicorn --factory ...`), twice, each in its own process.

What is emulated: the control plane. The test fills in the templates Flyte's backend fills
in a pod (`{{.input}}`, `{{.rawOutputDataPrefix}}`, `{{.runName}}`, ...), writes the run's
inputs where `--inputs` says, and sets the variables a pod gets (project, domain, org,
`_U_RUN_BASE`, and `INTERNAL_APP_ENDPOINT_PATTERN`, with which Flyte finds an app from inside
the cluster). The app binds 127.0.0.1 and a free port instead of 0.0.0.0:8080; nothing
sits in front of it (on a cluster, Flyte's login does). The task's remote controller is
created, as in any pod, but has nothing to do: the seed starts no sub-tasks, so no backend
is contacted. A restarted task is a new attempt of the same action (a new output prefix),
as Flyte's retry makes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import os
import shutil
import signal
import sys
import threading
import uuid
import warnings
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.acceptance.conftest import HitlEnv, Proc, free_port
from tests.acceptance.test_flyte import announced
from tests.forms import form_fields
from tests.s3 import ACCESS_KEY, BUCKET, SECRET_KEY, S3Server

with warnings.catch_warnings():
    # flyte's own modules use pydantic features that pydantic deprecates.
    warnings.simplefilter("ignore", DeprecationWarning)
    pytest.importorskip("flyte", reason='flyte is not installed (pip install "hitlkit[flyte]")')
    import flyte
    import obstore
    from flyte._internal.runtime.convert import Inputs, Outputs, convert_outputs_to_native
    from flyte._internal.runtime.task_serde import get_proto_task
    from flyte.app._runtime.app_serde import get_proto_container
    from flyte.models import SerializationContext
    from flyteidl2.task import common_pb2  # type: ignore[import-untyped]  # protobuf, no hints
    from obstore.store import S3Store

    from hitlkit.contrib.flyte._env import app_env, env

SEED = Path(__file__).parents[2] / "examples" / "flyte_seed.py"
PROJECT, DOMAIN, ORG, VERSION = "hitlkit", "development", "tests", "v1"
TIMEOUT = 60.0
BIN = Path(sys.executable).parent  # where the image's `a0`, `fserve` and `uvicorn` are


def serialization_context(root_dir: Path) -> SerializationContext:
    """What `flyte deploy` serializes with; no code bundle: the image holds the code."""
    return SerializationContext(
        project=PROJECT, domain=DOMAIN, org=ORG, version=VERSION, root_dir=root_dir
    )


def import_seed(code: Path) -> ModuleType:
    """The seed example, imported from the image's working folder as the task's module."""
    spec = importlib.util.spec_from_file_location("flyte_seed", code / "flyte_seed.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["flyte_seed"] = module  # Flyte names the task by its module
    spec.loader.exec_module(module)
    return module


def app_container(root_dir: Path) -> Any:  # flyteidl2's Container, which has no type hints
    """The container Flyte puts in the pod of `hitl.env`'s app."""
    return get_proto_container(app_env, serialization_context(root_dir))


def pod_env(s3: S3Server, **more: str) -> dict[str, str]:
    """A pod's variables: Flyte's storage settings and the action's names, no HITL_* or AWS_*."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("HITL_", "AWS_", "FLYTE_", "_U_"))
    }
    env.update(
        FLYTE_AWS_ENDPOINT=s3.endpoint,
        FLYTE_AWS_ACCESS_KEY_ID=ACCESS_KEY,
        FLYTE_AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        FLYTE_INTERNAL_EXECUTION_PROJECT=PROJECT,
        FLYTE_INTERNAL_EXECUTION_DOMAIN=DOMAIN,
        _U_ORG_NAME=ORG,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
    )
    env.update(more)
    return env


def filled_in(args: list[str], values: dict[str, str]) -> list[str]:
    """`args` with the templates the backend fills in a pod replaced by `values`."""
    return [values.get(arg, arg) for arg in args]


def bound_here(args: list[str], port: int) -> list[str]:
    """The app's args, listening on 127.0.0.1:`port` instead of the pod's 0.0.0.0:8080."""
    bound = list(args)
    host, at = bound.index("--host"), bound.index("--port")
    assert (bound[host + 1], bound[at + 1]) == ("0.0.0.0", "8080"), bound
    bound[host + 1], bound[at + 1] = "127.0.0.1", str(port)
    return bound


def bucket(s3: S3Server) -> S3Store:
    """The test's own client for the bucket Flyte and hitlkit use."""
    return S3Store(
        BUCKET,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        region="us-east-1",
        endpoint=s3.endpoint,
        client_options={"allow_http": True},
    )


@dataclasses.dataclass
class Cluster:
    """A bucket, two app replicas over it, and a way to run the seed's task as a pod would."""

    s3: S3Server
    code: Path
    seed: ModuleType
    task_args: list[str]
    apps: list[str]
    started: list[Proc]

    def start_task(self, run_name: str, attempt: int = 0) -> Proc:
        """Run attempt `attempt` of the seed's root action `a0` in run `run_name`."""
        meta = f"metadata/{run_name}/a0"
        obstore.put(
            bucket(self.s3), f"{meta}/inputs.pb", Inputs.empty().proto_inputs.SerializeToString()
        )
        url = f"s3://{BUCKET}"
        args = filled_in(
            self.task_args,
            {
                "{{.input}}": f"{url}/{meta}/inputs.pb",
                "{{.outputPrefix}}": f"{url}/{meta}/{attempt}",
                "{{.rawOutputDataPrefix}}": f"{url}/data/{uuid.uuid4().hex[:8]}/{run_name}/a0",
                "{{.checkpointOutputPrefix}}": f"{url}/{meta}/{attempt}/_flytecheckpoints",
                "{{.prevCheckpointPrefix}}": "",
                "{{.runName}}": run_name,
                "{{.actionName}}": "a0",
                "{{.runStartTime}}": datetime.now(timezone.utc).isoformat(),
            },
        )
        assert args[0] == "a0", args
        env = pod_env(
            self.s3,
            _U_RUN_BASE=f"{url}/metadata/{run_name}",
            INTERNAL_APP_ENDPOINT_PATTERN=self.apps[0],  # how a task reaches an app in-cluster
        )
        pod = HitlEnv(cwd=self.code, store=self.code, endpoint=self.apps[0], vars=env)
        task = Proc([str(BIN / "a0"), *args[1:]], pod, {})
        self.started.append(task)
        return task

    def output(self, run_name: str, attempt: int) -> object:
        """The value attempt `attempt` of the run wrote to the bucket as its output."""
        data = obstore.get(bucket(self.s3), f"metadata/{run_name}/a0/{attempt}/outputs.pb")
        outputs = Outputs(proto_outputs=common_pb2.Outputs.FromString(bytes(data.bytes())))
        return asyncio.run(convert_outputs_to_native(self.seed.main.native_interface, outputs))


def wait_until_serving(app: Proc, url: str) -> None:
    try:
        HitlEnv(cwd=Path(), store=Path(), endpoint=url, vars={}).wait_until_serving(TIMEOUT)
    except BaseException:
        print(f"--- the app's output\n{app.stdout}{app.stderr}", file=sys.stderr)
        raise


def descendants(pid: int) -> list[int]:
    """The processes that `pid` started, and theirs (from /proc)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            listed = children.read_text().split()
        except OSError:  # the thread or process has just ended
            continue
        for child in map(int, listed):
            found += [child, *descendants(child)]
    return found


def stop_tree(proc: Proc) -> None:
    """Kill a process and the ones it started: fserve runs the app under `sh -c`, which
    passes no signal on, and the app would keep the test's pipes open."""
    for pid in reversed(descendants(proc.popen.pid)):
        with contextlib.suppress(ProcessLookupError):  # ended meanwhile
            os.kill(pid, signal.SIGKILL)
    proc.stop()


@pytest.fixture(scope="module")
def cluster(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    code = tmp_path_factory.mktemp("image")  # the task image's working folder, with the code
    shutil.copy(SEED, code / "flyte_seed.py")
    seed = import_seed(code)
    task_args = list(get_proto_task(seed.main, serialization_context(code)).container.args)
    container = app_container(code)
    started: list[Proc] = []
    apps: list[str] = []
    try:
        for replica in range(2):
            port = free_port()
            command = filled_in(
                [*container.command, *bound_here(list(container.args), port)],
                {"{{.rawOutputDataPrefix}}": f"s3://{BUCKET}/data/apps/hitl-event-app-{replica}"},
            )
            folder = tmp_path_factory.mktemp(f"app-{replica}")
            pod = HitlEnv(cwd=folder, store=folder, endpoint="", vars=pod_env(s3_server))
            started.append(Proc([str(BIN / command[0]), *command[1:]], pod, {}))
            apps.append(f"http://127.0.0.1:{port}")
        for app, url in zip(started, apps, strict=True):
            wait_until_serving(app, url)
        yield Cluster(s3_server, code, seed, task_args, apps, started)
    finally:
        for proc in started:
            stop_tree(proc)
        sys.modules.pop("flyte_seed", None)


def test_flyte_serializes_the_app_and_the_task_with_what_a_cluster_needs(tmp_path: Path) -> None:
    container = app_container(tmp_path)
    command = list(container.command)
    assert command[0] == "fserve"
    assert command[command.index("--raw-data-path") + 1] == "{{.rawOutputDataPrefix}}"
    # No resolver for hitlkit's module (it is not under the user's code root), so fserve runs
    # the args: hitlkit's app over the store, on 0.0.0.0. With one, fserve would serve
    # the module's app on uvicorn's default host, 127.0.0.1, unreachable in a pod.
    assert "--resolver" not in command
    assert list(container.args)[:3] == [
        "uvicorn",
        "--factory",
        "hitlkit.contrib.flyte._env:build_app",
    ]
    assert bound_here(list(container.args), 1)[-4:] == ["--host", "127.0.0.1", "--port", "1"]
    assert [port.container_port for port in container.ports] == [8080]
    assert app_env.requires_auth is True
    # Tasks and the app run images with hitlkit and the libraries a bucket store needs.
    for image in (app_env.image, env.image):
        assert isinstance(image, flyte.Image)
        assert any("hitlkit[flyte]" in str(layer) for layer in image._layers), image
    assert env.depends_on == [app_env]

    shutil.copy(SEED, tmp_path / "flyte_seed.py")
    try:
        seed = import_seed(tmp_path)
        task = get_proto_task(seed.main, serialization_context(tmp_path))
    finally:
        sys.modules.pop("flyte_seed", None)
    args = list(task.container.args)
    assert args[0] == "a0"
    assert args[args.index("--raw-data-path") + 1] == "{{.rawOutputDataPrefix}}"
    assert args[args.index("--run-name") + 1] == "{{.runName}}"
    assert args[-4:] == ["mod", "flyte_seed", "instance", "main"]


def test_the_seed_task_waits_and_resumes_through_the_bucket_alone(cluster: Cluster) -> None:
    run_name = f"r{uuid.uuid4().hex[:12]}"
    task = cluster.start_task(run_name)
    endpoint, request_id = announced(task, "integer_input_event", TIMEOUT)
    assert endpoint == cluster.apps[0]  # the deployed app's, found as Flyte finds apps
    # The event is kept at the root of the data bucket, where both replicas look.
    keys = [meta["path"] for batch in obstore.list(bucket(cluster.s3), "hitl/") for meta in batch]
    assert any(request_id in key for key in keys), keys

    with httpx.Client() as browser:
        form = f"{cluster.apps[0]}/form/{request_id}"
        posted = browser.post(
            f"{cluster.apps[0]}/submit", data={**form_fields(browser, form), "value": "5"}
        )
    assert posted.status_code == 303, posted.text

    assert task.finish(TIMEOUT) == 0, task.stderr
    assert cluster.output(run_name, 0) == 5
    seen = httpx.get(f"{cluster.apps[1]}/api/events/{request_id}").json()
    assert (seen["status"], seen["outcome"]["value"]) == ("answered", 5)
    late = httpx.post(f"{cluster.apps[1]}/submit/json", json={"request_id": request_id, "value": 6})
    assert late.status_code == 409


def test_a_task_killed_while_waiting_and_started_again_gets_the_answer_given_meanwhile(
    cluster: Cluster,
) -> None:
    run_name = f"r{uuid.uuid4().hex[:12]}"
    first = cluster.start_task(run_name, attempt=0)
    _, request_id = announced(first, "integer_input_event", TIMEOUT)
    first.signal(signal.SIGKILL)
    assert first.finish(TIMEOUT) == -signal.SIGKILL

    # Both replicas are answered at once while no task runs: exactly one answer wins.
    replies: dict[int, httpx.Response] = {}

    def answer(value: int, app: str) -> None:
        replies[value] = httpx.post(
            f"{app}/api/events/{request_id}/answer", json={"value": value}, timeout=TIMEOUT
        )

    threads = [
        threading.Thread(target=answer, args=(value, app))
        for value, app in zip((7, 8), cluster.apps, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert sorted(reply.status_code for reply in replies.values()) == [200, 409], replies
    [winner] = [value for value, reply in replies.items() if reply.status_code == 200]

    again = cluster.start_task(run_name, attempt=1)
    assert again.finish(TIMEOUT) == 0, again.stderr
    said = "hitl: 'integer_input_event' was already answered"
    assert said in again.stderr, again.stderr
    assert f"{cluster.apps[0]}/form/{request_id})" in again.stderr  # the same event
    assert cluster.output(run_name, 1) == winner
    for app in cluster.apps:
        assert httpx.get(f"{app}/api/events/{request_id}").json()["outcome"]["value"] == winner
