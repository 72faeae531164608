"""Slack through hitlkit's own Slack app: a Block Kit message people answer in place.

A target is `slack-app://#channel-name` or `slack-app://<id>` (a channel `C…`, a private
channel `G…`, a user `U…` or `W…`, or a direct message `D…`). The app's bot token comes from
`HITL_SLACK_BOT_TOKEN` (never from the URL, never stored), Slack's Web API from
`HITL_SLACK_API_URL`.

When an event opens, `send` posts its message (`_slack_blocks.event_blocks`) and
records where it went (`_messages.save_posted`), so that its buttons lead back to the
event and any replica can update it later. Reminders, escalation steps and the like
are replies in that message's thread (or a new message, when none was recorded).
Answers come back through the app's `/slack/interact` (`hitlkit._server._slack`), as
the identity `identity_of` finds: `HITL_SLACK_USERS`, else the local part of the
user's e-mail (`users.info`, remembered by this process).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from hitlkit import _config
from hitlkit._chat import _messages
from hitlkit._chat._mrkdwn import escape
from hitlkit._exceptions import ConfigurationError
from hitlkit._outbox import Undeliverable

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from hitlkit._notify import Message
    from hitlkit._records import EventRecord
    from hitlkit._store import Store

__all__ = [
    "INSTALL_HINT",
    "call",
    "check_target",
    "client",
    "identity_of",
    "send",
    "target_channel",
]

INSTALL_HINT = 'Slack answers need slack_sdk: pip install "hitlkit[slack]"'
TIMEOUT_SECONDS = 10

_logger = logging.getLogger("hitlkit.notify")
_NAME = re.compile(r"#[a-z0-9][a-z0-9._-]{0,79}")
_ID = re.compile(r"[CGUDW][A-Z0-9]{2,30}")
_FORMS = (
    "slack-app://#channel-name, or slack-app:// and a channel, user or direct message id "
    "(C…, G…, U…, W…, D…)"
)

_identities: dict[str, tuple[str, float]] = {}
"""Slack user id -> identity, found through `users.info` (this process's cache)."""


def target_channel(url: str) -> str:
    """The channel `url` names (`#ops`, `C0123ABCD`), or `ConfigurationError`."""
    rest = url.partition("://")[2]
    if rest.startswith("#"):
        rest = rest.lower()  # Slack's channel names are lower-case
    if _NAME.fullmatch(rest) or _ID.fullmatch(rest):
        return rest
    from hitlkit._notify import redact  # a token pasted into the URL is not shown

    raise ConfigurationError(f"Slack target {redact(url)!r} is not one of: {_FORMS}")


def check_target(url: str) -> None:
    """Refuse a malformed target, or Slack targets while no bot token is configured."""
    target_channel(url)
    if _config.slack_bot_token() is None:
        raise ConfigurationError(
            "slack-app:// targets need the Slack app's bot token in HITL_SLACK_BOT_TOKEN"
        )
    try:
        import slack_sdk  # noqa: F401
    except ImportError:
        raise ConfigurationError(INSTALL_HINT) from None


def client() -> WebClient:
    """A Web API client with the bot token, at `HITL_SLACK_API_URL`."""
    from slack_sdk import WebClient

    token = _config.slack_bot_token()
    if token is None:
        raise ConfigurationError("HITL_SLACK_BOT_TOKEN is not set")
    return WebClient(token=token, base_url=_config.slack_api_url(), timeout=TIMEOUT_SECONDS)


def send(
    store: Store, record: EventRecord, url: str, message: Message, *, kind: str, endpoint: str
) -> bool:
    """Post `record`'s message (`kind` "opened"), or a reply in its thread; whether Slack
    took it. Runs in the outbox's thread."""
    from slack_sdk.errors import SlackClientError

    try:
        if kind == "opened":
            return _post_opened(store, record, url, endpoint)
        return _post_reply(store, record, url, message, endpoint)
    except (SlackClientError, ConfigurationError, OSError, KeyError, TypeError) as exc:
        # The error names Slack's code (not_in_channel, invalid_auth), never the token.
        why = _why(exc)
        hint = _FOR_GOOD.get(why)
        if hint is not None:
            raise Undeliverable(f"Slack says {why}: {hint}") from None
        _logger.warning("Slack refused the %s message of %s: %s", kind, record.id, why)
        return False


_CREDENTIAL = "check HITL_SLACK_BOT_TOKEN (the app's Bot User OAuth Token, xoxb-…)"
_CHANNEL = "check the target's channel, and invite the app to it if it is private"
_FOR_GOOD = {
    "invalid_auth": _CREDENTIAL,
    "not_authed": _CREDENTIAL,
    "account_inactive": _CREDENTIAL,
    "token_revoked": _CREDENTIAL,
    "token_expired": _CREDENTIAL,
    "not_allowed_token_type": _CREDENTIAL,
    "missing_scope": "give the app the scopes of deploy/slack-app.yaml and install it again",
    "channel_not_found": _CHANNEL,
    "not_in_channel": _CHANNEL,
    "is_archived": "the channel is archived",
    "user_not_found": "check the target's user id",
}
"""Slack's errors no retry mends, and what to do about each."""


def _why(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            return str(response["error"])
        except (KeyError, TypeError):
            pass
    return type(exc).__name__


def _post_opened(store: Store, record: EventRecord, url: str, endpoint: str) -> bool:
    from hitlkit._chat._slack_blocks import event_blocks
    from hitlkit._notify import shared_link

    slot = _messages.slot_of("slack", url)
    if _messages.posted_message(store, record.id, slot) is not None:
        return True  # posted before a retry or a restart
    policy = None
    if record.policy is not None:
        from hitlkit._policy_ops import PolicyRecords, policy_state

        policy = policy_state(record, PolicyRecords(), None)
    blocks = event_blocks(record, link=shared_link(record, endpoint), policy=policy)
    response = client().chat_postMessage(
        channel=target_channel(url),
        text=f"{escape(record.name)} is waiting for an answer",
        blocks=blocks,
        unfurl_links=False,
        unfurl_media=False,
    )
    _messages.save_posted(
        store, record, "slack", url, channel=str(response["channel"]), ts=str(response["ts"])
    )
    return True


def _post_reply(
    store: Store, record: EventRecord, url: str, message: Message, endpoint: str
) -> bool:
    from hitlkit._notify import shared_link

    link = escape(shared_link(record, endpoint)).replace("|", "%7C")
    text = f"{escape(message.title)}\n<{link}|Answer here>"
    posted = _messages.posted_message(store, record.id, _messages.slot_of("slack", url))
    options: dict[str, Any] = {"channel": target_channel(url)}
    if posted is not None:
        options = {"channel": posted.channel, "thread_ts": posted.ts}
    client().chat_postMessage(text=text, unfurl_links=False, unfurl_media=False, **options)
    return True


async def identity_of(user: str) -> str | None:
    """The hitlkit identity of Slack user `user`: mapped (`HITL_SLACK_USERS`), else the
    local part of their e-mail, for a full member of the workspace (not a guest, a bot, a
    deactivated account or someone from another organisation) whose address is in
    `HITL_SLACK_EMAIL_DOMAINS` when that is set, and only where the map gives that
    identity to no other Slack user. Looked up once per `LOOKUP_SECONDS`."""
    users = _config.slack_users()
    mapped = users.get(user)
    if mapped is not None:
        return mapped
    known = _identities.get(user)
    if known is not None and time.monotonic() - known[1] < LOOKUP_SECONDS:
        return known[0]
    response = await call("users_info", user=user)
    member = (response or {}).get("user") or {}
    if not isinstance(member, dict) or any(member.get(flag) for flag in _NOT_MEMBERS):
        return None
    profile = member.get("profile") or {}
    email = profile.get("email") if isinstance(profile, dict) else None
    if not isinstance(email, str) or "@" not in email:
        return None
    local, _, domain = email.strip().lower().rpartition("@")
    domains = _config.slack_email_domains()
    if not local or (domains and domain not in domains):
        return None
    if local in {identity.lower() for identity in users.values()}:
        return None  # the map gives that identity to another Slack user
    _identities[user] = (local, time.monotonic())
    return local


_NOT_MEMBERS = ("deleted", "is_bot", "is_restricted", "is_ultra_restricted", "is_stranger")
"""Slack's flags of accounts that do not answer by their e-mail: deactivated, bots, guests
(single- and multi-channel) and people from another organisation."""
LOOKUP_SECONDS = 600.0
"""How long a Slack user's identity found by e-mail is kept before it is looked up again."""


async def call(method: str, **arguments: Any) -> dict[str, Any] | None:
    """One Web API call, in a thread; its response, or `None` when Slack refused it."""
    from slack_sdk.errors import SlackClientError

    def blocking() -> dict[str, Any]:
        response = getattr(client(), method)(**arguments)
        return dict(response.data) if isinstance(response.data, dict) else {}

    try:
        return await asyncio.to_thread(blocking)
    except (SlackClientError, ConfigurationError, OSError) as exc:
        error = getattr(getattr(exc, "response", None), "data", None)
        why = error.get("error") if isinstance(error, dict) else type(exc).__name__
        _logger.warning("Slack's %s failed: %s", method, why)
        return None
