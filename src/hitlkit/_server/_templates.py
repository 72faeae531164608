"""HTML rendering: one Jinja environment, autoescaped, and strict page headers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timezone
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hitlkit._exceptions import UnsupportedTypeError
from hitlkit._markdown import prompt_summary, render_prompt
from hitlkit._reading import EventState
from hitlkit._records import EventRecord, Outcome, is_approval, utcnow
from hitlkit._server._auth import Caller, auth_settings
from hitlkit._server._context import root_of
from hitlkit._server._csrf import csrf_field
from hitlkit._values import Named, adapter_of

__all__ = ["SCRIPT", "STYLESHEET", "render", "shown", "utc"]

_STATIC = resources.files("hitlkit._server") / "static"
STYLESHEET = (_STATIC / "hitlkit.css").read_bytes()
SCRIPT = (_STATIC / "hitlkit.js").read_bytes()

# Pages load nothing but our stylesheet and script, which only reads from this app,
# and post only to this app; no inline script or style runs.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Never a path or query in a Referer (a link's token), yet an Origin on the pages' own
    # posts: with no-referrer, browsers send `Origin: null`, and over plain HTTP (no
    # Sec-Fetch-Site there) a post could not be told from another site's.
    "Referrer-Policy": "strict-origin",
    "Cache-Control": "no-store",
}

STATUS_WORDS = {
    "pending": "Waiting",
    "expired": "Closed",
    "answered": "Answered",
    "timed_out": "Timed out",
    "defaulted": "Default used",
    "cancelled": "Cancelled",
}


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """The page `template` rendered with `context`, every value escaped.

    A page for a signed-in browser (`Caller.binding` of a session) offers to sign out.
    """
    signed_in: Caller | None = getattr(request.state, "signed_in", None)
    if signed_in is not None:
        key = auth_settings(request).csrf_key
        context.setdefault("sign_out_csrf", csrf_field(request, key, signed_in.binding)[1])
        context.setdefault("signed_in_as", signed_in.identity)
    html = _env.get_template(template).render(root=root_of(request), now=utcnow(), **context)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def shown(value: Any) -> str:
    """A stored answer as a person reads it: text as is, yes/no, numbers as JSON."""
    if isinstance(value, str):
        return value if value else "(empty text)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return json.dumps(value)


def expected_words(type_of: str | EventRecord) -> str:
    """An event's answer type in words: "an integer", "one of "ship", "hold"", ...

    Given only a type name, a rich type is shown by its name ("choice", "Deploy").
    """
    try:
        if isinstance(type_of, EventRecord):
            return adapter_of(type_of).expected
        return adapter_of(Named(type_of)).expected
    except UnsupportedTypeError:
        return type_of if isinstance(type_of, str) else type_of.data_type


def relative(when: datetime, now: datetime) -> str:
    """`when` relative to `now`: "in 5 min", "2 h ago", "just now"."""
    seconds = (when - now).total_seconds()
    span = abs(seconds)
    if span < 45:
        return "just now" if seconds <= 0 else "in a few seconds"
    if span < 90 * 60:
        amount = f"{round(span / 60)} min"
    elif span < 36 * 3600:
        amount = f"{round(span / 3600)} h"
    else:
        amount = f"{round(span / 86400)} d"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def utc(when: datetime) -> str:
    """`when` as a short UTC time: "2025-01-31 14:05 UTC"."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def excerpt(text: str, length: int = 160) -> str:
    """The first `length` characters of `text`, on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


def prompt_excerpt(record: EventRecord, length: int = 160) -> str:
    """The start of an event's prompt as plain text, on one line; of a Markdown prompt,
    the first paragraph, without markup (`prompt_summary`)."""
    text = record.prompt
    if record.prompt_type == "markdown":
        text = prompt_summary(text)
    return excerpt(text, length)


def vote_words(value: Any) -> str:
    """A vote as a person reads it: approve or reject for a yes or no, else the answer."""
    if isinstance(value, dict) and isinstance(value.get("approved"), bool):
        value = value["approved"]
    if isinstance(value, bool):
        return "approve" if value else "reject"
    return shown(value)


def round_words(outcome: Outcome | None) -> str:
    """How an earlier version of a question ended, in a few words."""
    if outcome is None:
        return "no outcome recorded"
    if outcome.decision == "vetoed":
        return f"vetoed by {outcome.by}"
    if outcome.decision in ("approved", "rejected"):
        return outcome.decision
    if outcome.decision == "granted":
        return "approved by a standing approval"
    if outcome.status == "answered":
        return f"answered: {vote_words(outcome.value)}"
    return STATUS_WORDS[outcome.status].lower()


def signature(states: Iterable[EventState]) -> str:
    """A short digest of which events a list shows, in which state: tells lists apart."""
    text = ",".join(f"{state.record.id}:{state.status}" for state in states)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_env = Environment(
    loader=PackageLoader("hitlkit._server", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # packaged templates do not change while the app runs: no stat per use
)
_env.tests["approval"] = is_approval
_env.filters.update(
    shown=shown,
    expected_words=expected_words,
    relative=relative,
    utc=utc,
    excerpt=excerpt,
    signature=signature,
    prompt_excerpt=prompt_excerpt,
    prompt_html=render_prompt,
    status_words=STATUS_WORDS.get,
    vote_words=vote_words,
    round_words=round_words,
)
