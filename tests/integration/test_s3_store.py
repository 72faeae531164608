"""A bucket on a real S3 server (SeaweedFS): the store contract, events, exactly-once, polling.

The store contract is `tests.store_contract.StoreContract`, subclassed here; the event
tests are the unit suite's own functions, run here with `store` bound to an
`ObjectStore` over the test server.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator

import pytest

import hitlkit as hitl
from hitlkit import ConfigurationError, Store, open_store
from hitlkit._store._object import ObjectStore
from tests.store_contract import StoreContract
from tests.unit.test_client import test_async_twins as test_client_async_twins
from tests.unit.test_client import test_list_get_answer_cancel
from tests.unit.test_events import (
    test_answer_from_another_thread_wakes_wait,
    test_answer_given_before_wait_is_returned_at_once,
    test_async_api,
    test_cancel_ends_the_wait,
    test_concurrent_answers_have_one_winner,
    test_default_is_returned_and_recorded_at_the_deadline,
    test_first_answer_wins,
    test_identity_is_deterministic,
    test_many_waiters_in_one_loop,
    test_recreating_with_another_type_is_a_clear_error,
    test_timeout_raises_a_builtin_timeout_error,
    test_waiters_share_one_watcher,
)

__all__ = [
    "test_answer_from_another_thread_wakes_wait",
    "test_answer_given_before_wait_is_returned_at_once",
    "test_async_api",
    "test_cancel_ends_the_wait",
    "test_client_async_twins",
    "test_concurrent_answers_have_one_winner",
    "test_default_is_returned_and_recorded_at_the_deadline",
    "test_first_answer_wins",
    "test_identity_is_deterministic",
    "test_list_get_answer_cancel",
    "test_many_waiters_in_one_loop",
    "test_recreating_with_another_type_is_a_clear_error",
    "test_timeout_raises_a_builtin_timeout_error",
    "test_waiters_share_one_watcher",
]


class TestS3Store(StoreContract):
    @pytest.fixture
    def store(self, s3_store: Store) -> Store:
        """A fresh prefix of the test S3 server's bucket."""
        return s3_store


@pytest.fixture
def store(s3_store: Store) -> Store:
    """The unit tests' `store`, here a bucket prefix on the test S3 server."""
    return s3_store


@pytest.fixture
def other_store(s3_url: str) -> Iterator[Store]:
    """A second store object on the same prefix: what another process or host would see."""
    the_store = ObjectStore(s3_url)
    yield the_store
    the_store.close()


def test_keys_live_under_the_urls_prefix(s3_url: str, store: Store) -> None:
    store.put_if_absent("events/r/1.json", b"{}")
    parent = ObjectStore(s3_url.rpartition("/")[0])
    assert parent.list(s3_url.rpartition("/")[2] + "/") == [
        f"{s3_url.rpartition('/')[2]}/events/r/1.json"
    ]
    assert store.url == s3_url


def test_four_writers_per_key_have_exactly_one_winner(store: Store, other_store: Store) -> None:
    keys = [f"outcomes/r/{i}.json" for i in range(10)]
    results: dict[str, list[bool]] = {key: [] for key in keys}
    barrier = threading.Barrier(4 * len(keys))

    def write(key: str, writer: int) -> None:
        target = store if writer % 2 else other_store
        barrier.wait()
        results[key].append(target.put_if_absent(key, f"writer {writer}".encode()))

    threads = [
        threading.Thread(target=write, args=(key, writer)) for key in keys for writer in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {key: sorted(won) for key, won in results.items()} == {
        key: [False, False, False, True] for key in keys
    }


def test_four_concurrent_answers_have_one_winner(store: Store, other_store: Store) -> None:
    event = hitl.new_event("q", data_type=int, store=store, run_id="r")
    results: list[str] = []
    barrier = threading.Barrier(4)

    def answer(i: int) -> None:
        barrier.wait()
        try:
            hitl.answer(event.request_id, i, store=store if i % 2 else other_store)
            results.append("ok")
        except hitl.AlreadyAnsweredError:
            results.append("conflict")

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict"] * 3 + ["ok"]
    outcome = event.outcome()
    assert outcome is not None
    assert event.wait() == outcome.value


def test_an_answer_from_another_host_is_found_by_polling(store: Store, other_store: Store) -> None:
    event = hitl.new_event("q", data_type=int, store=store, poll_interval_seconds=0.1)
    timer = threading.Timer(0.2, hitl.answer, (event.request_id, 5), {"store": other_store})
    timer.start()
    assert event.wait() == 5
    timer.join()


def test_async_waits_poll_too(store: Store, other_store: Store) -> None:
    async def main() -> str:
        event = await hitl.new_event.aio("s", data_type=str, store=store, poll_interval_seconds=0.1)
        answering = asyncio.ensure_future(
            hitl.answer.aio(event.request_id, "hi", store=other_store)
        )
        value = await event.wait.aio()
        await answering
        return value

    assert asyncio.run(main()) == "hi"


def test_open_store_opens_a_bucket_once(s3_url: str) -> None:
    opened = open_store(s3_url)
    assert isinstance(opened, ObjectStore)
    assert open_store(s3_url + "/") is opened
    assert opened.watch("outcomes/") is None


def test_options_override_the_environment(s3_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ALLOW_HTTP")
    store = ObjectStore(s3_url, client_options={"allow_http": True})
    assert store.put_if_absent("k/1", b"x") is True
    assert store.list("k/") == ["k/1"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("s3://bucket/a/b/", "s3://bucket/a/b"),
        ("s3://key:secret@bucket/p?x=1#f", "s3://key@bucket/p"),
        ("gs://bucket", "gs://bucket"),
        ("az://container/prefix", "az://container/prefix"),
    ],
)
def test_the_url_shows_no_secrets(url: str, shown: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1")
    assert ObjectStore(url).url == shown


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix", "gs://"])
def test_a_url_without_a_bucket_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="unsupported"):
        open_store(url)


def test_a_store_that_cannot_be_opened_says_why_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME", raising=False)
    with pytest.raises(ConfigurationError) as info:
        ObjectStore("az://container/prefix")
    message = str(info.value)
    assert message.startswith("cannot open store 'az://container/prefix': ")
    assert "Account must be specified" in message
    assert "\n" not in message


def test_a_missing_obstore_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "obstore", None)
    monkeypatch.delitem(sys.modules, "hitlkit._store._object")
    with pytest.raises(ConfigurationError, match=r'pip install "hitlkit\[s3\]"'):
        open_store("s3://never-opened/x")


def test_a_listing_follows_answers_given_through_another_host(
    store: Store, other_store: Store
) -> None:
    events = [hitl.new_event(f"e{i}", data_type=int, store=store, run_id="r") for i in range(3)]
    assert [e.name for e in hitl.list_events(store=store)] == ["e2", "e1", "e0"]

    hitl.answer(events[1].request_id, 1, store=other_store)

    assert [e.name for e in hitl.list_events(store=store)] == ["e2", "e0"]
    assert [e.name for e in hitl.list_events("resolved", store=store)] == ["e1"]
