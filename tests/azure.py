"""A real Azure Blob server for tests: Azurite (npm package `azurite`) on 127.0.0.1.

One server per test session, in a fresh folder, with one container. Tests reach
it the way users reach Azurite through obstore: `AZURE_STORAGE_USE_EMULATOR=true`,
which means the account `devstoreaccount1` with its well-known key, at
`AZURITE_BLOB_STORAGE_URL` (default `http://127.0.0.1:10000`).

`./scripts/test` installs Azurite into `.ci/node_modules` when npm is there
(`.ci/package.json` pins the version); an `azurite-blob` on PATH also does.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_ports, start_logged, wait_until_ready

CONTAINER = "hitlkit"
ACCOUNT = "devstoreaccount1"
# Azurite's published development key: the same on every machine, no secret.
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
READY_SECONDS = 60.0
LOCAL_AZURITE = Path(__file__).resolve().parent.parent / ".ci" / "node_modules" / ".bin"


@dataclass(frozen=True)
class AzureServer:
    """A running Azurite blob service and what a client needs to reach it."""

    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def env(self) -> dict[str, str]:
        """The environment variables that point obstore at this emulator."""
        return {"AZURE_STORAGE_USE_EMULATOR": "true", "AZURITE_BLOB_STORAGE_URL": self.endpoint}

    @property
    def account_endpoint(self) -> str:
        """The account's URL, for `AZURE_STORAGE_ENDPOINT` with an explicit account and key."""
        return f"{self.endpoint}/{ACCOUNT}"

    def stop(self) -> None:
        self.process.kill()  # its data is thrown away with the folder
        self.process.wait(10)


def find_azurite() -> str | None:
    """`azurite-blob` from the project's `.ci/node_modules`, else on PATH."""
    return shutil.which("azurite-blob", path=str(LOCAL_AZURITE)) or shutil.which("azurite-blob")


def start_azurite(azurite: str, folder: Path) -> AzureServer:
    """Start `azurite-blob` in `folder`; return once the container exists and takes a write."""
    data = folder / "data"
    data.mkdir(parents=True)
    (port,) = free_ports(1)
    args = [
        azurite,
        "--blobHost=127.0.0.1",
        f"--blobPort={port}",
        f"--location={data}",
        # obstore's API version may be newer than this Azurite knows; the calls it makes are old.
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--silent",
    ]
    log = folder / "azurite.log"
    process = start_logged(args, folder, log)
    server = AzureServer(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_writable(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_writable(server: AzureServer) -> None:
    import obstore
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient
    from obstore.store import AzureStore

    # obstore reads and writes blobs but cannot make a container: the Azure SDK does.
    service = BlobServiceClient(
        server.account_endpoint,
        credential={"account_name": ACCOUNT, "account_key": ACCOUNT_KEY},
        retry_total=0,
    )
    probe = AzureStore(
        CONTAINER,
        account_name=ACCOUNT,
        account_key=ACCOUNT_KEY,
        endpoint=server.account_endpoint,
        client_options={"allow_http": True},
    )

    def create_and_write() -> None:
        with contextlib.suppress(ResourceExistsError):  # made by a try whose answer was lost
            service.create_container(CONTAINER)
        obstore.put(probe, "ready", b"ok")

    wait_until_ready("Azurite", server.process, server.log, create_and_write, seconds=READY_SECONDS)
