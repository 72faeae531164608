"""How the `hitl` command shows events: tables, details, durations and values.

Plain functions from data to Rich renderables or text, so the commands in
`_cli.py` stay short. Output to a pipe or file gets no colour and no
wrapping, so scripts and tests read whole lines.

Everything shown that came from a store or an app (names, prompts, values,
who answered and why) passes through `printable` first: a control character
in it would otherwise reach the terminal, where an escape sequence can rewrite
the screen, set the window title or fill the clipboard (OSC 52). And it goes
into Rich as `Text`, never as a string, which Rich would read as markup.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from rich.cells import cell_len, set_cell_size
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from hitlkit._audit import AuditEntry
from hitlkit._client import EventInfo
from hitlkit._exceptions import UnsupportedTypeError
from hitlkit._policy import Vote
from hitlkit._printable import printable
from hitlkit._records import Outcome
from hitlkit._values import adapter_of

__all__ = [
    "answer_line",
    "audit_rows",
    "event_details",
    "event_table",
    "format_age",
    "format_deadline",
    "format_time",
    "format_value",
    "policy_rows",
    "printable",
    "show",
    "terminal_width",
]

PROMPT_EXCERPT = 60
MIN_PROMPT_EXCERPT = 12
_GAP = 2
_STATUS_STYLES = {
    "pending": "yellow",
    "expired": "magenta",
    "answered": "green",
    "defaulted": "cyan",
    "timed_out": "red",
    "cancelled": "red",
}


def terminal_width(stream: TextIO | None = None) -> int | None:
    """The width of the terminal on `stream` (stdout), or `None` when it is not one."""
    stream = stream or sys.stdout
    return Console(file=stream).width if stream.isatty() else None


def show(renderable: RenderableType, stream: TextIO | None = None) -> None:
    """Print `renderable`: styled on a terminal, plain unwrapped lines elsewhere."""
    stream = stream or sys.stdout
    if stream.isatty():
        Console(file=stream, highlight=False).print(renderable)
        return
    # Wide enough that nothing wraps; tables still size to their content.
    plain = Console(file=stream, highlight=False, color_system=None, width=100_000)
    with plain.capture() as captured:
        plain.print(renderable)
    stream.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    stream.flush()


def format_duration(seconds: float) -> str:
    """A short duration: "45s", "3m", "2h", "1h30m", "3d"."""
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 10 * 3600:
        hours, minutes = divmod(s // 60, 60)
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    if s < 2 * 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def format_age(created_at: datetime, now: datetime) -> str:
    """How long ago, e.g. "3m"."""
    return format_duration((now - created_at).total_seconds())


def format_deadline(deadline: datetime, now: datetime) -> str:
    """Time to the deadline, e.g. "in 57m", or since it passed, e.g. "5m ago"."""
    left = (deadline - now).total_seconds()
    return f"in {format_duration(left)}" if left > 0 else f"{format_duration(-left)} ago"


def format_time(moment: datetime, now: datetime) -> str:
    """An absolute UTC time with its distance from now."""
    stamp = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    if moment > now:
        return f"{stamp} ({format_deadline(moment, now)})"
    return f"{stamp} ({format_age(moment, now)} ago)"


def format_value(value: Any) -> str:
    """An answer as JSON, safe to print: `5`, `true`, `"text"`."""
    return printable(json.dumps(value, ensure_ascii=False))


def answer_line(outcome: Outcome, now: datetime) -> str:
    """A recorded answer in a line: its value, who gave it, when and through which channel."""
    return (
        f"{format_value(outcome.value)} by {printable(outcome.by or '-')} "
        f"at {format_time(outcome.at, now)} via {printable(outcome.via)}"
    )


def _excerpt(prompt: str, limit: int) -> str:
    text = prompt.strip()
    first_line = printable(text.splitlines()[0]) if text else ""
    if cell_len(first_line) > limit or first_line != text:
        return set_cell_size(first_line, limit - 1).rstrip() + "…"
    return first_line


def _status(status: str) -> Text:
    return Text(status, style=_STATUS_STYLES.get(status, ""))


def event_table(events: Sequence[EventInfo], now: datetime, width: int | None = None) -> Table:
    """One row per event: id, name, run, type, status, age, deadline, prompt.

    Within `width` columns, the prompt is cut short, or left out, so that rows
    stay on one line.
    """
    headers = ("ID", "NAME", "RUN", "TYPE", "STATUS", "AGE", "DEADLINE")
    rows = [
        (
            printable(e.request_id),
            printable(e.name),
            printable(e.run_id),
            printable(e.data_type),
            printable(e.status),
            format_age(e.created_at, now),
            "-" if e.outcome is not None else format_deadline(e.deadline, now),
        )
        for e in events
    ]
    limit = PROMPT_EXCERPT
    if width is not None:
        used = sum(
            max(cell_len(c) for c in column) + _GAP for column in zip(headers, *rows, strict=True)
        )
        limit = min(limit, width - used)
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, _GAP, 0, 0))
    for header in headers:
        # A cut-off id is useless, so the id column never shrinks.
        table.add_column(header, no_wrap=True, min_width=24 if header == "ID" else None)
    with_prompt = limit >= MIN_PROMPT_EXCERPT
    if with_prompt:
        table.add_column("PROMPT", no_wrap=True, overflow="ellipsis")
    for e, row in zip(events, rows, strict=True):
        cells = [Text(cell) for cell in row]
        cells[4] = _status(row[4])
        if with_prompt:
            cells.append(Text(_excerpt(e.prompt, limit)))
        table.add_row(*cells)
    return table


def event_details(event: EventInfo, now: datetime, audit: Sequence[AuditEntry] = ()) -> Table:
    """Every field of one event, then its outcome when it has one, then its audit trail."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    rows: list[tuple[str, str | Text]] = [
        ("id", _text(event.request_id)),
        ("name", _text(event.name)),
        ("run", _text(event.run_id)),
        ("scope", _text(event.scope)),
        ("type", _text(event.data_type)),
        ("expects", _text(_expects(event))),
        ("prompt", Text(printable(event.prompt, multiline=True))),
        ("created", format_time(event.created_at, now)),
        ("deadline", format_time(event.deadline, now)),
        ("timeout", format_duration(event.timeout_seconds)),
    ]
    if event.form_url:
        rows.append(("form", _text(event.form_url)))
    if event.assignees is not None:
        rows.append(("assignees", Text(", ".join(printable(a) for a in event.assignees))))
    if event.version > 1 or event.previous_id:
        rows.append(("version", _text(str(event.version))))
    if event.previous_id:
        rows.append(("previous", _text(event.previous_id)))
    rows.append(("status", _status(printable(event.status))))
    rows.extend(policy_rows(event, now))
    if event.outcome is not None:
        rows.extend(_outcome_rows(event.outcome, now))
    rows.extend(audit_rows(audit))
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def policy_rows(event: EventInfo, now: datetime) -> list[tuple[str, str | Text]]:
    """The event's policy, where it stands, and each vote, delegation, step and grant."""
    if event.policy is None:
        return []
    rows: list[tuple[str, str | Text]] = [("policy", _text(event.policy.describe()))]
    if event.requested_by:
        rows.append(("requested by", _text(event.requested_by)))
    state = event.policy_state
    if state is None:
        return rows
    rows.append(("state", _text(state.summary)))
    if state.may_answer is not None and event.outcome is None:
        rows.append(("may answer", _text(", ".join(state.may_answer) or "no one")))
    rows.extend(("vote", _text(_vote_line(vote, now))) for vote in state.votes)
    for d in state.delegations:
        line = f"{d.by} to {d.to} at {format_time(d.at, now)}: {d.reason}"
        rows.append(("delegated", _text(line)))
    for step in state.steps:
        line = f"step {step.step + 1} at {format_time(step.at, now)}: {', '.join(step.assignees)}"
        rows.append(("escalated", _text(line)))
    if state.grant is not None:
        g = state.grant
        line = (
            f"standing approval {g.id} of {g.by} (from event {g.source}), "
            f"until {format_time(g.expires_at, now)}"
        )
        rows.append(("grant", _text(line)))
    return rows


def _vote_line(vote: Vote, now: datetime) -> str:
    """A vote in a line: who (in whose place), what, when, how proven, and the comment."""
    seat = f" (in place of {vote.seat})" if vote.seat else ""
    line = (
        f"{vote.by}{seat}: {json.dumps(vote.value, ensure_ascii=False)} at "
        f"{format_time(vote.at, now)} via {vote.via} ({vote.proof})"
    )
    if vote.comment:
        line += f": {vote.comment}"
    return line


def _expects(event: EventInfo) -> str:
    """The answer type in words: "an integer", "Review: approved (yes/no), ..."."""
    try:
        return adapter_of(event).expected
    except UnsupportedTypeError:
        return event.data_type


def audit_rows(audit: Sequence[AuditEntry]) -> list[tuple[str, str | Text]]:
    """One `audit` row per entry: when, what, who, through which channel, the shown hash."""
    rows: list[tuple[str, str | Text]] = []
    for entry in audit:
        what = f"{entry.action} ({entry.detail})" if entry.detail else entry.action
        line = (
            f"{entry.at.isoformat(timespec='seconds')} {what} by {entry.by or '-'} via {entry.via}"
        )
        if entry.shown_sha256:  # delegations and escalation steps show nothing
            line += f", shown sha256 {entry.shown_sha256}"
        rows.append(("audit", _text(line)))
    return rows


def _outcome_rows(outcome: Outcome, now: datetime) -> list[tuple[str, str | Text]]:
    rows: list[tuple[str, str | Text]] = []
    if outcome.status in ("answered", "defaulted"):
        rows.append(("value", Text(format_value(outcome.value))))
    rows.append(("by", _text(outcome.by or "-")))
    rows.append(("via", _text(outcome.via)))
    rows.append(("at", format_time(outcome.at, now)))
    if outcome.decision:
        rows.append(("decision", _text(outcome.decision)))
    if outcome.action:
        rows.append(("at deadline", _text(outcome.action)))
    if outcome.reason:
        rows.append(("reason", _text(outcome.reason)))
    return rows


def _text(stored: str) -> Text:
    """Stored text as a Rich cell: control characters escaped, no markup read."""
    return Text(printable(stored))
