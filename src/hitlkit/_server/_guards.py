"""Checks made before any route runs: body size, cross-site posts, the Host, and page headers."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_BODY_BYTES", "AllowedHosts", "BodyLimit", "NoCrossSiteWrites", "SecurityHeaders"]

MAX_BODY_BYTES = 64 * 1024
"""The largest request body the app accepts, in bytes; larger ones get 413."""


class BodyLimit:
    """Reject request bodies over `max_bytes` with 413 `payload_too_large`.

    A declared Content-Length over the limit is rejected before any byte of the
    body is read. Otherwise the body is read into memory (never more than
    `max_bytes` + one chunk) while counting, which also caps chunked bodies, and
    then handed to the app as one message.

    ```python
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    ```
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._reject(send)
            return
        chunks: list[bytes] = []
        size = 0
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(chunk)
            more_body = message.get("more_body", False)
        await self.app(scope, replay(b"".join(chunks), receive), send)

    async def _reject(self, send: Send) -> None:
        message = f"the request body is larger than the limit of {self.max_bytes} bytes"
        # Closing the connection spares reading the rest of a body nobody wants.
        await _send_error(send, 413, "payload_too_large", message, close=True)


class NoCrossSiteWrites:
    """Refuse requests that change state when a browser says another site sent them.

    Without a tokens file the app has no login, so a page on any website could post a form
    to it in the visitor's browser (to `/submit`, or a body-less cancel).
    Browsers mark such requests `Sec-Fetch-Site: cross-site`; programs such as
    the CLI send no such header and are not affected.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in ("GET", "HEAD", "OPTIONS")
            and (b"sec-fetch-site", b"cross-site") in scope["headers"]
        ):
            message = "requests from other websites may not change events"
            await _send_error(send, 403, "cross_site", message)
            return
        await self.app(scope, receive, send)


class AllowedHosts:
    """Answer only requests whose Host header names one of `hosts` (400 `invalid_host` else).

    A web page can point a name it controls at 127.0.0.1 (DNS rebinding) and then
    read the app as its own origin; its requests still carry its own name as Host.

    ```python
    app.add_middleware(AllowedHosts, hosts=["127.0.0.1", "localhost", "::1"])
    ```
    """

    def __init__(self, app: ASGIApp, hosts: tuple[str, ...]) -> None:
        self.app = app
        self.hosts = frozenset(h.lower().strip("[]") for h in hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "*" not in self.hosts:
            host = _host_name(_header(scope, b"host") or b"")
            if host not in self.hosts:
                message = "this app does not answer to that host name"
                await _send_error(send, 400, "invalid_host", message)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Add `nosniff` to every response, and a strict frame and referrer policy to HTML.

    Pages rendered by the app carry their own full policy (`_templates.PAGE_HEADERS`);
    this covers the rest (JSON errors, the API docs page).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff")]
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    extra += [
                        (b"content-security-policy", b"frame-ancestors 'none'"),
                        (b"x-frame-options", b"DENY"),
                        (b"referrer-policy", b"no-referrer"),
                    ]
                headers += [(name, value) for name, value in extra if name not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _host_name(host: bytes) -> str:
    text = host.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    return text.rpartition(":")[0] if text.count(":") == 1 else text


async def _send_error(
    send: Send, status: int, error: str, message: str, *, close: bool = False
) -> None:
    body = json.dumps({"error": error, "message": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
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


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
