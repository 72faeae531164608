"""What someone who can write into a local store's folder can plant there, and what it gets.

A symbolic link must not make a write land outside the store nor a read return
another file; a FIFO must not hang a reader; what the store creates is private to
its user unless it is asked to share it with a group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import hitlkit as hitl
from hitlkit import CorruptRecordError, LocalStore
from hitlkit._doctor import examine
from hitlkit._records import event_key, outcome_key
from hitlkit._server import create_app
from tests.integration.conftest import serve_in_thread


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    the_store = LocalStore(tmp_path / "store")
    yield the_store
    the_store.close()


@pytest.fixture
def app_url(store: LocalStore) -> Iterator[str]:
    server, thread, port = serve_in_thread(create_app(store))
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_fifo_planted_as_a_record_is_refused_not_waited_on(
    store: LocalStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.put_if_absent("events/a/first.json", b"{}")
    os.mkfifo(store.root / "events" / "a" / "planted.json")

    with (
        caplog.at_level(logging.WARNING, logger="hitlkit"),
        pytest.raises(CorruptRecordError, match="a FIFO, not a regular file") as caught,
    ):
        store.get("events/a/planted.json")
    assert caught.value.key == "events/a/planted.json"
    assert "events/a/planted.json" in caplog.text


def test_a_symlinked_record_is_refused(store: LocalStore, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the store")
    store.put_if_absent("events/a/first.json", b"{}")
    (store.root / "events" / "a" / "link.json").symlink_to(secret)

    with pytest.raises(CorruptRecordError, match="a symbolic link"):
        store.get("events/a/link.json")


def test_a_symlinked_folder_is_neither_read_written_nor_listed(
    store: LocalStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "old.json").write_text("{}")
    store.put_if_absent("events/a/first.json", b"{}")
    (store.root / "events" / "b").symlink_to(outside)

    with pytest.raises(CorruptRecordError, match="symbolic link"):
        store.put_if_absent("events/b/new.json", b"{}")
    with pytest.raises(CorruptRecordError, match="symbolic link"):
        store.get("events/b/old.json")
    assert store.list("events/") == ["events/a/first.json"]
    assert store.list("events/b/") == []
    assert sorted(p.name for p in outside.iterdir()) == ["old.json"]


def test_a_symlinked_top_folder_is_refused_too(store: LocalStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store.put_if_absent("k/first", b"x")
    (store.root / "outcomes").symlink_to(outside)

    with pytest.raises(CorruptRecordError):
        store.put_if_absent("outcomes/abcdef01/abcdef0123456789abcdef01.json", b"{}")
    assert list(outside.iterdir()) == []


def test_the_store_root_itself_may_be_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    store = LocalStore(tmp_path / "link")
    assert store.put_if_absent("events/a/one.json", b"1") is True
    assert store.get("events/a/one.json") == b"1"
    assert store.list() == ["events/a/one.json"]
    store.close()


def test_records_over_the_size_cap_are_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store", max_record_bytes=4096)
    with pytest.raises(ValueError, match="at most 4096 bytes"):
        store.put_if_absent("k/big", b"x" * 4097)
    assert store.put_if_absent("k/small", b"x" * 4096) is True
    (store.root / "k" / "planted").write_bytes(b"x" * 5000)
    with pytest.raises(CorruptRecordError, match="over the limit of 4096 bytes"):
        store.get("k/planted")
    store.close()


def test_the_size_cap_defaults_to_one_mebibyte(store: LocalStore) -> None:
    store.put_if_absent("k/first", b"x")
    (store.root / "k" / "huge").write_bytes(b"x" * ((1 << 20) + 1))
    with pytest.raises(CorruptRecordError, match="over the limit"):
        store.get("k/huge")


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "named-temp-file"])
def test_a_new_store_is_private_whatever_the_umask(tmp_path: Path, unnamed: bool) -> None:
    old = os.umask(0o000)
    try:
        store = LocalStore(tmp_path / "store")
        store.put_if_absent("k/first", b"x")
        store._unnamed = store._unnamed and unnamed
        store.put_if_absent("events/a/b.json", b"x")
    finally:
        os.umask(old)
    root = tmp_path / "store"
    assert mode_of(root) == 0o700
    assert mode_of(root / "events") == 0o700
    assert mode_of(root / "events" / "a") == 0o700
    assert mode_of(root / "events" / "a" / "b.json") == 0o600
    assert mode_of(root / "k" / "first") == 0o600
    assert store.file_modes() == {"folder 0700": 5, "file 0600": 2}
    store.close()


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "named-temp-file"])
def test_a_group_store_shares_with_its_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unnamed: bool
) -> None:
    monkeypatch.setenv("HITL_STORE_MODE", "group")
    old = os.umask(0o077)
    try:
        store = LocalStore(tmp_path / "store")
        store.put_if_absent("k/first", b"x")
        store._unnamed = store._unnamed and unnamed
        store.put_if_absent("events/a/b.json", b"x")
    finally:
        os.umask(old)
    root = tmp_path / "store"
    assert mode_of(root) == 0o2770
    assert mode_of(root / "events" / "a") == 0o2770
    assert mode_of(root / "events" / "a" / "b.json") == 0o660
    store.close()


def test_an_existing_store_keeps_its_modes(tmp_path: Path) -> None:
    root = tmp_path / "store"
    (root / "events").mkdir(parents=True)
    root.chmod(0o755)
    (root / "events").chmod(0o755)
    store = LocalStore(root)
    store.put_if_absent("events/a/b.json", b"x")
    assert mode_of(root) == 0o755
    assert mode_of(root / "events") == 0o755
    assert mode_of(root / "events" / "a") == 0o700  # made now
    store.close()


# -- through the app, over HTTP ------------------------------------------------------------


def test_a_fifo_planted_as_an_event_does_not_hang_the_app(store: LocalStore, app_url: str) -> None:
    event = hitl.new_event("count", int, store=store, serve=False)
    planted = "0123abcd" + "0" * 16
    for key in (outcome_key(event.request_id), event_key(planted)):
        (store.root / key).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(store.root / key)

    # Today the first read of a FIFO blocks the app's loop: nothing answers after it.
    with httpx.Client(base_url=app_url, timeout=5, trust_env=False) as http:
        assert http.get(f"/api/events/{planted}").status_code >= 400
        assert http.get(f"/api/events/{event.request_id}").status_code >= 400
        assert http.get("/health").status_code == 200


def test_a_symlinked_folder_does_not_let_an_answer_land_outside_the_store(
    store: LocalStore, app_url: str, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    event = hitl.new_event("count", int, store=store, serve=False)
    (store.root / "outcomes").mkdir(exist_ok=True)
    link = store.root / outcome_key(event.request_id).rpartition("/")[0]
    link.symlink_to(outside)

    with httpx.Client(base_url=app_url, timeout=5, trust_env=False) as http:
        response = http.post(f"/api/events/{event.request_id}/answer", json={"value": 3})
    assert response.status_code >= 400
    assert list(outside.iterdir()) == []


def test_folders_made_to_wait_in_are_private_too(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")

    async def watch_a_moment() -> None:
        changes = store.watch("outcomes/abcdef01/")
        assert changes is not None
        waiting = asyncio.ensure_future(anext(changes))
        await asyncio.sleep(0.3)
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        await changes.aclose()

    old = os.umask(0o022)
    try:
        asyncio.run(watch_a_moment())
    finally:
        os.umask(old)
    assert mode_of(store.root / "outcomes" / "abcdef01") == 0o700
    assert mode_of(store.root / "outcomes") == 0o700
    assert mode_of(store.root) == 0o700
    store.close()


def test_doctor_follows_no_link_planted_as_the_temporary_folder(
    store: LocalStore, tmp_path: Path
) -> None:
    hitl.new_event("q", data_type=int, run_id="r1", store=store, serve=False)
    shutil.rmtree(store.root / ".tmp")
    outside = tmp_path / "outside"
    outside.mkdir()
    (store.root / ".tmp").symlink_to(outside)
    before = outside.stat().st_mtime_ns

    report = asyncio.run(examine(LocalStore(store.root)))

    # Nothing was written outside the store, and the store that takes no writes says so.
    assert outside.stat().st_mtime_ns == before
    assert list(outside.iterdir()) == []
    assert not report.ok
    [problem] = report.problems
    assert problem.key == ".tmp/"
    assert "symbolic link" in problem.reason
