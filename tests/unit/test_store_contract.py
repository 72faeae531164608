"""The store contract, run against every backend."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from hitlkit import LocalStore, Store, open_store
from hitlkit import MemoryStore as PublicMemoryStore
from hitlkit.testing import MemoryStore


def test_put_if_absent_writes_once(store: Store) -> None:
    assert store.put_if_absent("events/a/1.json", b"first") is True
    assert store.put_if_absent("events/a/1.json", b"second") is False
    assert store.get("events/a/1.json") == b"first"


def test_get_of_a_missing_key_is_none(store: Store) -> None:
    assert store.get("events/nothing.json") is None


def test_bytes_round_trip(store: Store) -> None:
    data = bytes(range(256)) * 10
    store.put_if_absent("blob", data)
    assert store.get("blob") == data


def test_list_by_prefix_is_sorted_and_exact(store: Store) -> None:
    for key in ["outcomes/b/2.json", "outcomes/a/1.json", "outcomes/a/0.json", "events/a/9.json"]:
        store.put_if_absent(key, b"x")
    assert store.list("outcomes/a/") == ["outcomes/a/0.json", "outcomes/a/1.json"]
    assert store.list("outcomes/") == [
        "outcomes/a/0.json",
        "outcomes/a/1.json",
        "outcomes/b/2.json",
    ]
    assert store.list("outcomes/a/1") == ["outcomes/a/1.json"]
    assert store.list("missing/") == []
    assert len(store.list()) == 4


@pytest.mark.parametrize(
    "key", ["../escape", "/abs/path", "a//b", "a/../b", ".tmp/x", "a/.hidden", "", "a b", "a\\b"]
)
def test_bad_keys_are_refused(store: Store, key: str) -> None:
    with pytest.raises(ValueError, match="invalid store key"):
        store.put_if_absent(key, b"x")
    with pytest.raises(ValueError, match="invalid store key"):
        store.get(key)


def test_concurrent_writers_have_exactly_one_winner(store: Store) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def write(i: int) -> None:
        barrier.wait()
        results.append(store.put_if_absent("outcomes/r/race.json", f"writer {i}".encode()))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert store.get(
        "outcomes/r/race.json",
    ) in {f"writer {i}".encode() for i in range(8)}


def test_listeners_hear_each_successful_write_once(store: Store) -> None:
    heard: list[str] = []
    store.add_listener(heard.append)
    store.put_if_absent("k/1", b"x")
    store.put_if_absent("k/1", b"y")
    store.put_if_absent("k/2", b"x")
    store.remove_listener(heard.append)
    store.put_if_absent("k/3", b"x")
    assert heard == ["k/1", "k/2"]


def test_async_twins(store: Store) -> None:
    async def main() -> None:
        assert await store.put_if_absent_async("a/1", b"x") is True
        assert await store.put_if_absent_async("a/1", b"y") is False
        assert await store.get_async("a/1") == b"x"
        assert await store.get_async("a/2") is None
        assert await store.list_async("a/") == ["a/1"]

    asyncio.run(main())


# -- local folder ---------------------------------------------------------------


def test_local_store_leaves_no_temp_files(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s")
    for i in range(20):
        store.put_if_absent(f"k/{i}", b"x" * 1000)
        store.put_if_absent(f"k/{i}", b"again")
    assert list((tmp_path / "s" / ".tmp").iterdir()) == []


def test_local_store_writes_through_named_temp_files_where_it_must(tmp_path: Path) -> None:
    # Where a file cannot be made without a name (not Linux, or a filesystem without
    # O_TMPFILE), each write goes through a named file in `.tmp`, then deleted.
    store = LocalStore(tmp_path / "s")
    assert store.put_if_absent("k/first", b"decides how files are made") is True
    store._unnamed = False

    test_concurrent_writers_have_exactly_one_winner(store)
    test_concurrent_async_writes_each_land_once(store)
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


def test_concurrent_async_writes_each_land_once(store: Store) -> None:
    async def main() -> tuple[list[bool], list[bool]]:
        many = await asyncio.gather(
            *(store.put_if_absent_async(f"outcomes/m/{i}.json", b"%d" % i) for i in range(200))
        )
        racing = await asyncio.gather(
            *(store.put_if_absent_async("outcomes/one/x.json", b"%d" % i) for i in range(8))
        )
        return many, racing

    many, racing = asyncio.run(main())

    assert all(many)
    assert [store.get(f"outcomes/m/{i}.json") for i in range(200)] == [
        b"%d" % i for i in range(200)
    ]
    assert racing.count(True) == 1
    assert store.get("outcomes/one/x.json") == b"%d" % racing.index(True)


def test_writes_cancelled_midway_leave_the_others_whole(store: Store) -> None:
    async def main() -> list[bool]:
        tasks = [
            asyncio.ensure_future(store.put_if_absent_async(f"outcomes/c/{i}.json", b"%d" % i))
            for i in range(40)
        ]
        await asyncio.sleep(0)  # every write has started
        for task in tasks[::2]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return [task.result() for task in tasks[1::2]]

    assert all(asyncio.run(main()))
    for i in range(1, 40, 2):
        assert store.get(f"outcomes/c/{i}.json") == b"%d" % i
    # A cancelled write either landed whole or not at all.
    for i in range(0, 40, 2):
        assert store.get(f"outcomes/c/{i}.json") in (None, b"%d" % i)


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
