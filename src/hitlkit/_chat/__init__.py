"""Chat targets: people answer inside Slack or Microsoft Teams, not only read that a question waits.

A chat target is a `notify=` URL (or one in `HITL_NOTIFY`) that hitlkit delivers itself,
not through Apprise:

- `slack-app://#channel`, `slack-app://C0123ABCD` or `slack-app://U0123ABCD`: a Block Kit
  message posted with the app's bot token (`HITL_SLACK_BOT_TOKEN`), whose buttons and modal
  answer through the app's `/slack/interact` (`hitlkit._chat._slack`);
- `teams-app+https://host/path?query`: an Adaptive Card posted to a Teams Workflows
  webhook (the URL after `teams-app+`), one button per choice opening a signed
  confirmation page (`hitlkit._chat._teams`).

Apprise's one-way `slack://` and `workflows://` stay as they were. The targets, like
every notify URL, stay in the process and are never written to the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hitlkit._exceptions import ConfigurationError

if TYPE_CHECKING:
    from hitlkit._notify import Message
    from hitlkit._records import EventRecord
    from hitlkit._store import Store

__all__ = ["SLACK", "TEAMS", "check_target", "is_chat", "send"]

SLACK = "slack-app"
TEAMS = ("teams-app+https", "teams-app+http")


def _scheme(url: str) -> str:
    return url.partition("://")[0].lower() if "://" in url else ""


def is_chat(url: str) -> bool:
    """Whether hitlkit delivers `url` itself (a chat target) rather than through Apprise:
    any URL starting `slack-app` or `teams-app`, so that a mistyped one is refused here,
    never handed to Apprise (which would log it whole, credentials and all)."""
    return url[:9].lower() in (SLACK, "teams-app")


def check_target(url: str) -> None:
    """Refuse a malformed chat target with `ConfigurationError` naming what was expected."""
    scheme = _scheme(url)
    if scheme == SLACK:
        from hitlkit._chat import _slack

        _slack.check_target(url)
    elif scheme in TEAMS:
        from hitlkit._chat import _teams

        _teams.check_target(url)
    else:
        from hitlkit._notify import redact

        raise ConfigurationError(
            f"notify URL {redact(url)!r} is not a chat target: expected slack-app://#channel "
            "(or a Slack id) or teams-app+https:// and a Teams Workflows webhook URL"
        )


def send(
    store: Store, record: EventRecord, url: str, message: Message, *, kind: str, endpoint: str
) -> bool:
    """Deliver `message` about `record` to the chat target `url` (in the outbox's thread);
    whether it was delivered. `kind` is `opened`, `reminder`, or a policy's step or
    escalation."""
    if _scheme(url) == SLACK:
        from hitlkit._chat import _slack

        return _slack.send(store, record, url, message, kind=kind, endpoint=endpoint)
    from hitlkit._chat import _teams

    return _teams.send(store, record, url, message, kind=kind, endpoint=endpoint)
