"""Checks made before any route runs (the Host, cross-site writes, body size), and the
headers every response gets."""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hitlkit._errors import CROSS_SITE, INVALID_HOST, PAYLOAD_TOO_LARGE, ErrorCode

__all__ = ["MAX_BODY_BYTES", "Guards", "replay"]

MAX_BODY_BYTES = 64 * 1024
"""The largest request body the app accepts, in bytes; larger ones get 413."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGNED_PATHS = frozenset({"/slack/interact"})
"""Routes that take a platform's request signature instead: no browser's origin applies."""
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_HTML_HEADERS = (
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


class Guards:
    """Refuse what no route should see, and add safe headers to every response.

    In order, with one pass over the request's headers:

    - **Host** (when `hosts` is given): a name not in `hosts` gets 400 `invalid_host`.
      A web page can point a name it controls at 127.0.0.1 (DNS rebinding) and then
      read the app as its own origin; its requests still carry its own name as Host.
    - **Same origin for writes**: a request that changes state (POST and the like)
      from a browser must come from this app's own pages, else 403 `cross_site`:
      `Sec-Fetch-Site` must be `same-origin` (or `none`: the person's own doing), and
      without it, `Origin` must be this app's origin (its scheme and Host). A page
      on another port of the same host, or on a sibling subdomain, is `same-site` and
      refused as well: it could otherwise post in its visitor's browser, with the
      app's cookies. Requests with neither header come from programs (the CLI,
      `Client`, curl), never from a browser, which sends `Origin` with every POST;
      they pass, and need their credential like any other. `SIGNED_PATHS` (Slack's
      `/slack/interact`) are left to their signature.
    - **Body size**: a declared Content-Length over `max_bytes` gets 413
      `payload_too_large` before any byte is read; otherwise the body is read into
      memory while counting (which also caps chunked bodies) and handed on whole.
    - **Headers**: every response gets `nosniff`; HTML also gets a strict frame and
      referrer policy where it has none (pages rendered by the app carry their own
      full policy, `_templates.PAGE_HEADERS`; this covers the rest).

    ```python
    app.add_middleware(Guards, hosts=["127.0.0.1", "localhost", "::1"])
    ```
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: Sequence[str] | None = None,
        max_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        names = frozenset(h.lower().strip("[]") for h in hosts) if hosts is not None else None
        self.hosts = None if names is None or "*" in names else names
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = length = fetch_site = origin = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == b"content-length":
                length = value
            elif name == b"sec-fetch-site":
                fetch_site = value
            elif name == b"origin":
                origin = value

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _with_safe_headers(message.get("headers", []))}
            await send(message)

        if self.hosts is not None and _host_name(host or b"") not in self.hosts:
            message = "this app does not answer to that host name"
            await _send_error(send_with_headers, INVALID_HOST, message)
            return
        if (
            scope["method"] not in _SAFE_METHODS
            and scope.get("path") not in SIGNED_PATHS
            and not _same_origin(scope.get("scheme", "http"), host, fetch_site, origin)
        ):
            message = (
                "requests from other websites (or other ports of this host) may not change events"
            )
            await _send_error(send_with_headers, CROSS_SITE, message)
            return
        body = await self._read_body(length, receive, send_with_headers)
        if body is not None:
            await self.app(scope, replay(body, receive), send_with_headers)

    async def _read_body(self, length: bytes | None, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None once it has been refused or the client went away."""
        declared = _int(length)
        if declared is not None and declared > self.max_bytes:
            await self._too_large(send)
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client went away before sending its body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _too_large(self, send: Send) -> None:
        message = f"the request body is larger than the limit of {self.max_bytes} bytes"
        # Closing the connection spares reading the rest of a body nobody wants.
        await _send_error(send, PAYLOAD_TOO_LARGE, message, close=True)


def _with_safe_headers(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    names = {name.lower() for name, _ in headers}
    extra = [_NOSNIFF]
    if any(n.lower() == b"content-type" and v.startswith(b"text/html") for n, v in headers):
        extra += _HTML_HEADERS
    return [*headers, *(header for header in extra if header[0] not in names)]


def _int(value: bytes | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _same_origin(
    scheme: str, host: bytes | None, fetch_site: bytes | None, origin: bytes | None
) -> bool:
    """Whether a browser's request comes from this app's origin (or from no browser)."""
    if fetch_site is not None:  # browsers set it, pages cannot: it says it all
        return fetch_site in (b"same-origin", b"none")
    if origin is None:
        return True  # not a browser: every browser sends Origin with a POST
    authority = (host or b"").strip().lower()
    default_port = b":443" if scheme == "https" else b":80"
    if authority.endswith(default_port):  # browsers leave the default port out of Origin
        authority = authority[: -len(default_port)]
    return origin.strip().lower() == scheme.encode() + b"://" + authority


def _host_name(host: bytes) -> str:
    text = host.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    return text.rpartition(":")[0] if text.count(":") == 1 else text


async def _send_error(send: Send, error: ErrorCode, message: str, *, close: bool = False) -> None:
    body = json.dumps({"error": error.code, "message": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def replay(body: bytes, receive: Receive) -> Receive:
    """`receive`, but first giving `body` as the whole request body."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
