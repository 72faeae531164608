"""A Slack Web API on 127.0.0.1 that records every call, and interaction payloads signed
exactly as Slack signs them.

`SlackApi` answers `chat.postMessage` (with a channel and a fresh `ts`), `chat.update`,
`chat.postEphemeral`, `views.open`, `users.info` (from `emails`) and
`apps.connections.open` (from `socket_url`); every other method gets `{"ok": true}`.
Point a `WebClient` at it with `base_url=api.url` (hitlkit: `HITL_SLACK_API_URL`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = ["SlackApi", "SlackCall", "sign", "signed_headers", "slack_api"]


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
    socket_url: str | None = None
    fail: dict[str, str] = field(default_factory=dict)
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
            return {"ok": True, "user": {"id": user, "profile": profile}}
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
