"""The app's chat driver: Slack messages show their event's outcome, however it ended.

An event's Slack message is posted when it opens; it may end through Slack, the form,
the API, `hitl answer` or `hitl cancel` on the store, a policy's timeout action, or its
deadline with nobody looking. While the app runs with a bot token
(`HITL_SLACK_BOT_TOKEN`), this driver looks about every `HITL_CHAT_EVERY` seconds
(jittered, so replicas started together do not look together) for messages whose
event ended, and updates each to its outcome (`_chat._updates.drive_once`). Each final
update is claimed create-once, so replicas driving at once make it exactly once. A
turn that fails is logged, and the next one tries again.

With an app-level token (`HITL_SLACK_APP_TOKEN`) the lifespan also holds a Socket Mode
connection (`_chat._socket`), passing Slack's interactions to the handler
`/slack/interact` uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from hitlkit import _config
from hitlkit._exceptions import ConfigurationError
from hitlkit._server._policy_driver import run_turns
from hitlkit._store import Store

if TYPE_CHECKING:
    from hitlkit._chat._socket import SocketMode

__all__ = ["CHAT_EVERY_SECONDS", "Interactions", "chatting"]

log = logging.getLogger("hitlkit")

CHAT_EVERY_SECONDS = 2.0

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
Interactions = Callable[[Store, dict[str, Any]], Awaitable[dict[str, Any] | None]]
"""Handles one Slack interaction's payload for a store; returns the reply, if any."""


def chatting(every: float, inner: Lifespan, interactions: Interactions | None = None) -> Lifespan:
    """The app's lifespan: `inner`'s, with the chat driver running while there is a
    Slack bot token, and a Socket Mode connection while there is an app-level token.
    `interactions` (default: `/slack/interact`'s handler) takes Socket Mode's payloads."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = None
        if _config.slack_bot_token() is not None:
            _need_slack_sdk("HITL_SLACK_BOT_TOKEN")
            _config.slack_users()  # a map that cannot be read stops the start, not an answer
            _config.slack_email_domains()
            task = asyncio.create_task(_drive_forever(app, every), name="hitlkit-chat")
        socket: SocketMode | None = None
        app_token = _config.slack_app_token()
        if app_token is not None:
            _need_slack_sdk("HITL_SLACK_APP_TOKEN")
            from hitlkit._chat._socket import SocketMode

            socket = SocketMode(
                app_token, _bound(app, interactions), api_url=_config.slack_api_url()
            )
            socket.start()
        try:
            async with inner(app):
                yield
        finally:
            if socket is not None:
                await socket.stop()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return lifespan


def _need_slack_sdk(variable: str) -> None:
    """Refuse to start without slack-sdk (the `slack` extra) when `variable` asks for Slack."""
    try:
        importlib.import_module("slack_sdk")
    except ImportError:
        raise ConfigurationError(
            f"{variable} is set, but slack-sdk is not installed: pip install 'hitlkit[slack]'"
        ) from None


def _bound(
    app: FastAPI, interactions: Interactions | None
) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]:
    """The handler of Socket Mode's payloads, over the store the app holds then."""

    async def handle(payload: dict[str, Any]) -> dict[str, Any] | None:
        store: Store | None = getattr(app.state, "store", None)
        if store is None:
            log.warning("a Slack interaction came before the app had a store; ignored")
            return None
        if interactions is not None:
            return await interactions(store, payload)
        from hitlkit._server._slack import handle_payload

        return await handle_payload(store, payload)

    return handle


async def _drive_forever(app: FastAPI, every: float) -> None:
    from hitlkit._chat import _updates

    await run_turns(app, every, _updates.drive_once, "updating the chat messages")
