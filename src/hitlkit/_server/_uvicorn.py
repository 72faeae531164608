"""How hitlkit runs uvicorn: a cheaper access log with links redacted, and one write per response.

An app answering thousands of requests a second spends a good part of each on
uvicorn's access log line and on its two writes of every response (the head,
then the body). What is here keeps uvicorn's behaviour and output and costs less.
"""

from __future__ import annotations

import asyncio
import copy
import http
import logging
from typing import Any, cast
from urllib.parse import unquote_plus

import uvicorn.config
import uvicorn.logging
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = [
    "AccessFormatter",
    "OneWriteHttpToolsProtocol",
    "RedactLinks",
    "install_redaction",
    "log_config",
    "redact_query",
]


class RedactLinks(logging.Filter):
    """Keep credentials in query strings (`?token=...`) out of the access log.

    A parameter is redacted when its name, percent-decoded as the app decodes it and
    ignoring case, is `token`: `?%74oken=` and `?Token=` too. `create_app` installs it
    on uvicorn's access logger, however uvicorn was started.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.args, tuple):
            return True
        for arg in record.args:  # a loop, not any(): this runs for every request
            if isinstance(arg, str) and "?" in arg:
                record.args = tuple(
                    redact_query(arg) if isinstance(arg, str) else arg for arg in record.args
                )
                break
        return True


def redact_query(target: str) -> str:
    """`target` (a path and query) with the value of every `token` parameter redacted."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    parts = query.split("&")
    for index, part in enumerate(parts):
        name, equals, _ = part.partition("=")
        if unquote_plus(name).strip().lower() == "token":
            parts[index] = f"{name}{equals or '='}[redacted]"
    return f"{path}?{'&'.join(parts)}"


def install_redaction() -> None:
    """Redact answer links in uvicorn's access log, once per process."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactLinks) for f in access.filters):
        access.addFilter(RedactLinks())


class AccessFormatter(uvicorn.logging.AccessFormatter):
    """uvicorn's access log line, the same text for less work.

    uvicorn copies each record twice to add its fields to it, and looks up the
    status phrase each time: a good part of a short request. Without colours
    (not a terminal) the fields are set on the record itself.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        if self.use_colors:
            return super().formatMessage(record)
        client_addr, method, path, http_version, status_code = record.args  # type: ignore[misc]
        level = record.levelname
        record.levelprefix = level + ":" + " " * (8 - len(level))
        record.client_addr = client_addr
        record.request_line = f"{method} {path} HTTP/{http_version}"
        code = cast("int", status_code)  # uvicorn logs it with %d
        record.status_code = _STATUS_LINES.get(code) or f"{code} "
        return self._style.format(record)


_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in http.HTTPStatus}


def log_config() -> dict[str, Any]:
    """uvicorn's logging setup, with the access lines made by `AccessFormatter`."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["access"]["()"] = AccessFormatter
    return config


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, sending what a response writes in one turn as one write."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Every write of this connection, the requests' included, goes through here.
        self.transport = cast("asyncio.Transport", WritesPerTurn(transport, self.loop))


class WritesPerTurn:
    """A transport that sends what is written to it in one turn of the loop as one write.

    uvicorn writes a response's head as soon as the app starts it, and its body
    next: two packets, and two wake-ups of the client, where one would do. The
    bytes go out at the end of the turn, in order, and before the transport closes.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
