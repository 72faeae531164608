"""What every route needs: the app's store, and how the app names itself."""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from hitlkit._exceptions import ConfigurationError
from hitlkit._store import Store

__all__ = ["StoreDep", "app_version", "store_fingerprint"]


def store_fingerprint(store: Store) -> str:
    """The first 16 hex digits of sha256(store URL): tells stores apart without naming them."""
    return hashlib.sha256(store.url.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def app_version() -> str:
    """hitlkit's installed version."""
    try:
        return metadata.version("hitlkit")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


async def _store(request: Request) -> Store:
    store = getattr(request.app.state, "store", None)
    if not isinstance(store, Store):
        raise ConfigurationError("this hitlkit app was started without a store")
    return store


StoreDep = Annotated[Store, Depends(_store)]
"""The store the app serves, as a route parameter."""
