"""The store contract on the in-process backends (memory, local folder), and what is
particular to the local folder and to choosing a store by URL."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from hitlkit import CorruptRecordError, LocalStore, Store, open_store
from hitlkit import MemoryStore as PublicMemoryStore
from hitlkit._server._metrics import AppMetrics
from hitlkit.testing import MemoryStore
from tests.store_contract import StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        the_store = MemoryStore()
        yield the_store
        the_store.close()


class TestLocalStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        the_store = LocalStore(tmp_path / "store")
        yield the_store
        the_store.close()


class TestLocalStoreWithNamedTempFiles(StoreContract):
    """Where a file cannot be made without a name (not Linux, or a filesystem without
    O_TMPFILE), each write goes through a named file in `.tmp`, then deleted."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        the_store = LocalStore(tmp_path / "store")
        the_store._prepare_tmp()  # which decides how files are made, once
        the_store._unnamed = False
        yield the_store
        assert list((tmp_path / "store" / ".tmp").iterdir()) == []
        the_store.close()


# -- local folder ---------------------------------------------------------------


def test_an_index_entry_lands_in_its_folder_made_again_after_a_removal(tmp_path: Path) -> None:
    # Entries written without a flush keep their folder open: one removed meanwhile is
    # walked to (and made) again, and each entry has the store's file mode.
    store = LocalStore(tmp_path / "s")
    assert store.put_if_absent("idx/all/a", b"", durable=False) is True
    shutil.rmtree(tmp_path / "s" / "idx")
    assert asyncio.run(store.put_if_absent_async("idx/all/b", b"", durable=False)) is True
    assert store.put_if_absent("idx/all/b", b"", durable=False) is False
    assert store.list("idx/") == ["idx/all/b"]
    assert (tmp_path / "s" / "idx" / "all" / "b").stat().st_mode & 0o777 == 0o600
    store.close()


def test_an_index_entry_is_never_written_through_a_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "idx").symlink_to(outside)
    store = LocalStore(tmp_path / "s")
    for durable in (False, True):
        with pytest.raises(CorruptRecordError, match="where a folder should be"):
            store.put_if_absent("idx/all/a", b"", durable=durable)
    assert list(outside.iterdir()) == []
    store.close()


def test_local_store_leaves_no_temp_files(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s")
    for i in range(20):
        store.put_if_absent(f"k/{i}", b"x" * 1000)
        store.put_if_absent(f"k/{i}", b"again")
    assert list((tmp_path / "s" / ".tmp").iterdir()) == []


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="O_TMPFILE and /proc/self/fd are Linux's"
)
def test_on_linux_a_new_file_has_no_name_until_it_is_linked(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s")
    assert store.put_if_absent("k/1", b"whole") is True
    assert store._unnamed is True  # linked through /proc/self/fd by os.link
    assert store.get("k/1") == b"whole"
    assert list((tmp_path / "s" / ".tmp").iterdir()) == []
    store.close()


def test_local_store_ignores_a_torn_temp_file(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s")
    # What a process killed mid-write leaves: a partial file in the temp folder.
    (tmp_path / "s" / ".tmp").mkdir(parents=True)
    (tmp_path / "s" / ".tmp" / "abc.part").write_bytes(b'{"half":')
    assert store.list() == []
    assert store.put_if_absent("k/1", b"whole") is True
    assert store.list() == ["k/1"]


def test_reading_an_absent_local_store_leaves_no_trace(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "absent")
    assert store.list("events/") == []
    assert store.get("events/x.json") is None
    assert not (tmp_path / "absent").exists()


def test_two_local_store_objects_share_one_folder(tmp_path: Path) -> None:
    one, two = LocalStore(tmp_path / "s"), LocalStore(tmp_path / "s")
    assert one.put_if_absent("k/1", b"from one") is True
    assert two.put_if_absent("k/1", b"from two") is False
    assert two.get("k/1") == b"from one"


def test_a_key_deleted_through_another_object_can_be_written_again(tmp_path: Path) -> None:
    # The app wrote an outcome; retention, in another process, deleted it; the event is
    # asked again and answered through the app: the app must not take the key for present.
    app, prune = LocalStore(tmp_path / "s"), LocalStore(tmp_path / "s")
    assert app.put_if_absent("outcomes/a/1.json", b"first") is True
    assert app.put_if_absent("outcomes/a/1.json", b"again") is False
    prune.delete("outcomes/a/1.json")

    assert app.put_if_absent("outcomes/a/1.json", b"second") is True
    assert asyncio.run(app.put_if_absent_async("outcomes/a/1.json", b"third")) is False
    prune.delete("outcomes/a/1.json")
    assert asyncio.run(app.put_if_absent_async("outcomes/a/1.json", b"fourth")) is True
    assert prune.get("outcomes/a/1.json") == b"fourth"


def watch_while_writing(
    root: Path, prefix: str, keys: set[str], write: Callable[[LocalStore], Awaitable[None]]
) -> set[str]:
    """The keys a watch of `prefix` reports while another store object over `root` writes,
    once all of `keys` are among them or after 10 s."""
    watching, writing = LocalStore(root), LocalStore(root)

    async def main() -> set[str]:
        changes = watching.watch(prefix)
        assert changes is not None
        seen: set[str] = set()

        async def collect() -> None:
            async for reported in changes:
                seen.update(reported)
                if keys <= seen:
                    return

        task = asyncio.ensure_future(collect())
        await asyncio.sleep(0.3)  # let the watch start before writing
        await write(writing)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(task, 10)
        await changes.aclose()
        return seen

    return asyncio.run(main())


def test_local_watch_reports_writes_from_another_store_object(tmp_path: Path) -> None:
    async def write(store: LocalStore) -> None:
        await store.put_if_absent_async("outcomes/r/x.json", b"{}")

    seen = watch_while_writing(tmp_path / "s", "outcomes/r/", {"outcomes/r/x.json"}, write)

    assert "outcomes/r/x.json" in seen


def test_local_watch_reports_the_first_keys_of_new_folders(tmp_path: Path) -> None:
    # A write makes its folder and links its file at once, before the watch can
    # follow the new folder: the file must still be reported.
    written = {f"outcomes/r{i}/x.json" for i in range(5)}

    async def write(store: LocalStore) -> None:
        for key in sorted(written):
            store.put_if_absent(key, b"{}")

    assert written <= watch_while_writing(tmp_path / "s", "outcomes/", written, write)


def test_local_store_without_notifications_has_no_watch(tmp_path: Path) -> None:
    assert LocalStore(tmp_path / "s", notify=False).watch("outcomes/") is None


# -- choosing a store by URL -------------------------------------------------


def test_open_store_by_url(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    by_path = open_store(str(folder))
    assert isinstance(by_path, LocalStore)
    assert open_store(folder.as_uri()) is by_path
    assert open_store(folder) is by_path
    mem = open_store("memory://unit-test")
    assert isinstance(mem, PublicMemoryStore)
    assert open_store("memory://unit-test") is mem
    assert open_store("memory://other") is not mem
    assert open_store(mem) is mem
    assert MemoryStore is PublicMemoryStore


@pytest.mark.parametrize("url", ["s3x://bucket", "ftp://host/x", "", "file://remote-host/x"])
def test_open_store_refuses_unknown_urls(url: str) -> None:
    from hitlkit import ConfigurationError

    with pytest.raises(ConfigurationError, match="unsupported store URL"):
        open_store(url)


class TestTimedLocalStore(StoreContract):
    """The store the app serves: a local folder seen through the timing wrapper of its
    metrics, which must change nothing (the same keys, listeners and watch)."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        inner = LocalStore(tmp_path / "store")
        yield AppMetrics().store(inner)
        inner.close()
