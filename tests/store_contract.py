"""The store contract: one test class that every backend's tests subclass.

A backend's test module subclasses `StoreContract` and gives one fixture, `store`
(an empty store, closed afterwards). A test the backend cannot run is named in
`skips`, with the reason, which the skip reports:

```python
class TestMyStore(StoreContract):
    skips = {"test_delete": "the server refuses deletes"}

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        ...
```
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone
from typing import ClassVar

import pytest

from hitlkit import GrantRecord, Store
from hitlkit._policy import GrantRevocation
from hitlkit._policy_ops import GRANTS_PREFIX, list_grants
from tests.index_contract import IndexContract

__all__ = ["WRITING_TESTS", "StoreContract"]


class StoreContract(IndexContract):
    """What every store must do; subclasses provide the `store` fixture."""

    skips: ClassVar[dict[str, str]] = {}
    """Tests this backend cannot run, by name, each with the reason."""

    @pytest.fixture(autouse=True)
    def _skip_what_the_backend_cannot_run(self, request: pytest.FixtureRequest) -> None:
        reason = self.skips.get(request.function.__name__)
        if reason is not None:
            pytest.skip(reason)

    def test_put_if_absent_writes_once(self, store: Store) -> None:
        assert store.put_if_absent("events/a/1.json", b"first") is True
        assert store.put_if_absent("events/a/1.json", b"second") is False
        assert store.get("events/a/1.json") == b"first"

    def test_a_write_that_need_not_be_durable_is_create_once_too(self, store: Store) -> None:
        async def twice() -> list[bool]:
            return [
                await store.put_if_absent_async("idx/a/2", b"", durable=False),
                await store.put_if_absent_async("idx/a/2", b"x", durable=False),
            ]

        assert store.put_if_absent("idx/a/1", b"", durable=False) is True
        assert store.put_if_absent("idx/a/1", b"x", durable=False) is False
        assert asyncio.run(twice()) == [True, False]
        assert (store.get("idx/a/1"), store.get("idx/a/2")) == (b"", b"")
        assert store.list("idx/") == ["idx/a/1", "idx/a/2"]

    def test_probe_passes_on_a_store_that_answers_empty_or_not(self, store: Store) -> None:
        store.probe()
        store.put_if_absent("events/a/1.json", b"x")
        store.probe()
        asyncio.run(store.probe_async())
        assert store.list("") == ["events/a/1.json"]  # a probe writes nothing

    def test_get_of_a_missing_key_is_none(self, store: Store) -> None:
        assert store.get("events/nothing.json") is None

    def test_bytes_round_trip(self, store: Store) -> None:
        data = bytes(range(256)) * 10
        store.put_if_absent("blob", data)
        assert store.get("blob") == data

    def test_list_by_prefix_is_sorted_and_exact(self, store: Store) -> None:
        for key in [
            "outcomes/b/2.json",
            "outcomes/a/1.json",
            "outcomes/a/0.json",
            "events/a/9.json",
        ]:
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
        "key",
        ["../escape", "/abs/path", "a//b", "a/../b", ".tmp/x", "a/.hidden", "", "a b", "a\\b"],
    )
    def test_bad_keys_are_refused(self, store: Store, key: str) -> None:
        with pytest.raises(ValueError, match="invalid store key"):
            store.put_if_absent(key, b"x")
        with pytest.raises(ValueError, match="invalid store key"):
            store.get(key)

    def test_concurrent_writers_have_exactly_one_winner(self, store: Store) -> None:
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
        assert store.get("outcomes/r/race.json") in {f"writer {i}".encode() for i in range(8)}

    def test_listeners_hear_each_successful_write_once(self, store: Store) -> None:
        heard: list[str] = []
        store.add_listener(heard.append)
        store.put_if_absent("k/1", b"x")
        store.put_if_absent("k/1", b"y")
        store.put_if_absent("k/2", b"x")
        store.remove_listener(heard.append)
        store.put_if_absent("k/3", b"x")
        assert heard == ["k/1", "k/2"]

    def test_async_twins(self, store: Store) -> None:
        async def main() -> None:
            assert await store.put_if_absent_async("a/1", b"x") is True
            assert await store.put_if_absent_async("a/1", b"y") is False
            assert await store.get_async("a/1") == b"x"
            assert await store.get_async("a/2") is None
            assert await store.list_async("a/") == ["a/1"]

        asyncio.run(main())

    def test_concurrent_async_writes_each_land_once(self, store: Store) -> None:
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

    def test_writes_cancelled_midway_leave_the_others_whole(self, store: Store) -> None:
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

    def test_list_entries_gives_each_keys_creation_time(self, store: Store) -> None:
        before = datetime.now(timezone.utc) - timedelta(seconds=5)  # a server's clock may lag
        for key in ["idx/b/2", "idx/a/1", "idx/a/3", "other/x"]:
            store.put_if_absent(key, b"x")
        after = datetime.now(timezone.utc) + timedelta(seconds=5)

        entries = store.list_entries("idx/")

        assert [entry.key for entry in entries] == ["idx/a/1", "idx/a/3", "idx/b/2"]
        for entry in entries:
            assert entry.created_at.utcoffset() == timedelta(0)
            assert before <= entry.created_at <= after

    def test_list_entries_pages_after_a_key(self, store: Store) -> None:
        keys = [f"idx/all/{i:04d}" for i in range(25)]
        for key in reversed(keys):
            store.put_if_absent(key, b"x")
        store.put_if_absent("idx/allx/0", b"x")  # shares the text, not the folder

        def page(start_after: str, limit: int | None) -> list[str]:
            listed = store.list_entries("idx/all/", start_after=start_after, limit=limit)
            return [entry.key for entry in listed]

        assert page("", 10) == keys[:10]
        assert page(keys[9], 10) == keys[10:20]
        assert page(keys[19], 10) == keys[20:]
        assert page(keys[-1], 10) == []
        assert page("idx/all/0012x", None) == keys[13:]
        assert page("", None) == keys
        assert asyncio.run(store.list_entries_async("idx/all/", limit=3)) == store.list_entries(
            "idx/all/", limit=3
        )

    def test_delete_removes_a_key_once_and_quietly_after(self, store: Store) -> None:
        store.put_if_absent("old/r/1.json", b"first")
        store.put_if_absent("old/r/2.json", b"kept")

        store.delete("old/r/1.json")
        store.delete("old/r/1.json")  # nothing there: nothing to say
        asyncio.run(store.delete_async("old/r/never.json"))

        assert store.get("old/r/1.json") is None
        assert store.list("old/") == ["old/r/2.json"]
        assert [entry.key for entry in store.list_entries("old/")] == ["old/r/2.json"]
        # A deleted key may be written again (retention makes room, nothing more).
        assert store.put_if_absent("old/r/1.json", b"again") is True
        assert store.get("old/r/1.json") == b"again"
        with pytest.raises(ValueError, match="invalid store key"):
            store.delete("../escape")

    def test_the_grants_index_is_create_once_and_listed_in_order(self, store: Store) -> None:
        """Standing approvals: one folder per (name, scope key, type), each grant and its
        revocation a create-once key, read back by listing the folder."""
        folder = f"{GRANTS_PREFIX}0123456789abcdef/"
        at = datetime(2026, 1, 1, tzinfo=timezone.utc)
        grants = [
            GrantRecord(
                id=f"{n:016x}",
                name="migrate",
                scope="db:prod",
                data_type="bool",
                type_sha256="0" * 64,
                value=True,
                by=who,
                at=at + timedelta(minutes=n),
                expires_at=at + timedelta(days=3650),
                source=f"{n:024x}",
            )
            for n, who in enumerate(["ana", "bo"])
        ]
        for grant in reversed(grants):
            key = f"{folder}{grant.id}.json"
            assert store.put_if_absent(key, grant.model_dump_json().encode()) is True
            assert store.put_if_absent(key, b"another grant") is False
        revoked = GrantRevocation(id=grants[0].id, by="ana", at=at + timedelta(hours=1))
        assert store.put_if_absent(
            f"{folder}{revoked.id}.revoked.json", revoked.model_dump_json().encode()
        )
        assert store.list(folder) == [
            f"{folder}{grants[0].id}.json",
            f"{folder}{grants[0].id}.revoked.json",
            f"{folder}{grants[1].id}.json",
        ]
        assert asyncio.run(list_grants(store)) == [(grants[1], None), (grants[0], revoked)]
        assert asyncio.run(list_grants(store, active_only=True)) == [(grants[1], None)]


WRITING_TESTS = frozenset(
    name
    for name in dir(StoreContract)
    if name.startswith("test_")
    and name
    not in (
        "test_get_of_a_missing_key_is_none",
        "test_bad_keys_are_refused",
        "test_a_cursor_that_is_not_a_pages_is_refused",
    )
)
"""The contract's tests that need a store that takes writes."""
