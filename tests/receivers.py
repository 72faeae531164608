"""Real message receivers on 127.0.0.1 for notification tests: a webhook, a mail server, a void."""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

T = TypeVar("T")


def eventually(find: Callable[[], T | None], *, timeout: float = 30, what: str = "it") -> T:
    """Poll `find` until it returns something, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = find()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


@dataclass
class Webhook:
    """An HTTP server taking Apprise `json://` posts; the first `fail_first` get HTTP 500."""

    fail_first: int = 0
    posts: list[dict[str, Any]] = field(default_factory=list)
    tries: int = 0
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def take(self, body: dict[str, Any]) -> int:
        with self.lock:
            self.tries += 1
            if self.tries <= self.fail_first:
                return 500
            self.posts.append(body)
            return 200

    def about(self, request_id: str) -> list[dict[str, Any]]:
        """The posts that mention `request_id`."""
        with self.lock:
            return [post for post in self.posts if request_id in post.get("message", "")]

    def wait_for(self, request_id: str, count: int = 1) -> list[dict[str, Any]]:
        def found() -> list[dict[str, Any]] | None:
            posts = self.about(request_id)
            return posts if len(posts) >= count else None

        return eventually(found, what=f"{count} post(s) about {request_id}")


@contextmanager
def webhook(fail_first: int = 0) -> Iterator[Webhook]:
    receiver = Webhook(fail_first=fail_first)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            status = receiver.take(json.loads(self.rfile.read(length)))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """Mail received by a local SMTP server."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)

    def url(self, to: str = "ana@example.com") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=hitl@example.com&to={to}"

    def wait_for(self, request_id: str) -> EmailMessage:
        def found() -> EmailMessage | None:
            for message in list(self.messages):
                if request_id in text_of(message):
                    return message
            return None

        return eventually(found, what=f"mail about {request_id}")


def text_of(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    return "" if part is None else str(part.get_content())


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.mailbox.messages.append(parsed)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    for _ in range(3):  # a free port may be taken by someone else before the server binds it
        box.port = _free_port()
        controller = Controller(_Handler(box), hostname="127.0.0.1", port=box.port)
        try:
            controller.start()
        except (OSError, RuntimeError):
            continue
        break
    else:
        raise RuntimeError("could not start the SMTP server")
    try:
        yield box
    finally:
        controller.stop()


@contextmanager
def void() -> Iterator[int]:
    """A port that takes connections and never answers; yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()
