"""The app's responses on the wire: whole, in order, and before the connection closes.

The server sends what a response writes in one turn of the loop as one write
(`hitlkit._server._uvicorn.WritesPerTurn`); these read raw bytes from a socket.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

import hitlkit as hitl
from hitlkit import LocalStore


def connect(app_url: str) -> socket.socket:
    parts = urlsplit(app_url)
    assert parts.port is not None
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def responses(raw: bytes) -> list[tuple[str, bytes]]:
    """Split HTTP/1.1 responses with a Content-Length: their status lines and bodies."""
    found = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(
            int(line.partition(":")[2])
            for line in lines
            if line.lower().startswith("content-length:")
        )
        found.append((lines[0], rest[:length]))
        raw = rest[length:]
    return found


def submit(request_id: str, value: int, *, close: bool = False) -> bytes:
    body = json.dumps({"request_id": request_id, "value": value}).encode()
    return (
        b"POST /submit/json HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + (b"Connection: close\r\n" if close else b"")
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


def test_pipelined_requests_get_whole_responses_in_order(
    app_url: str, app_store: LocalStore
) -> None:
    events = [hitl.new_event(f"q{i}", int, store=app_store, serve=False) for i in range(3)]
    with connect(app_url) as sock:
        # Three requests in one packet, the last asking to close: three answers, then the end.
        sock.sendall(
            submit(events[0].request_id, 10)
            + submit(events[0].request_id, 11)
            + submit(events[1].request_id, 12, close=True)
        )
        raw = read_until_closed(sock)

    got = responses(raw)
    assert [status for status, _ in got] == [
        "HTTP/1.1 200 OK",
        "HTTP/1.1 409 Conflict",
        "HTTP/1.1 200 OK",
    ]
    assert json.loads(got[0][1])["value"] == 10
    assert json.loads(got[1][1])["error"] == "already_answered"
    assert json.loads(got[2][1])["value"] == 12
    assert events[0].wait() == 10
    assert events[1].wait() == 12


@pytest.mark.parametrize(
    "request_bytes",
    [b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", b"NOT HTTP AT ALL\r\n\r\n"],
    ids=["http-1.0", "malformed"],
)
def test_a_response_before_the_server_closes_arrives_whole(
    app_url: str, request_bytes: bytes
) -> None:
    with connect(app_url) as sock:
        sock.sendall(request_bytes)
        raw = read_until_closed(sock)

    ((status, body),) = responses(raw)
    if request_bytes.startswith(b"GET"):
        assert status == "HTTP/1.1 200 OK"
        assert json.loads(body)["app"] == "hitlkit"
    else:
        assert status == "HTTP/1.1 400 Bad Request"
        assert body == b"Invalid HTTP request received."
