"""Microsoft Teams: an Adaptive Card posted to a Workflows webhook, one button per choice.

A target `teams-app+https://<host>/<path>?<query>` is the webhook URL a Teams
Workflow ("Post to a channel when a webhook request is received") gives, with
`teams-app+` in front; `teams-app+http://` is taken for 127.0.0.1 and localhost only
(tests). The URL is a credential: it is never logged or shown but redacted.

The card holds the title, the prompt as plain text, the facts (deadline in UTC, run,
event, where a policy stands) and buttons: one per one-click answer (`hitlkit._choices`)
opening its signed confirmation page (`/choose/<id>?token=...`), whose own button
records the answer, and "Open the form" (the signed form link). Choice buttons need
`HITL_SECRET`, and are signed for the event's single assignee or, without assignees,
for anyone; with several assignees (or a policy that counts identities) nobody can
tell who presses, so the card offers the form only. Reminders and escalations post a
shorter card with the same buttons.

Answering inside Teams (`Action.Execute`, the card refreshed with the outcome) needs a
Teams app with a bot registration (`microsoft-teams-apps`); it is not built here.
"""

from __future__ import annotations

import logging
import re
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from hitlkit._choices import choice_links, names_who
from hitlkit._exceptions import ConfigurationError
from hitlkit._outbox import Undeliverable

if TYPE_CHECKING:
    from hitlkit._notify import Message
    from hitlkit._records import EventRecord
    from hitlkit._store import Store

__all__ = ["card_for", "check_target", "payload_for", "send"]

log = logging.getLogger("hitlkit.notify")

TIMEOUT_SECONDS = 10.0
MAX_PROMPT = 4000
"""A longer prompt is cut: the card stays readable, and the form shows it whole."""
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_MARKUP = re.compile(r"([\\`*_\[\]()~<>#|!])")
_BULLET = re.compile(r"^(\s*)([-+])(?=\s)", re.MULTILINE)
_NUMBERED = re.compile(r"^(\s*\d+)\.(?=\s)", re.MULTILINE)


def _webhook(url: str) -> str:
    """The webhook URL inside the target (the part after `teams-app+`), checked."""
    from hitlkit._notify import redact

    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    webhook = f"{scheme.removeprefix('teams-app+')}://{rest}"
    try:
        parts = urlsplit(webhook)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        host = ""
    expected = (
        "expected teams-app+https://<host>/<path> with the URL of a Teams Workflows "
        f"webhook after 'teams-app+', got {redact(url)!r}"
    )
    if scheme not in ("teams-app+https", "teams-app+http") or not host:
        raise ConfigurationError(expected)
    if not parts.path.strip("/"):
        raise ConfigurationError(f"{expected}: the webhook URL has no path")
    if scheme == "teams-app+http" and host not in _LOOPBACK:
        raise ConfigurationError(
            f"teams-app+http:// is for 127.0.0.1 and localhost only (tests); a Teams "
            f"webhook takes teams-app+https://, got {redact(url)!r}"
        )
    return webhook


def check_target(url: str) -> None:
    """Refuse a target that is not `teams-app+https://<host>/<path>` with `ConfigurationError`."""
    _webhook(url)


def send(
    store: Store, record: EventRecord, url: str, message: Message, *, kind: str, endpoint: str
) -> bool:
    """Post the card about `record` to the webhook of `url`; whether it was taken (2xx)."""
    from hitlkit._notify import redact

    webhook = _webhook(url)
    card = card_for(record, message, endpoint, kind=kind, policy=_policy_summary(store, record))
    request = httpx.Request(
        "POST",
        webhook,
        json=payload_for(card),
        extensions={"timeout": httpx.Timeout(TIMEOUT_SECONDS).as_dict()},
    )
    try:
        # The transport itself, not a client: httpx's client logs every request's URL
        # (at INFO), and this URL is a credential.
        with httpx.HTTPTransport(proxy=_proxy_for(webhook)) as transport:
            response = transport.handle_request(request)
            response.read()
    except httpx.HTTPError as exc:
        # The exception's text may hold the URL: name the error's kind only.
        log.warning("Teams card to %s failed: %s", redact(url), type(exc).__name__)
        return False
    if not response.is_success:
        status = response.status_code
        if 400 <= status < 500 and status not in (408, 425, 429):
            raise Undeliverable(
                f"the webhook refused the card (HTTP {status}): check the teams-app+ URL, "
                "which should be the whole URL its Workflow gave"
            )
        log.warning("Teams card to %s refused: HTTP %s", redact(url), status)
        return False
    return True


def _proxy_for(webhook: str) -> str | None:
    """The proxy the environment names for `webhook` (HTTPS_PROXY, NO_PROXY), if any."""
    host = urlsplit(webhook).hostname or ""
    if host in _LOOPBACK or urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(urlsplit(webhook).scheme)


def payload_for(card: dict[str, Any]) -> dict[str, Any]:
    """The body a Workflows webhook takes: a message with the card as its one attachment."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def card_for(
    record: EventRecord,
    message: Message,
    endpoint: str,
    *,
    kind: str = "opened",
    policy: str | None = None,
) -> dict[str, Any]:
    """The Adaptive Card (1.5) about `record`: title, prompt, facts and buttons."""
    from hitlkit._notify import shared_link

    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": plain(message.title),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    ]
    facts = [{"title": "Deadline", "value": record.deadline.strftime("%Y-%m-%d %H:%M:%S UTC")}]
    if kind == "opened":
        if record.prompt:
            prompt = record.prompt
            if len(prompt) > MAX_PROMPT:
                prompt = prompt[: MAX_PROMPT - 1] + "…"
            body.append({"type": "TextBlock", "text": plain(prompt), "wrap": True})
        facts += [
            {"title": "Run", "value": plain(record.run_id)},
            {"title": "Event", "value": plain(f"{record.name} ({record.id})")},
        ]
    if policy is not None:
        facts.append({"title": "Policy", "value": plain(policy)})
    body.append({"type": "FactSet", "facts": facts})
    actions = [
        {"type": "Action.OpenUrl", "title": label, "url": link}  # titles are not Markdown
        for label, link in _choice_links(record, endpoint)
    ]
    actions.append(
        {"type": "Action.OpenUrl", "title": "Open the form", "url": shared_link(record, endpoint)}
    )
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
        "actions": actions,
    }


def _choice_links(record: EventRecord, endpoint: str) -> list[tuple[str, str]]:
    """The card's one-click answers: for anyone, where the event names no one who answers;
    none otherwise, as everyone in the channel sees the card and no link can tell who
    presses it."""
    if names_who(record):
        return []
    return choice_links(record, endpoint, identity=None, channel="teams")


def _policy_summary(store: Store, record: EventRecord) -> str | None:
    """Where `record` stands under its policy ("0 of 2 approved"), read without writing."""
    if record.policy is None:
        return None
    from hitlkit._policy_ops import policy_state, read_records
    from hitlkit._reading import load_outcome
    from hitlkit._sync import run_sync

    async def read() -> str:
        records, outcome = await read_records(store, record), await load_outcome(store, record.id)
        return policy_state(record, records, outcome).summary

    return run_sync(read())


def plain(text: str) -> str:
    """`text` shown as written in a TextBlock: the Markdown that Adaptive Cards read
    (emphasis, links, lists, headings) escaped with backslashes, so a prompt can
    neither style itself nor make a link that looks like a button."""
    escaped = _MARKUP.sub(r"\\\1", text)
    escaped = _BULLET.sub(r"\1\\\2", escaped)
    return _NUMBERED.sub(r"\1\\.", escaped)
