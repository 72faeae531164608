"""What every route needs: the app's store, where it is mounted, and how the app names itself."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from hitlkit._exceptions import ConfigurationError
from hitlkit._store import Store

__all__ = [
    "app_version",
    "cookie_name",
    "delete_cookie",
    "get_cookie",
    "get_signed_cookie",
    "root_of",
    "set_cookie",
    "set_signed_cookie",
    "store_fingerprint",
    "store_of",
]


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


def root_of(request: Request) -> str:
    """The path the app is mounted at, without a trailing slash ("" at the root)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


LINK_COOKIE = "hitl_link_"
"""The start of the name of the cookie a browser keeps an event's answer link in."""


def cookie_name(request: Request, name: str) -> str:
    """`__Host-name` over HTTPS, else `name`.

    Browsers accept a `__Host-` cookie only from this very host, over HTTPS, for the
    whole site: no sibling subdomain can plant one. Over HTTPS behind a proxy, the
    scheme is what the trusted proxy says (uvicorn's `X-Forwarded-Proto` handling).
    Plain HTTP (loopback) cannot use the prefix, so the name is bare there.
    """
    return "__Host-" + name if request.url.scheme == "https" else name


def get_cookie(request: Request, name: str) -> str | None:
    """The value of this app's cookie `name` (prefixed over HTTPS), if the browser sent it."""
    return request.cookies.get(cookie_name(request, name))


def set_signed_cookie(
    request: Request,
    response: Response,
    name: str,
    data: dict[str, Any],
    *,
    keys: Sequence[bytes],
    salt: str,
    max_age: int,
) -> None:
    """Set cookie `name` to `data`, signed with the last of `keys` (for `salt`'s purpose)."""
    value = _serializer(keys, salt).dumps(data)
    text = value if isinstance(value, str) else value.decode()
    set_cookie(request, response, name, text, max_age=max_age)


def get_signed_cookie(
    request: Request, name: str, *, keys: Sequence[bytes], salt: str, max_age: int
) -> dict[str, Any] | None:
    """The data of signed cookie `name`, if authentic (any of `keys`) and at most `max_age` old."""
    cookie = get_cookie(request, name)
    if not cookie:
        return None
    try:
        data: Any = _serializer(keys, salt).loads(cookie, max_age=max_age)
    except (BadSignature, ValueError, TypeError):
        return None
    return data if isinstance(data, dict) else None


def _serializer(keys: Sequence[bytes], salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        list(keys), salt=salt, signer_kwargs={"digest_method": hashlib.sha256}
    )


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int | None = None
) -> None:
    """Set a cookie only this app reads: HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS."""
    response.set_cookie(
        cookie_name(request, name),
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def delete_cookie(request: Request, response: Response, name: str) -> None:
    """Tell the browser to forget this app's cookie `name`."""
    set_cookie(request, response, name, "", max_age=0)
