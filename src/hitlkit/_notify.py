"""Messages to the people who answer: when an event opens, and before its deadline.

Targets are [Apprise](https://github.com/caronc/apprise) URLs (`slack://…`,
`mailto://…`, `json://…`, …), checked when the event is created, so a bad one
fails `new_event` rather than a message later. Sending happens in the
background (`_delivery`): it never blocks, delays or fails the workflow.

- The "opened" message is sent by the call that created the event, never by
  one that found it (a restarted workflow), so a restart does not send it again.
- The reminder is sent by a waiting process, `remind_before` seconds before the
  deadline, if the event is still open then. A create-once marker in the store
  (`reminder_key`) lets one waiter of all those sharing the store send it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from hitlkit import _config, _delivery, _ops
from hitlkit._exceptions import ConfigurationError
from hitlkit._links import answer_url, check_secret, sign_answer_link
from hitlkit._markdown import render_prompt
from hitlkit._records import EventRecord, reminder_key, utcnow

if TYPE_CHECKING:
    from hitlkit._store import Store

__all__ = ["NO_NOTICES", "Message", "Notices", "Target", "answer_link", "redact", "split_urls"]

log = logging.getLogger("hitlkit.notify")

INSTALL_HINT = 'pip install "hitlkit[notify]"'
_NEXT_URL = re.compile(r"\s+|,\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")
_HOST_PORT = re.compile(r"(\[[^\]]*\]|[^:]*)(?::[0-9]+)?")
_HOST = re.compile(r"localhost|[0-9.]+|\[[0-9A-Fa-f:.]+\]|(?:[\w-]+\.)+[A-Za-z]{2,}")


def split_urls(text: str) -> list[str]:
    """URLs separated by whitespace or commas (a comma inside a URL's query stays)."""
    return [part for part in _NEXT_URL.split(text) if part]


def redact(url: str) -> str:
    """`url` safe to show: the scheme and a host name, never user names, passwords or tokens.

    ```python
    redact("mailto://ana:pw@smtp.example.com?to=b@example.com")  # 'mailto://…@smtp.example.com?…'
    redact("slack://T0/B0/XXXX")                                  # 'slack://…/…'
    ```
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    tail = rest[len(authority) :]
    _user, at, host = authority.rpartition("@")
    parts = _HOST_PORT.fullmatch(host)
    if parts is None or _HOST.fullmatch(parts[1]) is None:
        shown_host = "…" if host else ""
    else:
        shown_host = parts[0]
    shown = ("…@" if at else "") + shown_host
    if tail:
        shown += tail[0] + "…"
    return f"{scheme}{sep}{shown}"


@dataclass(frozen=True)
class Target:
    """An Apprise URL that Apprise accepted; `shown` is safe to log, `url` is not."""

    url: str = field(repr=False)
    shown: str


def _apprise() -> Any:
    try:
        import apprise
    except ImportError:
        raise ConfigurationError(
            f"notifications (notify=, HITL_NOTIFY) need Apprise: {INSTALL_HINT}"
        ) from None
    return apprise


def load_targets(urls: Sequence[str], source: str) -> tuple[Target, ...]:
    """Check each URL with Apprise; a bad one raises `ConfigurationError` naming it (redacted)."""
    if not urls:
        return ()
    apprise = _apprise()
    targets = []
    for number, url in enumerate(urls, 1):
        where = f"{source}" if len(urls) == 1 else f"{source}, URL {number} of {len(urls)}"
        if not isinstance(url, str):
            raise TypeError(f"notify URLs must be text, got {type(url).__name__} ({where})")
        plugin = apprise.Apprise.instantiate(url.strip())
        if plugin is None:
            raise ConfigurationError(
                f"{redact(url.strip())!r} ({where}) is not a notification URL Apprise can use: "
                "expected a supported scheme with its required parts, such as "
                "slack://TokenA/TokenB/TokenC, mailto://user:password@example.com or "
                "json://host/path (https://github.com/caronc/apprise/wiki)"
            )
        shown = str(plugin.url(privacy=True)).partition("?")[0]
        targets.append(Target(url.strip(), shown))
    return tuple(targets)


def answer_link(record: EventRecord, endpoint: str) -> str:
    """The link a message carries: a signed answer link when `HITL_SECRET` is set, else the form.

    The signed link names the event's one assignee, if it has exactly one (else no
    identity), and expires at the deadline.
    """
    secret = _config.secret()
    if secret is None:
        return f"{endpoint}/form/{record.id}"
    assignees = record.assignees or ()
    identity = assignees[0] if len(assignees) == 1 else None
    token = sign_answer_link(secret, record.id, identity=identity, expires_at=record.deadline)
    return answer_url(endpoint, record.id, token)


@dataclass(frozen=True)
class Message:
    """A message in the three forms targets take: plain text, Markdown and HTML."""

    title: str
    text: str
    markdown: str
    html: str

    def body(self, body_format: str) -> str:
        """The body for a target preferring `body_format` ("text", "markdown", "html")."""
        return {"markdown": self.markdown, "html": self.html}.get(body_format, self.text)


def compose(record: EventRecord, link: str, *, reminder: bool = False) -> Message:
    """The message for `record`: prompt, answer link, deadline in UTC, run and name."""
    left = _duration((record.deadline - utcnow()).total_seconds())
    deadline = f"{record.deadline.strftime('%Y-%m-%d %H:%M:%S')} UTC (in {left})"
    run = f'{record.run_id}, event "{record.name}" ({record.id})'
    still = "still " if reminder else ""
    title = f"hitlkit: {record.name} is {still}waiting for an answer"
    lead = f"Reminder: the deadline is in {left}.\n\n" if reminder else ""
    text = f"{lead}{record.prompt}\n\nAnswer: {link}\nDeadline: {deadline}\nRun: {run}\n"
    markdown = (
        f"{lead}{record.prompt}\n\n- Answer: <{link}>\n- Deadline: {deadline}\n- Run: {run}\n"
    )
    prompt = render_prompt(record.prompt, record.prompt_type)
    if record.prompt_type != "markdown":
        prompt = Markup('<p style="white-space: pre-wrap">{}</p>').format(prompt)
    html = Markup(
        '{}{}<ul><li>Answer: <a href="{}">{}</a></li><li>Deadline: {}</li><li>Run: {}</li></ul>'
    ).format(
        Markup("<p>{}</p>").format(lead.strip()) if lead else "",
        prompt,
        link,
        link,
        deadline,
        run,
    )
    return Message(title=title, text=text, markdown=markdown, html=str(html))


def _duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= 2 * size:
            count = round(seconds / size)
            return f"{count} {unit}s"
    count = round(seconds)
    return f"{count} second{'' if count == 1 else 's'}"


def _attempt(target: Target, message: Message) -> _delivery.Attempt:
    def attempt() -> bool:
        plugin = _apprise().Apprise.instantiate(target.url)
        if plugin is None:
            return False
        body_format = _format_of(plugin)
        # The plugin's own notify() sends from this thread: `Apprise.notify` would hand
        # the request to a pool whose threads the interpreter joins at exit, so a dead
        # endpoint could keep the process alive.
        return bool(
            plugin.notify(
                body=message.body(body_format), title=message.title, body_format=body_format
            )
        )

    return attempt


def _format_of(plugin: Any) -> str:
    """The body format a plugin prefers (honouring a `?format=` in its URL)."""
    resolve = getattr(plugin, "resolve_format", None)
    chosen = resolve() if callable(resolve) else plugin.notify_format
    if isinstance(chosen, (tuple, list)):
        chosen = chosen[0] if chosen else "text"
    return str(getattr(chosen, "value", chosen))


@dataclass(frozen=True)
class Notices:
    """Where an event's messages go, and when to remind (seconds before the deadline)."""

    targets: tuple[Target, ...] = ()
    remind_before: float | None = None

    @classmethod
    async def resolve(
        cls,
        notify: Sequence[str] | str | None,
        remind_before: float | None,
        timeout_seconds: float,
    ) -> Notices:
        """The targets and reminder for `new_event`'s options, defaulting to the configuration."""
        if remind_before is not None:
            _check_remind_before(remind_before, timeout_seconds)
        else:
            configured = _config.remind_before()
            remind_before = configured if configured and configured < timeout_seconds else None
        if notify is None:
            urls, source = split_urls(_config.notify_urls()), "HITL_NOTIFY"
        elif isinstance(notify, str):
            urls, source = split_urls(notify), "notify="
        else:
            urls, source = list(notify), "notify="
        if not urls:
            return NO_NOTICES
        secret = _config.secret()
        if secret is not None:
            check_secret(secret)  # links are signed with it: a bad one fails here, not later
        # Apprise loads its plugins on first use: off the loop, which others share.
        targets = await asyncio.to_thread(load_targets, urls, source)
        return cls(targets, remind_before)

    def opened(self, record: EventRecord, endpoint: str) -> None:
        """Send "`name` is waiting for an answer" to every target, in the background."""
        self._send(record, endpoint, reminder=False)

    def start_reminder(
        self, store: Store, record: EventRecord, endpoint: str
    ) -> asyncio.Task[None] | None:
        """While a waiter waits: the task that sends the reminder when it is due."""
        if not self.targets or self.remind_before is None:
            return None
        return asyncio.get_running_loop().create_task(
            self._remind(store, record, endpoint, self.remind_before)
        )

    async def _remind(
        self, store: Store, record: EventRecord, endpoint: str, remind_before: float
    ) -> None:
        due = record.deadline - timedelta(seconds=remind_before)
        try:
            await asyncio.sleep(max((due - utcnow()).total_seconds(), 0.0))
            if record.is_expired() or await _ops.load_outcome(store, record.id) is not None:
                return
            marker = json.dumps({"by": _config.host_and_pid(), "at": utcnow().isoformat()})
            if await store.put_if_absent_async(reminder_key(record.id), marker.encode()):
                self._send(record, endpoint, reminder=True)
        except asyncio.CancelledError:
            raise
        except Exception:  # the reminder is a courtesy: never fail the waiter over it
            log.exception("could not check whether to remind about %r (%s)", record.name, record.id)

    def _send(self, record: EventRecord, endpoint: str, *, reminder: bool) -> None:
        what = f"{'the reminder' if reminder else 'the message'} about {record.name!r}"
        try:
            message = compose(record, answer_link(record, endpoint), reminder=reminder)
        except Exception:
            log.exception("could not write %s (%s)", what, record.id)
            return
        for target in self.targets:
            try:
                _delivery.send(_attempt(target, message), what=what, target=target.shown)
            except Exception:  # no thread to be had, say: the workflow goes on regardless
                log.exception("could not start sending %s to %s", what, target.shown)


NO_NOTICES = Notices()
"""No targets, no reminder."""


def _check_remind_before(remind_before: float, timeout_seconds: float) -> None:
    if (
        isinstance(remind_before, bool)
        or not isinstance(remind_before, (int, float))
        or not math.isfinite(remind_before)
        or not remind_before > 0
    ):
        raise ValueError(
            f"remind_before must be a positive number of seconds, got {remind_before!r}"
        )
    if remind_before >= timeout_seconds:
        raise ValueError(
            f"remind_before must be less than timeout_seconds ({timeout_seconds:g}), "
            f"got {remind_before:g}"
        )
