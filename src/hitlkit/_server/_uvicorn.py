"""How hitlkit runs uvicorn: a cheaper access log with links redacted, one write per
response, and limits for clients that are slow on purpose.

An app answering thousands of requests a second spends a good part of each on
uvicorn's access log line and on its two writes of every response (the head,
then the body). What is here keeps uvicorn's behaviour and output and costs less.

uvicorn closes a connection idle between requests, but has no limit on how long
a request's head or body may take to arrive: a client sending one byte a second
holds a connection for ever, and a few thousand such clients hold them all.
`HttpProtocol` adds those limits. It extends uvicorn's protocol class through
its parser callbacks, so it is tested against the uvicorn versions that
pyproject.toml allows, and a test fails when another is installed.
"""

from __future__ import annotations

import asyncio
import copy
import http
import logging
import re
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote_plus

import uvicorn.config
import uvicorn.logging
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = [
    "AccessFormatter",
    "ConnectionLimits",
    "HttpProtocol",
    "OneWriteHttpToolsProtocol",
    "RedactLinks",
    "ServerConfig",
    "install_redaction",
    "log_config",
    "redact_query",
]


class RedactLinks(logging.Filter):
    """Keep credentials in request targets (`?token=...`) out of the access log.

    A parameter is redacted when its name, percent-decoded as the app decodes it and
    ignoring case, is `token`: `?%74oken=` and `?Token=` too; so is anything shaped
    like a link or an API token, anywhere (`redact_query`). `create_app` installs it
    on uvicorn's access logger, however uvicorn was started.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.args, tuple):
            return True
        for arg in record.args:  # a loop, not any(): this runs for every request
            if isinstance(arg, str) and ("?" in arg or "eyJ" in arg or "hitl_" in arg):
                record.args = tuple(
                    redact_query(arg) if isinstance(arg, str) else arg for arg in record.args
                )
                break
        return True


def redact_query(target: str) -> str:
    """`target` (a path and query) with every credential in it redacted.

    That is the value of every `token` parameter, however spelled, and anything
    shaped like an answer link or an API token wherever it stands (in the path, after
    `;`, under another name): the app refuses those, but the value would still be a
    working credential in the log.
    """
    path, mark, query = target.partition("?")
    if mark:
        parts = query.split("&")
        for index, part in enumerate(parts):
            name, equals, _ = part.partition("=")
            if unquote_plus(name).strip().lower() == "token":
                parts[index] = f"{name}{equals or '='}[redacted]"
        target = f"{path}?{'&'.join(parts)}"
    return _CREDENTIAL.sub("[redacted]", target)


# An API token (`hitl_` and 43 characters), or a link: signed JSON, `eyJ…` and a signature
# after a dot (`%2E` once encoded).
_CREDENTIAL = re.compile(
    r"hitl_[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]{8,}(?:\.|%2[Ee])[A-Za-z0-9_-]{16,}"
)


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
    """uvicorn's logging setup, with the access lines made by `AccessFormatter`, and
    hitlkit's own log lines shown the same way."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["access"]["()"] = AccessFormatter
    # hitlkit's own lines (a prune, a store that fails) beside uvicorn's, from INFO up.
    config["loggers"]["hitlkit"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
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


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a client may take over a request, and how many are served at once.

    - `headers_seconds`: the request line and headers must have arrived this long
      after the connection opened or the previous response ended;
    - `body_seconds`: the body, this long after the headers;
    - `idle_seconds`: a kept-alive connection with no new request is closed after this;
    - `concurrency`: beyond this many connections (or requests) at once, a request
      gets 503.

    A request too slow gets `408 Request Timeout` and the connection is closed;
    a connection that never started one is just closed.
    """

    headers_seconds: float = 10.0
    body_seconds: float = 30.0
    idle_seconds: float = 5.0
    concurrency: int = 1000


class ServerConfig(uvicorn.config.Config):
    """uvicorn's configuration, with the limits `HttpProtocol` applies."""

    def __init__(self, app: Any, *, limits: ConnectionLimits, **options: Any) -> None:
        super().__init__(
            app,
            limit_concurrency=limits.concurrency,
            timeout_keep_alive=max(1, round(limits.idle_seconds)),
            **options,
        )
        self.limits = limits


_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: 34\r\n\r\nThe request took too long to send.\n"
)


class HttpProtocol(OneWriteHttpToolsProtocol):
    """`OneWriteHttpToolsProtocol`, closing connections whose requests arrive too slowly.

    One deadline at a time: while the connection waits for a request's head, the
    headers deadline; from the end of the head to the end of the body, the body
    deadline. None runs while the app answers.
    """

    def __init__(self, config: uvicorn.config.Config, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._limits = config.limits if isinstance(config, ServerConfig) else ConnectionLimits()
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting: str | None = None  # "head" or "body": what the deadline is for
        self._in_request = False  # part of a request's head has arrived

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("head")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_request = True

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._in_request = False
        if not self.pipeline:  # a request queued behind a response is not read until it starts
            self._arm("body")

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self._waiting == "body":
            self._disarm()
            if self.cycle.response_complete and not self.pipeline:  # answered before the end
                self._arm("head")

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # the next request, already read, starts now
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if pipelined:
            if self.cycle.more_body:
                self._arm("body")
        elif self._waiting is None:
            self._arm("head")

    def _arm(self, waiting: str) -> None:
        self._disarm()
        seconds = self._limits.headers_seconds if waiting == "head" else self._limits.body_seconds
        self._waiting = waiting
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None
        self._waiting = None

    def _too_slow(self) -> None:
        waiting = self._waiting
        self._deadline = None
        self._waiting = None
        if self.transport.is_closing():
            return
        say_so = self._in_request  # a connection that never began a request is just closed
        if waiting == "body":
            cycle = self.cycle
            # The app waiting for the rest of the body gets a disconnect, and says nothing.
            cycle.disconnected = True
            cycle.message_event.set()
            say_so = not cycle.response_started
        if say_so:
            self.transport.write(_TIMED_OUT)
        self.transport.close()
