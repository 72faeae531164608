"""Real receivers of notifications on 127.0.0.1: an HTTP server taking Apprise's `json://`
posts, and an SMTP server (aiosmtpd) taking `mailto://` mail."""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

LINK = re.compile(r"https?://[^\s<>()\"']+")


def links_in(text: str) -> list[str]:
    """The URLs in `text`."""
    return LINK.findall(text)


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Poll `check` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@dataclass
class HookServer:
    """An HTTP server that records JSON posts and answers with `statuses`, then 200.

    With `hold` set, it keeps every request open (no answer) until `release()`.
    """

    statuses: list[int] = field(default_factory=list)
    hold: bool = False
    posts: list[dict[str, Any]] = field(default_factory=list)
    arrived: int = 0
    _released: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    receiver.arrived += 1
                if receiver.hold:
                    receiver._released.wait(60)
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    if status == 200:
                        receiver.posts.append(json.loads(body))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The Apprise URL that posts here."""
        return f"json://127.0.0.1:{self._server.server_port}/hook"

    @property
    def teams_url(self) -> str:
        """The hitlkit Teams target that posts here, as to a Workflows webhook."""
        return f"teams-app+http://127.0.0.1:{self._server.server_port}/workflows/hook?sig=s3cr3t"

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        """The posts, once `count` of them were answered with 200."""
        wait_until(lambda: len(self.posts) >= count, f"{count} notification(s) at {self.url}")
        return list(self.posts)

    def release(self) -> None:
        """Answer the held requests."""
        self._released.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()


class _Mailbox:
    def __init__(self, refuse_once: set[str]) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.refuse_once = set(refuse_once)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refuse_once:
            self.refuse_once.discard(address.lower())
            return "450 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


class MailServer:
    """A plain SMTP server (no TLS, no login) keeping the mail it receives; it turns each
    address of `refuse_once` away the first time (450), as a busy server does."""

    def __init__(self, refuse_once: frozenset[str] = frozenset()) -> None:
        self._mailbox = _Mailbox(set(refuse_once))
        with socket.socket() as probe:  # aiosmtpd needs a port number up front
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._controller = Controller(self._mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def url(self, to: str) -> str:
        """The Apprise URL that mails `to` through this server, without TLS."""
        return f"mailto://127.0.0.1:{self.port}?from=hitlkit@example.com&to={to}&mode=insecure"

    @property
    def recipients(self) -> list[list[str]]:
        return self._mailbox.recipients

    def wait_for(self, count: int) -> list[EmailMessage]:
        """The messages, once `count` arrived."""
        messages = self._mailbox.messages
        wait_until(lambda: len(messages) >= count, f"{count} mail(s) on port {self.port}")
        return list(messages)

    def close(self) -> None:
        self._controller.stop()


def text_of(message: EmailMessage) -> str:
    """Every text part of `message`, decoded, one after the other."""
    parts = [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
    return "\n".join(str(part) for part in parts)
