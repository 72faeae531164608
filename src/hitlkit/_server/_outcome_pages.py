"""How an event ended, as a page: the outcome recorded, and how this browser's post fared.

A post to an event is answered with a redirect to its page (`hitlkit._server._flash`);
the page shows the outcome from the store, worded for the post that led there when
there was one: "Recorded: 5" for the answer that counts, "Already answered" (with the
answer that was not recorded) for one that came second, "Cancelled" for the cancel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from hitlkit._audit import AuditEntry
from hitlkit._policy import PolicyState
from hitlkit._records import EventRecord, Outcome, is_approval
from hitlkit._server._flash import Done
from hitlkit._server._policy_view import Round
from hitlkit._server._templates import render, shown, utc

__all__ = ["Ended", "resolved_page"]

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


@dataclass(frozen=True)
class Ended:
    """How an event under a policy ended: its state (votes, steps, grant), and the
    versions asked before it."""

    state: PolicyState
    rounds: list[Round]


def resolved_page(
    request: Request,
    record: EventRecord,
    outcome: Outcome | None,
    *,
    audit: list[AuditEntry],
    done: Done | None = None,
    policy: Ended | None = None,
) -> HTMLResponse:
    """The page of an event that takes no more answers; `done`: how this browser's post
    fared; `policy`: the decision under the event's policy, with every vote and step."""
    if outcome is None:  # past the deadline, nothing recorded yet
        lead = "The deadline passed; this event takes no more answers."
        if record.has_default:
            lead += f" Its default, {cut(shown(record.default))}, will be used."
        return _outcome_page(
            request,
            record,
            None,
            headline="Closed",
            lead=lead,
            tone="muted",
            audit=audit,
            policy=policy,
        )
    words = _done_words(outcome, done) if done is not None else None
    decided = _policy_words(outcome, policy, done) if policy is not None else None
    if decided is not None:
        words = decided
    if words is None:
        tone = "ok" if outcome.status == "answered" else "muted"
        words = {"headline": _HEADLINES[outcome.status], "lead": _LEADS[outcome.status]}
        words["tone"] = tone
    if decided is None and is_approval(record) and outcome.status in ("answered", "defaulted"):
        words |= _decision_words(outcome, words)
    attempted = done.attempted if done is not None and done.kind == "late" else None
    return _outcome_page(
        request, record, outcome, audit=audit, attempted=attempted, policy=policy, **words
    )


def _policy_words(outcome: Outcome, ended: Ended, done: Done | None) -> dict[str, str] | None:
    """The headline of a decision under a policy: approved, rejected, vetoed by whom, no
    decision, or approved by a standing approval; `None` where the plain words fit."""
    grant = outcome.grant
    summary = ended.state.summary
    if done is not None and done.kind == "late":
        return None
    if grant is not None:
        words = {
            "headline": "Approved by a standing approval",
            "lead": f"Standing approval {grant.id} of {grant.by}, until {utc(grant.expires_at)}, "
            "decided this at once: an event of the same name, scope key, type and policy "
            "was approved before, and the approval was let stand.",
            "tone": "ok",
        }
    elif outcome.decision == "approved":
        words = {
            "headline": "Approved",
            "lead": f"{summary[0].upper()}{summary[1:]}.",
            "tone": "ok",
        }
    elif outcome.decision == "vetoed":
        words = {"headline": f"Vetoed by {outcome.by}", "lead": _why(outcome), "tone": "warn"}
    elif outcome.decision == "rejected":
        words = {"headline": "Rejected", "lead": _why(outcome), "tone": "warn"}
    elif outcome.decision == "failed":
        words = {
            "headline": "No decision",
            "lead": f"{summary[0].upper()}{summary[1:]}.",
            "tone": "warn",
        }
    elif outcome.status in ("timed_out", "defaulted"):
        lead = _LEADS[outcome.status]
        if outcome.action == "escalate":
            lead += " The policy escalated: those it names were told that no decision came."
        return {"headline": "No decision", "lead": lead, "tone": "muted"}
    else:
        return None
    if done is not None and done.kind in ("recorded", "retry"):
        words["lead"] = "Your vote is recorded, and it decided this event. " + words["lead"]
    return words


def _why(outcome: Outcome) -> str:
    return f"Their reasons: {cut(outcome.reason, 300)}" if outcome.reason else "No reason given."


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
    context = {"attempted": None, "audit": [], "policy": None, **extra}
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
