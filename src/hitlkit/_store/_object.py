"""A store in a cloud bucket (S3 and S3-compatible servers, Google Cloud Storage, Azure Blob).

Built on obstore, an optional dependency: `pip install "hitlkit[s3]"` (or `[gcs]`, `[azure]`).
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hitlkit._exceptions import ConfigurationError
from hitlkit._store._base import (
    OBJECT_SCHEMES,
    Entry,
    Store,
    check_key,
    check_prefix,
    reports_outage,
)

# obstore is optional: without it the class still imports (`hitlkit.ObjectStore`), and
# making one says what to install.
_obstore_missing: ImportError | None = None
try:
    import obstore
    from obstore.exceptions import AlreadyExistsError
    from obstore.store import from_url

    _ObstoreError: type[Exception] = obstore.exceptions.BaseError
except ImportError as exc:  # pragma: no cover - depends on what is installed
    _obstore_missing = exc

    class _ObstoreError(Exception):  # type: ignore[no-redef]
        """Never raised: no store is made without obstore."""


__all__ = ["ObjectStore"]

_LIST_CHUNK = 1000  # one page of an S3 listing

# A failed request is tried again 3 times, and not after 20 s: with obstore's own request
# timeout (30 s), a bucket that hangs fails a call within about half a minute, instead of
# 10 tries over 3 minutes. (Its client options are left alone: giving some would replace
# those it reads from the environment, such as AWS_ALLOW_HTTP.)
RETRIES: dict[str, Any] = {
    "max_retries": 3,
    "retry_timeout": timedelta(seconds=20),
    "backoff": {
        "init_backoff": timedelta(milliseconds=100),
        "max_backoff": timedelta(seconds=2),
        "base": 2.0,
    },
}


class ObjectStore(Store):
    """A store in a bucket, one object per key, under the URL's path.

    Writes are conditional creates (`If-None-Match: *` on S3 and Azure,
    `x-goog-if-generation-match: 0` on Google Cloud Storage), so of several
    writers on any number of hosts exactly one gets `True`. Credentials and
    endpoints come from each cloud's usual environment variables (`AWS_*`,
    `GOOGLE_*`, `AZURE_*`; the README lists them, emulators included);
    `config` and `client_options` are passed to obstore and override them
    (`config={"use_emulator": True}`, `client_options={"allow_http": True}`).
    The bucket or container must exist. Buckets cannot notify, so waiters
    poll: one listing per run per poll interval, however many wait. A bucket that
    does not answer raises `StoreUnavailableError`, within about half a minute if it
    hangs (`RETRIES`; `retry_config` and `client_options={"timeout": ...}` change it).

    ```python
    store = ObjectStore("s3://my-bucket/hitl")   # or open_store("s3://my-bucket/hitl")
    ```
    """

    def __init__(
        self,
        url: str,
        *,
        config: Mapping[str, Any] | None = None,
        client_options: Mapping[str, Any] | None = None,
        retry_config: Mapping[str, Any] | None = None,
    ) -> None:
        if _obstore_missing is not None:
            raise ConfigurationError(
                "object stores (s3://, gs://, az://) need obstore: "
                'pip install "hitlkit[s3]" (the same package serves [gcs] and [azure])'
            ) from _obstore_missing
        super().__init__()
        parts = urlsplit(url)
        if parts.scheme not in OBJECT_SCHEMES or not parts.hostname:
            raise ConfigurationError(
                f"unsupported object store URL {shown_url(url)!r}: expected "
                "s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or az://CONTAINER/PREFIX"
            )
        self.url = shown_url(url)
        options: dict[str, Any] = {"retry_config": dict(retry_config or RETRIES)}
        if config:
            options["config"] = dict(config)
        if client_options:
            options["client_options"] = dict(client_options)
        try:
            self._bucket = from_url(url, **options)
        except (_ObstoreError, ValueError) as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]  # not the debug dump
            raise ConfigurationError(f"cannot open store {self.url!r}: {reason}") from exc

    @reports_outage(_ObstoreError, OSError)
    def put_if_absent(self, key: str, data: bytes, *, durable: bool = True) -> bool:
        # A bucket has stored an object when it answers: every write is durable.
        try:
            obstore.put(self._bucket, check_key(key), data, mode="create")
        except AlreadyExistsError:
            return False
        self._announce(key)
        return True

    @reports_outage(_ObstoreError, OSError)
    def get(self, key: str) -> bytes | None:
        try:
            result = obstore.get(self._bucket, check_key(key))
        except FileNotFoundError:
            return None
        return bytes(result.bytes())

    @reports_outage(_ObstoreError, OSError)
    def list(self, prefix: str = "") -> builtins.list[str]:
        folder = _folder(prefix)
        stream = obstore.list(self._bucket, folder, chunk_size=_LIST_CHUNK)
        return _matching(prefix, (meta["path"] for page in stream for meta in page))

    @reports_outage(_ObstoreError, OSError)
    def list_entries(
        self, prefix: str = "", *, start_after: str = "", limit: int | None = None
    ) -> builtins.list[Entry]:
        folder = _folder(prefix)
        # Buckets list in key order from `offset` (S3's start-after), a page per request:
        # the stream stops being read once `limit` keys are in.
        offset = start_after if start_after > (folder or "") else None
        chunk = _LIST_CHUNK if limit is None else max(1, min(limit, _LIST_CHUNK))
        stream = obstore.list(self._bucket, folder, offset=offset, chunk_size=chunk)
        entries: builtins.list[Entry] = []
        for page in stream:
            for meta in page:
                path = meta["path"]
                if path.startswith(prefix) and path > start_after:
                    entries.append(Entry(path, meta["last_modified"]))
            if limit is not None and len(entries) >= limit:
                break
        entries.sort()
        return entries if limit is None else entries[:limit]

    @reports_outage(_ObstoreError, OSError)
    def probe(self) -> None:
        # One request that needs the bucket (or container) and the right to list it.
        obstore.list_with_delimiter(self._bucket, None)

    @reports_outage(_ObstoreError, OSError)
    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):  # not there: nothing to do
            obstore.delete(self._bucket, check_key(key))

    # The `_async` twins are the base class's: the sync calls on the store's own threads.
    # obstore's own async calls complete on its runtime's threads, which call back
    # into Python; one still in flight while the interpreter exits can abort the
    # process. A worker thread is cheap next to a network round trip.


def shown_url(url: str) -> str:
    """`url` without password, query or fragment, and without a trailing `/`.

    A user name stays: in `abfs://CONTAINER@ACCOUNT.dfs.core.windows.net/` it names the container.
    """
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _folder(prefix: str) -> str | None:
    # Buckets list whole path segments: "outcomes/a/1" finds nothing, its folder finds "1.json".
    return check_prefix(prefix).rpartition("/")[0] or None


def _matching(prefix: str, paths: Iterable[str]) -> builtins.list[str]:
    return sorted(path for path in paths if path.startswith(prefix))
