"""Stores: where events and outcomes are kept. `open_store` picks one from a URL."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from hitlkit._exceptions import ConfigurationError
from hitlkit._store._base import OBJECT_SCHEMES, Store, check_key, unsupported_url
from hitlkit._store._local import LocalStore
from hitlkit._store._memory import MemoryStore

__all__ = ["LocalStore", "MemoryStore", "Store", "check_key", "open_store"]

_opened: dict[str, Store] = {}
_opened_lock = threading.Lock()


def open_store(url: str | Path | Store) -> Store:
    """The store named by `url`, opened once per process and then shared.

    - a `Store` object is returned as is;
    - `memory://NAME` is an in-memory store, one per name in this process;
    - `file:///abs/path` or a plain path (`.hitl`, `~/events`) is a local folder;
    - `s3://BUCKET/PREFIX`, `gs://BUCKET/PREFIX`, `az://CONTAINER/PREFIX` (also
      `abfs://`, `abfss://`) is a bucket, with credentials from the environment;
      it needs `pip install "hitlkit[s3]"` (or `[gcs]`, `[azure]`).

    ```python
    open_store(".hitl")            # LocalStore in ./.hitl
    open_store("memory://ci")      # MemoryStore
    open_store("s3://bucket/hitl") # ObjectStore
    ```
    """
    if isinstance(url, Store):
        return url
    canonical = _canonical(str(url))
    with _opened_lock:
        store = _opened.get(canonical)
        if store is None:
            if canonical.startswith("memory://"):
                store = MemoryStore(canonical.removeprefix("memory://"))
            elif _is_object_url(canonical):
                # obstore is optional: imported only when a bucket is asked for.
                from hitlkit._store._object import ObjectStore

                store = ObjectStore(canonical)
            else:
                store = LocalStore(Path(unquote(urlsplit(canonical).path)))
            _opened[canonical] = store
        return store


def _canonical(url: str) -> str:
    if not url.strip():
        raise unsupported_url(url)
    if url.startswith("memory://"):
        return url
    if url.startswith("file://"):
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise unsupported_url(url)
        return Path(unquote(parts.path)).resolve().as_uri()
    if _is_object_url(url):
        if not urlsplit(url).netloc:
            raise unsupported_url(url)
        return url.rstrip("/")
    if "://" in url:
        raise unsupported_url(url)
    scheme, colon, _ = url.partition(":")
    if colon and scheme.lower() in (*OBJECT_SCHEMES, "memory", "file"):
        # `s3:/bucket` or `s3:bucket` is a typo, not a folder named "s3:".
        raise ConfigurationError(
            f"store URL {url!r} lacks a slash: write {scheme.lower()}://…, "
            f"or ./{url} for a folder of that name"
        )
    return Path(url).expanduser().resolve().as_uri()


def _is_object_url(url: str) -> bool:
    return url.partition("://")[0] in OBJECT_SCHEMES and "://" in url
