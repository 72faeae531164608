"""What every route needs: the app's store, and how the app names itself."""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata

from starlette.requests import Request

from hitlkit._exceptions import ConfigurationError
from hitlkit._store import Store

__all__ = ["app_version", "store_fingerprint", "store_of"]


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


def store_of(request: Request) -> Store:
    """The store the app serves.

    Read in each route rather than declared as a dependency: FastAPI spends a
    good part of a short request on resolving each dependency.
    """
    store = getattr(request.app.state, "store", None)
    if not isinstance(store, Store):
        raise ConfigurationError("this hitlkit app was started without a store")
    return store
