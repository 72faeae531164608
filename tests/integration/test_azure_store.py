"""A container on a real Azure Blob server (Azurite): the store contract, exactly-once, polling.

The store contract is `tests.store_contract.StoreContract`, subclassed here; the event
tests are the unit suite's own functions, run here with `store` bound to an
`ObjectStore` over the emulator; writes are conditional
creates (`If-None-Match: *`), so racing writers must have one winner.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hitlkit import Store
from hitlkit._store._object import ObjectStore
from tests.azure import ACCOUNT, ACCOUNT_KEY, AzureServer
from tests.integration.test_s3_store import (
    test_an_answer_from_another_host_is_found_by_polling,
    test_four_concurrent_answers_have_one_winner,
    test_four_writers_per_key_have_exactly_one_winner,
)
from tests.store_contract import StoreContract
from tests.unit.test_events import (
    test_answer_from_another_thread_wakes_wait,
    test_cancel_ends_the_wait,
    test_concurrent_answers_have_one_winner,
    test_first_answer_wins,
)

__all__ = [
    "test_an_answer_from_another_host_is_found_by_polling",
    "test_answer_from_another_thread_wakes_wait",
    "test_cancel_ends_the_wait",
    "test_concurrent_answers_have_one_winner",
    "test_first_answer_wins",
    "test_four_concurrent_answers_have_one_winner",
    "test_four_writers_per_key_have_exactly_one_winner",
]


class TestAzureStore(StoreContract):
    @pytest.fixture
    def store(self, azure_store: Store) -> Store:
        """A fresh prefix of the Azurite container."""
        return azure_store


@pytest.fixture
def store(azure_store: Store) -> Store:
    """The unit tests' `store`, here a container prefix on the Azurite server."""
    return azure_store


@pytest.fixture
def other_store(azure_url: str) -> Iterator[Store]:
    """A second store object on the same prefix: what another process or host would see."""
    the_store = ObjectStore(azure_url)
    yield the_store
    the_store.close()


def test_keys_live_under_the_urls_prefix(azure_url: str, store: Store) -> None:
    store.put_if_absent("events/r/1.json", b"{}")
    container, _, prefix = azure_url.rpartition("/")
    assert ObjectStore(container).list(prefix + "/") == [f"{prefix}/events/r/1.json"]
    assert store.url == azure_url


def test_an_account_key_and_endpoint_reach_the_same_container(
    azure_server: AzureServer, azure_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a user of an emulator or a private cloud sets instead of the emulator flag.
    for name in ("AZURE_STORAGE_USE_EMULATOR", "AZURITE_BLOB_STORAGE_URL"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", ACCOUNT_KEY)
    monkeypatch.setenv("AZURE_STORAGE_ENDPOINT", azure_server.account_endpoint)
    by_endpoint = ObjectStore(azure_url, client_options={"allow_http": True})

    assert store.put_if_absent("k/1", b"by the emulator flag") is True
    assert by_endpoint.put_if_absent("k/1", b"by the endpoint") is False
    assert by_endpoint.get("k/1") == b"by the emulator flag"
    assert by_endpoint.list("k/") == ["k/1"]


def test_the_emulator_flag_can_be_given_in_code(
    azure_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_STORAGE_USE_EMULATOR")
    in_code = ObjectStore(azure_url, config={"use_emulator": True})

    assert in_code.put_if_absent("k/1", b"in code") is True
    assert store.get("k/1") == b"in code"


def test_an_abfs_url_reaches_the_same_container(azure_url: str, store: Store) -> None:
    # `abfs://` (Azure Data Lake's name for the same blobs) is served like `az://`.
    abfs = ObjectStore("abfs://" + azure_url.removeprefix("az://"))

    assert store.put_if_absent("k/1", b"through az") is True
    assert abfs.put_if_absent("k/1", b"through abfs") is False
    assert abfs.get("k/1") == b"through az"
    assert abfs.list("k/") == ["k/1"]
