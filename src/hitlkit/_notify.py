"""Tell people that an event waits for them, through Apprise (Slack, email, webhooks, ...).

`new_event(..., notify=[...])` (or `HITL_NOTIFY`) sends one message when the call
creates the event, not when a restarted program finds it again; with
`remind_before=` (or `HITL_REMIND_BEFORE`) the waiting process sends a reminder
that many seconds before the deadline if the event is still open then. A
create-once key, `notices/<run8>/<id>-reminder.json`, makes that reminder go out
once, however many processes wait and restart.

A message holds the prompt, a link to answer (signed for the single assignee,
or for anyone, until the deadline, when `HITL_SECRET` is set; else the form's
URL), the deadline in UTC and the run. Delivery runs in the background
(`hitlkit._outbox`), and each result is written to the audit trail.

E-mail (and other Apprise services that take HTML) also carries one signed link per
one-click answer (`hitlkit._choices`: Approve and Reject, or each choice), each
leading to a confirmation page, as buttons and, for the plain-text part Apprise makes
from the HTML, as URLs. When the event has assignees, a mail target's recipients get
one message each, whose links are signed for that recipient's identity (from
`HITL_EMAIL_IDENTITIES`, else the address's local part); a recipient who is not an
assignee gets the form's link only.

Notify targets stay in the process: they often hold credentials, so they are
never written to the store.
"""

from __future__ import annotations

import functools
import importlib
import logging
import math
import re
import threading
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from hitlkit import _audit, _chat, _config
from hitlkit._choices import choice_links, may_answer, names_who
from hitlkit._exceptions import ConfigurationError
from hitlkit._links import answer_url, check_secret, sign_answer_link
from hitlkit._outbox import Delivery, outbox
from hitlkit._reading import load_outcome
from hitlkit._records import EventRecord, utcnow
from hitlkit._store import Store

__all__ = [
    "INSTALL_HINT",
    "Notices",
    "announce",
    "delivery_counts",
    "message_for",
    "notices_for",
    "redact",
    "remind",
    "reminder_key",
]

INSTALL_HINT = 'notifications need apprise: pip install "hitlkit[notify]"'
MAX_TARGETS = 20
NOTICES_PREFIX = "notices/"


@dataclass(frozen=True)
class Notices:
    """Where to send an event's notifications, and when to remind (seconds before the deadline)."""

    targets: tuple[str, ...]
    remind_before: float | None = None
    steps: tuple[tuple[str, ...], ...] = ()
    """Under a policy: the URLs each escalation step tells when it starts."""
    escalate_to: tuple[str, ...] = ()
    """Under a policy: the URLs told when the deadline passes without a decision."""

    def with_policy(
        self, steps: tuple[tuple[str, ...], ...], escalate_to: tuple[str, ...]
    ) -> Notices:
        """These notices, with a policy's escalation URLs (checked)."""
        for url in (*escalate_to, *(u for urls in steps for u in urls)):
            _check_target(url)
        return Notices(self.targets, self.remind_before, steps, escalate_to)


@dataclass(frozen=True)
class Message:
    """A notification's title, its Markdown body, and the same as safe HTML (for email)."""

    title: str
    body: str
    html: str = ""


def notices_for(
    notify: Sequence[str] | None, remind_before: float | None, *, timeout_seconds: float
) -> Notices | None:
    """Check the `notify=` and `remind_before=` options (or their configured defaults).

    Returns `None` when nobody is to be told. Bad URLs raise `ConfigurationError`
    naming the URL with its credentials redacted.
    """
    if isinstance(notify, str):
        raise TypeError("notify must be a list of Apprise URLs, not one string")
    targets = _config.notify_targets() if notify is None else tuple(dict.fromkeys(notify))
    if remind_before is not None:
        if isinstance(remind_before, bool) or not isinstance(remind_before, (int, float)):
            raise TypeError(f"remind_before must be a number of seconds, got {remind_before!r}")
        if not (math.isfinite(remind_before) and 0 < remind_before < timeout_seconds):
            raise ValueError(
                "remind_before must be a positive number of seconds less than "
                f"timeout_seconds ({timeout_seconds:g}), got {remind_before!r}"
            )
        if not targets:
            raise ValueError(
                "remind_before needs someone to remind: pass notify= or set HITL_NOTIFY"
            )
    else:
        configured = _config.remind_before()
        # A configured default fits some events and not others: it skips those it does not fit.
        if configured is not None and configured < timeout_seconds:
            remind_before = configured
    if not targets:
        return None
    if len(targets) > MAX_TARGETS:
        raise ValueError(f"notify takes at most {MAX_TARGETS} URLs, got {len(targets)}")
    for url in targets:
        _check_target(url)
    secret = _config.secret()
    if secret is not None:
        check_secret(secret)  # the links are signed later, in the background: fail here
        _config.email_identities()  # and so are e-mail choice links
    return Notices(targets, remind_before)


@functools.cache
def _apprise() -> ModuleType:
    try:
        with warnings.catch_warnings():
            # Apprise's email plugin imports the standard library's imghdr, deprecated on
            # 3.11 and 3.12; its plugins load on first use, so load them all here, once.
            warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
            import apprise

            logging.getLogger("apprise").addFilter(_redacting)
            _schemes()
    except ImportError:
        raise ModuleNotFoundError(INSTALL_HINT, name="apprise") from None
    return apprise


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_UNUSABLE_URL = re.compile(r"(Unsupported URL:|Unparseable URL) (.*)", re.DOTALL)
"""Apprise's lines about a URL it cannot use, which may have no `://` (`json:/host/...`)."""


def _redacting(record: logging.LogRecord) -> bool:
    """Apprise's log records with the URLs in them redacted: it logs a URL it cannot use
    whole ("Unsupported URL: ..."), credentials and all."""
    message = record.getMessage()
    unusable = _UNUSABLE_URL.fullmatch(message)
    if unusable is not None:
        record.msg, record.args = f"{unusable[1]} {redact(unusable[2])}", ()
    elif "://" in message:
        record.msg, record.args = _URL_IN_TEXT.sub(lambda m: redact(m.group()), message), ()
    return True


def _check_target(url: object) -> None:
    if not isinstance(url, str):
        raise TypeError(f"each notify target must be an Apprise URL (text), got {url!r}")
    if _chat.is_chat(url):
        _chat.check_target(url)
        return
    apprise = _apprise()
    if apprise.Apprise.instantiate(url) is not None:
        return
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if not scheme:
        why = "it has no scheme (such as json://, mailto://, slack://)"
    elif scheme not in _schemes():
        why = f"Apprise has no service {scheme + '://'!r}"
    else:
        why = f"it is not a valid {scheme}:// URL (see Apprise's page for that service)"
    raise ConfigurationError(f"notify URL {redact(url)!r} is not a valid Apprise URL: {why}")


@functools.cache
def _schemes() -> frozenset[str]:
    try:
        plugins = importlib.import_module("apprise.manager_plugins")
        return frozenset(str(s).lower() for s in plugins.NotificationManager().schemas())
    except AttributeError:  # pragma: no cover - another Apprise layout
        return frozenset()


_LONG_WORD = re.compile(r"[A-Za-z0-9_-]{9,}")
_SLACK_CHANNEL = re.compile(r"#?[A-Za-z0-9._-]{1,80}")


def redact(url: str) -> str:
    """`url` with what may be a credential hidden: passwords, paths, queries, token-like hosts.

    ```python
    redact("slack://T1234abcd/B5678efgh/xoxb-secret")      # 'slack://T1…/…'
    redact("mailtos://ana:hunter2@gmail.com?to=bo@x.org")  # 'mailtos://ana:****@gmail.com/…'
    ```
    """
    if url[:12].lower() == "slack-app://" and _SLACK_CHANNEL.fullmatch(url[12:]):
        return url  # a channel's name or id: no credential (the token is in the environment)
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparseable URL)"
    host = parts.netloc.rpartition("@")[2].removesuffix(port)  # as written: tokens keep case
    if "." not in host and host != "localhost" and ":" not in host:
        host = _LONG_WORD.sub(lambda m: m.group()[:2] + "…", host)
    user = ""
    if parts.username:
        user = _LONG_WORD.sub(lambda m: m.group()[:2] + "…", parts.username)
        user += ":****@" if parts.password else "@"
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{user}{host}{port}{rest}"


def _channel(url: str) -> str:
    return url.partition("://")[0].lower() or "apprise"


def message_for(
    record: EventRecord, endpoint: str, *, reminder: bool = False, now: datetime | None = None
) -> Message:
    """The notification about `record`: title, and a Markdown body with the prompt,
    a link to answer, the deadline (UTC) and the run."""
    deadline = record.deadline.strftime("%Y-%m-%d %H:%M:%S UTC")
    if reminder:
        left = _duration((record.deadline - (now or utcnow())).total_seconds())
        title = f"hitlkit: {record.name} still waits for an answer ({left} left)"
    else:
        title = f"hitlkit: {record.name} is waiting for an answer"
    link = event_link(record, endpoint)
    facts = [
        f"deadline: {deadline}",
        f"run: {record.run_id}",
        f"event: {record.name} ({record.id})",
    ]
    body = "\n\n".join(
        [record.prompt, f"Answer here: <{link}>", "\n".join(f"- {fact}" for fact in facts)]
    )
    return Message(title, body, _html(record, link, facts))


def _html(record: EventRecord, link: str, facts: list[str]) -> str:
    """The body as HTML: the prompt escaped, or rendered from Markdown and sanitized, as on the
    form, so that markup in a prompt never reaches an email as markup."""
    from hitlkit._markdown import render_prompt  # markdown-it and nh3 only when mail goes out

    prompt = render_prompt(record.prompt, record.prompt_type)
    if record.prompt_type != "markdown":
        prompt = Markup('<p style="white-space: pre-wrap">{}</p>').format(prompt)
    items = Markup("").join(Markup("<li>{}</li>").format(fact) for fact in facts)
    answer = Markup('<p>Answer here: <a href="{}">{}</a></p>').format(link, link)
    return str(prompt + _CHOICES_SLOT + answer + Markup("<ul>{}</ul>").format(items))


_CHOICES_SLOT = Markup("<!-- hitlkit: one-click answers -->")
_BUTTON = (
    "display:inline-block;padding:8px 16px;border-radius:4px;background:#1f5fbf;"
    "color:#ffffff;text-decoration:none;font-weight:bold"
)


def with_choices(html: str, links: Sequence[tuple[str, str]]) -> str:
    """`html` (of `message_for`) with a button per one-click answer, each followed by its
    URL in words, so that the plain-text part made from the HTML carries it too."""
    block = Markup("")
    if links:
        block = Markup("<p>Answer in one click (the page that opens asks you to confirm):</p>")
        for label, url in links:
            block += Markup('<p><a href="{}" style="{}">{}</a><br>{}</p>').format(
                url, _BUTTON, label, url
            )
    head, slot, tail = html.rpartition(_CHOICES_SLOT)
    return head + str(block) + tail if slot else html


def _duration(seconds: float) -> str:
    """`seconds` as people say it: 45 s, 10 min, 3 h."""
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


def event_link(record: EventRecord, endpoint: str) -> str:
    """A signed answer link when `HITL_SECRET` is set, else the form's URL.

    The link names the single assignee, if there is exactly one, and lasts until
    the deadline.
    """
    secret = _config.secret()
    if secret is None:
        return f"{endpoint}/form/{record.id}"
    assignees = record.assignees or ()
    identity = assignees[0] if len(assignees) == 1 else None
    token = sign_answer_link(secret, record.id, identity=identity, expires_at=record.deadline)
    return answer_url(endpoint, record.id, token)


def link_for(record: EventRecord, endpoint: str, identity: str | None) -> str:
    """A signed answer link for `identity` when `HITL_SECRET` is set and the link may answer
    (`may_answer`: an assignee, or anyone where the event names no one), else the form's
    URL, where people sign in."""
    secret = _config.secret()
    if secret is None or not may_answer(record, identity):
        return f"{endpoint}/form/{record.id}"
    token = sign_answer_link(secret, record.id, identity=identity, expires_at=record.deadline)
    return answer_url(endpoint, record.id, token)


def shared_link(record: EventRecord, endpoint: str) -> str:
    """The link for a message many people read (a Slack channel, a Teams card): one for
    anyone where the event names no one who answers, else the form's URL, never a link
    that would let every reader answer as one assignee."""
    return link_for(record, endpoint, None)


def announce(store: Store, record: EventRecord, notices: Notices, endpoint: str) -> None:
    """Send the message that `record` opened to every target, in the background."""
    _send(store, record, notices, message_for(record, endpoint), kind="opened", endpoint=endpoint)


def reminder_key(request_id: str) -> str:
    """The create-once key that marks the reminder of `request_id` as sent."""
    return f"{NOTICES_PREFIX}{request_id[:8]}/{request_id}-reminder.json"


async def tell_once(
    store: Store,
    record: EventRecord,
    targets: Sequence[str],
    endpoint: str,
    *,
    kind: str,
    title: str,
) -> bool:
    """Send `record`'s message to `targets` once, whoever else tries (a create-once marker
    `notices/<run8>/<id>-<kind>.json`); whether this call sent it."""
    if not targets:
        return False
    marker = f'{{"at": "{utcnow().isoformat()}", "by": "{_config.host_and_pid()}"}}'
    key = f"{NOTICES_PREFIX}{record.id[:8]}/{record.id}-{kind}.json"
    if not await store.put_if_absent_async(key, marker.encode()):
        return False
    message = message_for(record, endpoint)
    message = Message(f"{title}: {message.title}", message.body, message.html)
    _send(store, record, Notices(tuple(targets)), message, kind=kind, endpoint=endpoint)
    return True


async def remind(store: Store, record: EventRecord, notices: Notices, endpoint: str) -> bool:
    """Send the reminder of `record` if it is still open and nobody sent it yet."""
    if record.is_expired() or await load_outcome(store, record.id) is not None:
        return False
    marker = f'{{"at": "{utcnow().isoformat()}", "by": "{_config.host_and_pid()}"}}'
    if not await store.put_if_absent_async(reminder_key(record.id), marker.encode()):
        return False  # another waiter, or this one before a restart, sent it
    message = message_for(record, endpoint, reminder=True)
    _send(store, record, notices, message, kind="reminder", endpoint=endpoint)
    return True


def _send(
    store: Store,
    record: EventRecord,
    notices: Notices,
    message: Message,
    *,
    kind: str,
    endpoint: str,
) -> None:
    for url in notices.targets:
        label = redact(url)
        reached: set[str] = set()  # recipients a failed attempt did reach: not sent again

        def send(url: str = url, delivered: set[str] = reached) -> bool:
            if _chat.is_chat(url):
                return _chat.send(store, record, url, message, kind=kind, endpoint=endpoint)
            return _send_apprise(record, url, message, endpoint, delivered)

        def on_done(ok: bool, url: str = url, label: str = label) -> None:
            _count_delivery(url, kind, ok)
            detail = f"{kind} {'ok' if ok else 'failed'}: {label}"
            _audit.record_notice(store, record, via=_channel(url), detail=detail)

        outbox().submit(Delivery(label=label, send=send, on_done=on_done))


def _send_apprise(
    record: EventRecord, url: str, message: Message, endpoint: str, delivered: set[str]
) -> bool:
    """Send `message` through Apprise to `url`; HTML targets (e-mail) with one-click links.

    `delivered` holds the recipients an earlier attempt reached: a retry skips them."""
    apprise = _apprise()
    service: Any = apprise.Apprise.instantiate(url)
    if service is None:
        return False
    if _preferred_format(service) != "html":
        return bool(
            service.notify(
                body=message.body, title=message.title, body_format=apprise.NotifyFormat.MARKDOWN
            )
        )
    # HTML targets (email) get HTML made here, where the prompt is escaped or
    # sanitized; Apprise would pass markup in a Markdown body through as is.
    messages = _html_messages(record, url, service, message, endpoint)
    for key, one, html in messages:
        if key in delivered:
            continue
        if one.notify(body=html, title=message.title, body_format=apprise.NotifyFormat.HTML):
            delivered.add(key)
    return all(key in delivered for key, _, _ in messages)


def _html_messages(
    record: EventRecord, url: str, service: Any, message: Message, endpoint: str
) -> list[tuple[str, Any, str]]:
    """(recipient, Apprise service, HTML body) of each message to send to the HTML target
    `url` (recipient "" for one message to all).

    One message, whose links are for the single assignee or (without assignees) for
    anyone; or, when the links must name who answers (assignees, or a policy counting
    identities) and `url` is e-mail, one per recipient with links signed for that
    recipient when it may answer.
    """
    recipients = _recipients(service)
    if not names_who(record):  # one message for all, with links for anyone
        links = choice_links(record, endpoint, identity=None, channel="email")
        return [("", service, with_choices(message.html, links))]
    if recipients is None:  # not e-mail: who reads it is unknown, so no one-click links
        return [("", service, message.html)]
    names = _config.email_identities()
    given = Markup("{}").format(event_link(record, endpoint))
    messages = []
    for address in recipients:
        one: Any = _apprise().Apprise.instantiate(url)
        one.targets, one.cc, one.bcc = [(False, address)], set(), set()
        identity = names.get(address.lower()) or address.partition("@")[0].lower()
        # Each recipient's form link is theirs (or the plain form, where they may not answer).
        html = message.html.replace(
            given, Markup("{}").format(link_for(record, endpoint, identity))
        )
        links = []
        if may_answer(record, identity):
            links = choice_links(record, endpoint, identity=identity, channel="email")
        messages.append((address, one, with_choices(html, links)))
    return messages


def _recipients(service: Any) -> list[str] | None:
    """The addresses an Apprise e-mail service sends to (to, cc and bcc), in order;
    `None` for a service that is not e-mail."""
    try:
        from apprise.plugins.email import NotifyEmail
    except ImportError:  # pragma: no cover - another Apprise layout: one message for all
        return None
    if not isinstance(service, NotifyEmail):
        return None
    addresses = [address for _, address in service.targets]
    addresses += sorted(service.cc) + sorted(service.bcc)
    return list(dict.fromkeys(addresses))


_deliveries: Counter[tuple[str, str, str]] = Counter()
_deliveries_lock = threading.Lock()


def _count_delivery(url: str, kind: str, ok: bool) -> None:
    with _deliveries_lock:
        _deliveries[(_channel(url), kind, "sent" if ok else "failed")] += 1


def delivery_counts() -> dict[tuple[str, str, str], int]:
    """Notifications this process delivered, by (scheme, kind, result): the scheme of the
    target's URL (`slack`, `mailto`, ...), `opened` or `reminder`, `sent` or `failed`."""
    with _deliveries_lock:
        return dict(_deliveries)


def _preferred_format(service: Any) -> str:
    """The body format an Apprise service prefers ("text", "markdown", "html"),
    honouring a `?format=` in its URL."""
    resolve = getattr(service, "resolve_format", None)
    chosen = resolve() if callable(resolve) else service.notify_format
    if isinstance(chosen, (tuple, list)):
        chosen = chosen[0] if chosen else "text"
    return str(getattr(chosen, "value", chosen))
