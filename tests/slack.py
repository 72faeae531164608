"""A Slack Web API on 127.0.0.1 that records every call, and interaction payloads signed
exactly as Slack signs them.

`SlackApi` answers `chat.postMessage` (with a channel and a fresh `ts`), `chat.update`,
`chat.postEphemeral`, `views.open`, `users.info` (from `emails` and `members`) and
`apps.connections.open` (from `socket_url`); every other method gets `{"ok": true}`.
Point a `WebClient` at it with `base_url=api.url` (hitlkit: `HITL_SLACK_API_URL`).

`SocketModeServer` is Slack's Socket Mode end on 127.0.0.1 (a `websockets` server): it
says hello to each connection, sends the envelopes it is given, and records the acks.
Give its `url` to `SlackApi(socket_url=...)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

__all__ = [
    "SlackApi",
    "SlackCall",
    "SocketModeServer",
    "interaction_body",
    "sign",
    "signed_headers",
    "slack_api",
]


@dataclass
class SlackCall:
    """One Web API call: its method (`chat.postMessage`), arguments and bearer token."""

    method: str
    args: dict[str, Any]
    token: str | None


@dataclass
class SlackApi:
    """A Slack Web API receiver. `fail` maps a method to the Slack error it returns next."""

    emails: dict[str, str] = field(default_factory=dict)
    """Slack user id -> e-mail, for `users.info`."""
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Slack user id -> more fields of its `users.info` user (`{"is_restricted": True}`)."""
    socket_url: str | None = None
    fail: dict[str, str] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)
    """Method -> seconds its next call takes, as over a slow network. A call counts in
    `calls` once answered, so `calls` is the order in which Slack applied them."""
    arrived: list[str] = field(default_factory=list)
    """The methods called, in the order the calls arrived."""
    calls: list[SlackCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                if self.headers.get("content-type", "").startswith("application/json"):
                    args = json.loads(body or "{}")
                else:
                    args = dict(parse_qsl(body))
                    for name in ("blocks", "view", "attachments"):
                        if isinstance(args.get(name), str):
                            args[name] = json.loads(args[name])
                auth = self.headers.get("authorization", "")
                token = auth.removeprefix("Bearer ") if auth else args.get("token")
                method = self.path.strip("/").rpartition("/")[2]
                reply = api._reply(method, args, token)
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The base URL to give `WebClient(base_url=...)`: ends with a slash."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def _reply(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        with self._lock:
            self.arrived.append(method)
            delay = self.slow.pop(method, 0.0)
        time.sleep(delay)
        with self._lock:
            self.calls.append(SlackCall(method, args, token))
            error = self.fail.pop(method, None)
        if error is not None:
            return {"ok": False, "error": error}
        if method == "chat.postMessage":
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            return {"ok": True, "channel": _channel_id(args.get("channel", "")), "ts": ts}
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "users.info":
            user = args.get("user", "")
            profile = {"email": self.emails[user]} if user in self.emails else {}
            return {
                "ok": True,
                "user": {**self.members.get(user, {}), "id": user, "profile": profile},
            }
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        return {"ok": True}

    def of(self, method: str) -> list[SlackCall]:
        """The calls of `method` so far."""
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _channel_id(channel: str) -> str:
    """Slack answers a post to `#name` with the channel's id: here a stable made-up one."""
    if channel.startswith("#"):
        return "C" + hashlib.sha256(channel.encode()).hexdigest()[:8].upper()
    return channel


def sign(secret: str, timestamp: int | str, body: str) -> str:
    """Slack's signature of a request: `v0=` HMAC-SHA256 of `v0:<timestamp>:<body>`."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: str, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with an interaction: its timestamp and signature."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": str(ts),
        "x-slack-signature": sign(secret, ts, body),
    }


def interaction_body(payload: dict[str, Any]) -> str:
    """An interaction's body as Slack posts it: the payload's JSON in a form field."""
    return urlencode({"payload": json.dumps(payload)})


def slack_api(**kwargs: Any) -> Iterator[SlackApi]:
    """A fixture body: a running `SlackApi`, closed afterwards."""
    api = SlackApi(**kwargs)
    try:
        yield api
    finally:
        api.close()


class SocketModeServer:
    """Slack's Socket Mode end: a WebSocket server on 127.0.0.1, in a thread of its own.

    Each connection gets `{"type": "hello"}` first. `send_interaction` sends an
    `interactive` envelope to the newest connection; `ack` waits for the client's ack of
    one (`{"envelope_id": ..., "payload": ...}`).
    """

    def __init__(self) -> None:
        self.connections: list[ServerConnection] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.received: list[Any] = []
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._server: Server | None = None
        started = threading.Event()

        async def listen() -> Server:
            return await serve(self._talk, "127.0.0.1", 0, close_timeout=1)

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(listen())
            started.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        started.wait(10)

    @property
    def url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket=test"

    async def _talk(self, connection: ServerConnection) -> None:
        with self._changed:
            self.connections.append(connection)
            self._changed.notify_all()
        await connection.send(json.dumps({"type": "hello", "num_connections": 1}))
        with contextlib.suppress(ConnectionClosed):  # slack_sdk's client may just hang up
            async for message in connection:
                data = json.loads(message)
                with self._changed:
                    self.received.append(data)
                    if isinstance(data, dict) and "envelope_id" in data:
                        self.acks[data["envelope_id"]] = data
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_connected(self, count: int = 1, seconds: float = 10) -> None:
        """Wait until `count` connections were made."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.connections) >= count, seconds):
                raise AssertionError(f"no Socket Mode connection within {seconds} s")

    def send_interaction(self, payload: dict[str, Any], *, accepts_response: bool = True) -> str:
        """Send an `interactive` envelope; its id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": "interactive",
            "payload": payload,
            "accepts_response_payload": accepts_response,
        }
        self.send(envelope)
        return envelope_id

    def send(self, message: dict[str, Any]) -> None:
        """Send `message` to the newest connection."""
        with self._changed:
            connection = self.connections[-1]
        future = asyncio.run_coroutine_threadsafe(connection.send(json.dumps(message)), self._loop)
        future.result(10)

    def ack(self, envelope_id: str, seconds: float = 10) -> dict[str, Any]:
        """The ack of `envelope_id`, once it came."""
        with self._changed:
            if not self._changed.wait_for(lambda: envelope_id in self.acks, seconds):
                raise AssertionError(f"no ack of {envelope_id} within {seconds} s")
            return self.acks[envelope_id]

    def open_connections(self) -> int:
        """How many connections are open now."""
        with self._changed:
            return self._open()

    def _open(self) -> int:
        return sum(1 for c in self.connections if c.close_code is None)

    def wait_all_closed(self, seconds: float = 10) -> None:
        """Wait until every connection was closed (by the client)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._open() == 0, seconds):
                raise AssertionError(f"a Socket Mode connection stayed open {seconds} s")

    def close(self) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
