"""Socket Mode: Slack's interactions reach an app that has no public URL.

With an app-level token (`HITL_SLACK_APP_TOKEN`, `xapp-...`), the app opens a
WebSocket to Slack (`apps.connections.open` gives its URL) instead of taking
`POST /slack/interact`. Slack sends each button press or modal submission there as
an envelope; this acks every envelope, passes the `interactive` ones to the same
handler `/slack/interact` uses, and sends the handler's reply (a modal's errors, say)
as the ack's payload. No signature is checked here: the connection itself is
authenticated by the token.

slack_sdk's built-in client (`slack_sdk.socket_mode.builtin`) holds the connection in
its own threads and reconnects when Slack asks it to; the handler runs on the app's
event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

__all__ = ["ACK_SECONDS", "Handler", "SocketMode"]

log = logging.getLogger("hitlkit.chat")

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]
"""Takes an interaction's payload; returns what to answer Slack with, if anything."""

ACK_SECONDS = 2.5
"""How long an envelope's ack waits for the handler: Slack wants it within 3 seconds.
A handler still running then goes on, and the ack goes without its reply."""
RETRY_SECONDS = (1.0, 5.0, 30.0)
"""Waits between attempts to open the connection, the last repeated."""


class SocketMode:
    """One Socket Mode connection, opened by `start` and closed by `stop`."""

    def __init__(self, app_token: str, handler: Handler, *, api_url: str) -> None:
        self._app_token = app_token
        self._handler = handler
        self._api_url = api_url
        self._client: SocketModeClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """Whether the connection is open now."""
        return self._client is not None and self._client.is_connected()

    def start(self) -> None:
        """Open the connection in the background, trying again until it opens or `stop`."""
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._connect(), name="hitlkit-slack-socket")

    async def _connect(self) -> None:
        attempt = 0
        while True:
            client = SocketModeClient(
                self._app_token,
                logger=log,
                web_client=WebClient(base_url=self._api_url, timeout=10),
            )
            client.socket_mode_request_listeners.append(self._on_request)
            self._client = client
            try:
                await asyncio.to_thread(client.connect)
                return  # from here the client reconnects by itself
            except (SlackClientError, OSError) as exc:
                await asyncio.to_thread(client.close)
                wait = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
                log.warning(
                    "Slack Socket Mode: could not connect (%s); trying again in %g s", exc, wait
                )
                attempt += 1
                await asyncio.sleep(wait)

    async def stop(self) -> None:
        """Close the connection and its threads."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await asyncio.to_thread(self._client.close)

    async def _handle(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        return await self._handler(payload)

    def _on_request(self, client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        """Ack `request` (in the client's thread), with the handler's reply for an
        interaction."""
        reply = None
        if request.type == "interactive" and self._loop is not None:
            try:
                future = asyncio.run_coroutine_threadsafe(self._handle(request.payload), self._loop)
                reply = future.result(timeout=ACK_SECONDS)
            except concurrent.futures.TimeoutError:
                log.warning("Slack Socket Mode: an interaction took over %g s", ACK_SECONDS)
            except Exception:  # the ack goes anyway: Slack would send the envelope again
                log.exception("Slack Socket Mode: an interaction failed")
        if reply is not None and not request.accepts_response_payload:
            reply = None
        client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload=reply)
        )
