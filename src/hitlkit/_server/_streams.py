"""Who may open the app's change streams, how many at once, for how long, and from when.

A change stream holds a connection open, and on a store that cannot notify a
listing of what it follows, for as long as it lasts. So each stream:

- takes the credential that reading events takes (`authenticate`), and a browser may
  open one only from the app's own pages: `Sec-Fetch-Site: cross-site` or `same-site`,
  or an `Origin` other than the app's, gets 403 `cross_site`. Without a tokens file the
  app needs no credential, and an `EventSource` on any other site could otherwise open
  streams in its visitors' browsers;
- counts against its client (the API token's name, the signed-in browser's token, the
  answer link's event, or without a tokens file the client's address) and the app:
  one over `StreamLimits.per_client` or `StreamLimits.total` gets 429
  `too_many_streams` with `Retry-After`;
- sends a comment line every `heartbeat_seconds` and ends after `max_seconds`; the
  client connects again, with `since=` so that nothing recorded meanwhile is missed.

`since` is a time (ISO 8601 with a timezone, or seconds since the epoch), so any
replica can take up a stream where another left off. `Last-Event-ID`, which
`EventSource` sends when it reconnects, counts as `since` when that is not given.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AwareDatetime, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from hitlkit import _config, _errors
from hitlkit._exceptions import ConfigurationError
from hitlkit._server._auth import AuthFailure, Caller, authenticate
from hitlkit._server._errors import error_response, short
from hitlkit._server._sse import EventStream

__all__ = [
    "STREAM_RETRY_AFTER_SECONDS",
    "BadCursor",
    "StreamGate",
    "StreamLimits",
    "TooManyStreams",
    "check_same_origin",
    "open_stream",
    "parse_since",
    "stream_caller",
    "stream_gate",
]

STREAM_RETRY_AFTER_SECONDS = 10
"""What a refused stream's `Retry-After` says: streams end and free their place often."""


@dataclass(frozen=True)
class StreamLimits:
    """How many change streams the app keeps open, how often they speak, and for how long.

    Each field has an environment variable, read by `from_env` (`create_app`'s default):
    `HITL_STREAMS_PER_CLIENT`, `HITL_STREAMS_TOTAL`, `HITL_STREAM_HEARTBEAT_SECONDS`
    and `HITL_STREAM_MAX_SECONDS`.

    ```python
    create_app(store, streams=StreamLimits(per_client=2, max_seconds=60))
    ```
    """

    per_client: int = 8
    """Streams one client (token, signed-in browser, link, or address) may hold open."""
    total: int = 256
    """Streams the app holds open, over all clients."""
    heartbeat_seconds: float = 15.0
    """A comment line after this long without a message, so proxies keep the connection."""
    max_seconds: float = 300.0
    """A stream ends after this long; its client connects again (with `since=`)."""

    def __post_init__(self) -> None:
        for name in ("per_client", "total", "heartbeat_seconds", "max_seconds"):
            value = getattr(self, name)
            if not value > 0:
                raise ConfigurationError(f"stream limit {name} must be above 0, got {value!r}")

    @classmethod
    def from_env(cls) -> StreamLimits:
        """The limits set in the environment; defaults for those that are not set."""
        return cls(
            per_client=_config.count("HITL_STREAMS_PER_CLIENT", cls.per_client),
            total=_config.count("HITL_STREAMS_TOTAL", cls.total),
            heartbeat_seconds=_config.seconds(
                "HITL_STREAM_HEARTBEAT_SECONDS", cls.heartbeat_seconds
            ),
            max_seconds=_config.seconds("HITL_STREAM_MAX_SECONDS", cls.max_seconds),
        )


class TooManyStreams(Exception):
    """A stream refused because its client, or the app, holds as many as allowed."""


class StreamGate:
    """Counts the open streams of each client and of the app: one per app.

    Only the app's event loop calls it, so counting needs no lock.
    """

    def __init__(self, limits: StreamLimits) -> None:
        self.limits = limits
        self._open: dict[str, int] = {}
        self._total = 0

    def enter(self, client: str) -> Callable[[], None]:
        """Count a stream of `client`; returns what ends it (once). Raises `TooManyStreams`."""
        if self._open.get(client, 0) >= self.limits.per_client:
            raise TooManyStreams(
                f"this client has {self.limits.per_client} change streams open, the most "
                "allowed; close one, or try again later"
            )
        if self._total >= self.limits.total:
            raise TooManyStreams(
                f"this app has {self.limits.total} change streams open, the most allowed; "
                "try again later"
            )
        self._open[client] = self._open.get(client, 0) + 1
        self._total += 1
        left = False

        def leave() -> None:
            nonlocal left
            if left:
                return
            left = True
            self._total -= 1
            self._open[client] -= 1
            if not self._open[client]:
                del self._open[client]

        return leave


def stream_gate(request: Request) -> StreamGate:
    """The app's gate; made from the environment if its state lost it (see `auth_settings`)."""
    gate = getattr(request.app.state, "streams", None)
    if not isinstance(gate, StreamGate):
        gate = request.app.state.streams = StreamGate(StreamLimits.from_env())
    return gate


def stream_caller(
    request: Request, *, link: str | None = None, needs: Literal["read", "all"] = "read"
) -> tuple[Caller, str]:
    """Who opens a stream, and the client its streams count against. Raises `AuthFailure`.

    Takes an API token, the signed-in browser's cookie, or where `needs` is "read"
    an answer link (with `link`, the `?token=` of a page, or as a bearer token); the
    caller checks what a link may follow.
    """
    check_same_origin(request)
    caller = authenticate(request, link=link, needs=needs, session=True)
    if caller.kind == "token":
        return caller, f"token:{caller.identity}"
    if caller.kind == "link":
        return caller, f"link:{caller.event}"
    return caller, f"address:{request.client.host if request.client else ''}"


def check_same_origin(request: Request) -> None:
    """Refuse a browser's request made by another site, even a sibling one (403 `cross_site`).

    Programs send neither header; browsers send `Sec-Fetch-Site`, and `Origin` on
    requests made across origins.
    """
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if site in ("cross-site", "same-site") or (
        origin is not None and not _is_own_origin(origin, request)
    ):
        message = "change streams may be opened only by this app's own pages and by programs"
        raise AuthFailure(_errors.CROSS_SITE, message, html=False)


_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _is_own_origin(origin: str, request: Request) -> bool:
    parts = urlsplit(origin.strip().lower())
    host = request.headers.get("host", "").lower()
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc or not host:
        return False  # "null" (a sandboxed page or a file) is no one's origin
    # A proxy may serve https to the browser and http to the app: compare host and port.
    default = f":{_DEFAULT_PORTS[parts.scheme]}"
    return parts.netloc.removesuffix(default) == host.removesuffix(default)


class BadCursor(ValueError):
    """A `since` (or `Last-Event-ID`) that is not a time."""


_TIME = TypeAdapter(AwareDatetime)


def parse_since(request: Request, since: str | None) -> datetime | None:
    """The stream's cursor: `since`, else the `Last-Event-ID` header, else None.

    Raises `BadCursor` saying what was expected.
    """
    text = since if since is not None else request.headers.get("last-event-id")
    if text is None or not text.strip():
        return None
    try:
        return _TIME.validate_python(text.strip())
    except ValidationError:
        raise BadCursor(
            "since: expected a time in ISO 8601 with a timezone (2025-01-31T12:00:00Z) "
            f"or seconds since the epoch (1738324800), got {short(text)}"
        ) from None


def open_stream(
    request: Request,
    client: str,
    messages: Callable[[StreamLimits], AsyncGenerator[str, None]],
) -> Response:
    """The stream of `messages` (made with the app's limits), counted against `client`;
    429 `too_many_streams` with `Retry-After` when it or the app holds as many as allowed."""
    gate = stream_gate(request)
    try:
        leave = gate.enter(client)
    except TooManyStreams as exc:
        headers = {"Retry-After": str(STREAM_RETRY_AFTER_SECONDS)}
        return error_response(_errors.TOO_MANY_STREAMS, str(exc), headers=headers)
    return EventStream(messages(gate.limits), on_close=leave)
