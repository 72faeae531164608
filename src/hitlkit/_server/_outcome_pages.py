"""How an event ended, as a page: the outcome recorded, and how this browser's post fared.

A post to an event is answered with a redirect to its page (`hitlkit._server._flash`);
the page shows the outcome from the store, worded for the post that led there when
there was one: "Recorded: 5" for the answer that counts, "Already answered" (with the
answer that was not recorded) for one that came second, "Cancelled" for the cancel.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from hitlkit._audit import AuditEntry
from hitlkit._records import EventRecord, Outcome, is_approval
from hitlkit._server._flash import Done
from hitlkit._server._templates import render, shown

__all__ = ["resolved_page"]

_HEADLINES = {
    "answered": "Answered",
    "timed_out": "Timed out",
    "defaulted": "Default used",
    "cancelled": "Cancelled",
}
_LEADS = {
    "answered": "This event has been answered; the first answer counts.",
    "timed_out": "The deadline passed with no answer.",
    "defaulted": "The deadline passed with no answer, so the default was used.",
    "cancelled": "This event was called off.",
}


def resolved_page(
    request: Request,
    record: EventRecord,
    outcome: Outcome | None,
    *,
    audit: list[AuditEntry],
    done: Done | None = None,
) -> HTMLResponse:
    """The page of an event that takes no more answers; `done`: how this browser's post fared."""
    if outcome is None:  # past the deadline, nothing recorded yet
        lead = "The deadline passed; this event takes no more answers."
        if record.has_default:
            lead += f" Its default, {cut(shown(record.default))}, will be used."
        return _outcome_page(
            request, record, None, headline="Closed", lead=lead, tone="muted", audit=audit
        )
    words = _done_words(outcome, done) if done is not None else None
    if words is None:
        tone = "ok" if outcome.status == "answered" else "muted"
        words = {"headline": _HEADLINES[outcome.status], "lead": _LEADS[outcome.status]}
        words["tone"] = tone
    if is_approval(record) and outcome.status in ("answered", "defaulted"):
        words |= _decision_words(outcome, words)
    attempted = done.attempted if done is not None and done.kind == "late" else None
    return _outcome_page(request, record, outcome, audit=audit, attempted=attempted, **words)


def _decision_words(outcome: Outcome, words: dict[str, str]) -> dict[str, str]:
    """An approval's headline: "Approved", or "Rejected" with its reason (unless the
    page says this browser's answer came second)."""
    if words["headline"] in ("Already answered", "Closed"):
        return {}
    value = outcome.value if isinstance(outcome.value, dict) else {}
    if value.get("approved") is True:
        return {"headline": "Approved", "tone": "ok"}
    reason = value.get("reason")
    headline = f"Rejected: {cut(reason)}" if isinstance(reason, str) and reason else "Rejected"
    return {"headline": headline, "tone": "warn"}


def _done_words(outcome: Outcome, done: Done) -> dict[str, str] | None:
    """The headline, lead and tone for the page a post led to; None if they do not fit."""
    if done.kind in ("recorded", "retry") and outcome.status == "answered":
        lead = "Thank you. The workflow can continue."
        if done.kind == "retry":  # the same answer sent again, say after a lost reply
            lead = "Your answer had already been recorded. The workflow can continue."
        return {"headline": f"Recorded: {cut(shown(outcome.value))}", "lead": lead, "tone": "ok"}
    if done.kind == "cancelled" and outcome.status == "cancelled":
        lead = "You called this event off; the waiting workflow is told so, with your reason."
        return {"headline": "Cancelled", "lead": lead, "tone": "muted"}
    if done.kind == "late":
        headline = "Already answered" if outcome.status == "answered" else "Closed"
        if done.attempted is None:  # a cancel
            lead = "This event was resolved before your cancel arrived; nothing changed."
        elif outcome.status == "answered":
            lead = "Someone answered first, and the first answer counts. Yours was not recorded."
        else:
            lead = "This event stopped taking answers before yours arrived. Yours was not recorded."
        return {"headline": headline, "lead": lead, "tone": "warn"}
    return None


def _outcome_page(
    request: Request,
    record: EventRecord,
    outcome: Outcome | None,
    *,
    headline: str,
    lead: str,
    tone: str,
    **extra: Any,
) -> HTMLResponse:
    context = {"attempted": None, "audit": [], **extra}
    return render(
        request,
        "outcome.html",
        record=record,
        outcome=outcome,
        headline=headline,
        lead=lead,
        tone=tone,
        **context,
    )


def cut(text: str, length: int = 60) -> str:
    """`text`, cut to `length` characters with an ellipsis."""
    return text if len(text) <= length else text[: length - 1] + "…"
