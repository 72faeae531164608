"""Checks made before any route runs: a cap on body size, and no posts from other sites."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_BODY_BYTES", "BodyLimit", "NoCrossSiteWrites"]

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
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _reject(self, send: Send) -> None:
        message = f"the request body is larger than the limit of {self.max_bytes} bytes"
        # Closing the connection spares reading the rest of a body nobody wants.
        await _send_error(send, 413, "payload_too_large", message, close=True)


class NoCrossSiteWrites:
    """Refuse requests that change state when a browser says another site sent them.

    The app has no login, so a page on any website could otherwise post a form
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


def _replay(body: bytes, receive: Receive) -> Receive:
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
