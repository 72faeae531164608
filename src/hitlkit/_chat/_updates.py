"""Slack messages updated once their event ends: the outcome (who, when, what), no inputs.

Whichever process sees an event end (any replica of the app, in its chat driver)
replaces each message posted about it with `outcome_blocks`, through `chat.update`,
exactly once: the final update of a message is claimed create-once
(`_messages.claim_final`) before it is made, given back if Slack refuses it (a later
turn tries again), and the message's open entry is removed once it is made.

`drive_once` finds the events to finish from names alone: the open entries
(`chat/open/<entry name>--<slot>`) say each event's id and deadline, and the index's
`resolved/all/<entry name>` says whether an outcome was recorded. An event past its
deadline with no outcome gets its timeout outcome recorded first (`expire_event`: the
same create-once outcome any waiter or page would record), so every message shows
what the event's own record says.
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from hitlkit._chat import _slack
from hitlkit._chat._messages import (
    OPEN_PREFIX,
    OpenEntry,
    claim_final,
    claimed_at,
    close,
    open_entries,
    posted_messages,
    release_final,
    take_over,
)
from hitlkit._chat._mrkdwn import date_token, literal, prompt_mrkdwn
from hitlkit._exceptions import EventNotFoundError, HitlError
from hitlkit._index import RESOLVED, Names, entry_name
from hitlkit._ops import expire_event
from hitlkit._policy import PolicyState, Vote
from hitlkit._reading import load_event, load_outcome
from hitlkit._records import EventRecord, Outcome, is_approval, utcnow
from hitlkit._store import Store
from hitlkit._values import canonical_json

__all__ = ["drive_once", "finish", "outcome_blocks", "outcome_text"]

log = logging.getLogger("hitlkit.chat")

MAX_VALUE = 200
"""Characters of an answer shown in the updated message; the rest is cut."""
MAX_PROMPT = 2900
"""A section's text may hold 3000 characters."""
MAX_HEADER = 150
MAX_VOTES = 20
"""Votes listed one per line; more are counted."""
FINAL_ERRORS = frozenset(
    {"message_not_found", "channel_not_found", "cant_update_message", "edit_window_closed"}
)
"""Slack errors no retry mends: the message is left as it is, and no later turn tries."""
SLACK_TIMEOUT = 10
STALE_CLAIM = timedelta(minutes=10)
"""A final update claimed this long ago and still open was left by a process that
stopped (an update takes seconds at most: `SLACK_TIMEOUT`); the next turn makes it."""
READS_AT_MOST = 32
"""Open events whose resolved entries a turn reads one by one; with more, it lists them."""


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _date(moment: datetime) -> str:
    return date_token(moment, joined=" at ")


def _value(value: Any) -> str:
    """An answer, compact, cut and escaped."""
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, str):
        text = value
    else:
        text = canonical_json(value)
    return literal(_cut(text, MAX_VALUE))


def _answer(record: EventRecord, value: Any) -> str:
    """An answer as its type reads: an approval's as approve or reject."""
    if is_approval(record) and isinstance(value, dict) and "approved" in value:
        return "approve" if value["approved"] else "reject"
    return _value(value)


def _who(by: str | None) -> str:
    return literal(_cut(by or "someone", 100))


def _answered(record: EventRecord, outcome: Outcome) -> str:
    via = f" via {literal(outcome.via)}" if outcome.via else ""
    who = f"{_who(outcome.by)}{via} at {_date(outcome.at)}"
    if is_approval(record) and isinstance(outcome.value, dict):
        reason = outcome.value.get("reason")
        because = f"\n>{_value(reason)}" if isinstance(reason, str) and reason else ""
        if outcome.value.get("approved"):
            return f":white_check_mark: *Approved* by {who}{because}"
        return f":no_entry: *Rejected* by {who}{because}"
    if isinstance(outcome.value, bool):  # its message's buttons read Approve and Reject
        if outcome.value:
            return f":white_check_mark: *Approved* by {who}"
        return f":no_entry: *Rejected* by {who}"
    return f":white_check_mark: *Answered* {_value(outcome.value)} by {who}"


def _ended(record: EventRecord, outcome: Outcome | None) -> str:
    """The outcome line: what ended the event, who, when."""
    if outcome is None:
        return f":hourglass: *Expired* at {_date(record.deadline)} with no answer"
    if outcome.status == "cancelled":
        because = f": {literal(_cut(outcome.reason, 500))}" if outcome.reason else ""
        return f":x: *Cancelled* by {_who(outcome.by)} at {_date(outcome.at)}{because}"
    if outcome.status in ("timed_out", "defaulted"):
        line = f":hourglass: *Expired* at {_date(outcome.at)} with no answer"
        if outcome.action is not None:
            line += f"; timeout action: {literal(outcome.action)}"
        if outcome.status == "defaulted":
            line += f"; the default was used: {_value(outcome.value)}"
        if outcome.reason:
            line += f" ({literal(_cut(outcome.reason, 300))})"
        return line
    if outcome.decision is not None:
        yes_or_no = record.data_type == "bool" or is_approval(record)
        shown = "" if outcome.value is None or yes_or_no else f": {_value(outcome.value)}"
        return f"*Decision: {literal(outcome.decision)}*{shown} at {_date(outcome.at)}"
    return _answered(record, outcome)


def _votes(record: EventRecord, votes: tuple[Vote, ...]) -> str:
    lines = []
    for vote in votes[:MAX_VOTES]:
        seat = f" (for {_who(vote.seat)})" if vote.seat else ""
        comment = f": {literal(_cut(vote.comment, 200))}" if vote.comment else ""
        lines.append(
            f"• {_who(vote.by)}{seat}: {_answer(record, vote.value)} via {literal(vote.via)} "
            f"at {_date(vote.at)}{comment}"
        )
    if len(votes) > MAX_VOTES:
        lines.append(f"… and {len(votes) - MAX_VOTES} more")
    return "\n".join(lines)


def outcome_blocks(
    record: EventRecord, outcome: Outcome | None, *, state: PolicyState | None = None
) -> list[dict[str, Any]]:
    """The Block Kit message about `record` once it ended with `outcome` (`None`: its
    deadline passed and nothing was recorded): its name, prompt and outcome, no inputs.
    Under a policy, the decision and every vote counted (from `state` when the
    outcome carries none)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(record.name, MAX_HEADER)}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": prompt_mrkdwn(record.prompt, record.prompt_type, limit=MAX_PROMPT) or " ",
            },
        },
        {"type": "divider"},
        {"type": "section", "text": {"type": "mrkdwn", "text": _ended(record, outcome)}},
    ]
    votes = (outcome.votes if outcome is not None else None) or (state.votes if state else ())
    if state is not None and outcome is None:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": literal(state.summary)}]}
        )
    if votes:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*Votes*\n" + _votes(record, votes)},
            }
        )
    footer = f"hitlkit · event `{record.id}`"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    return blocks


def outcome_text(record: EventRecord, outcome: Outcome | None) -> str:
    """The message's plain text (what notifications and screen readers show)."""
    if outcome is None or outcome.status in ("timed_out", "defaulted"):
        ended = "expired with no answer"
    elif outcome.status == "cancelled":
        ended = f"cancelled by {outcome.by or 'someone'}"
    elif outcome.decision is not None:
        ended = f"decided: {outcome.decision}"
    else:
        ended = f"answered by {outcome.by or 'someone'}"
    return literal(_cut(f"{record.name}: {ended}", 300))


def _open_key(record: EventRecord, slot: str) -> str:
    return f"{OPEN_PREFIX}{entry_name(record)}--{slot}"


def _entry(record: EventRecord, slot: str) -> OpenEntry:
    deadline = math.ceil(record.deadline.timestamp())
    return OpenEntry(
        key=_open_key(record, slot), request_id=record.id, deadline=deadline, slot=slot
    )


async def finish(store: Store, request_id: str) -> int:
    """Update every message posted about `request_id` to its outcome, if the event ended
    (an outcome is recorded, or the deadline passed) and nobody else made the update;
    how many this call updated. A message Slack refuses to update is given back for a
    later call."""
    messages = await posted_messages(store, request_id)
    if not messages:
        return 0
    record = await load_event(store, request_id)
    outcome = await load_outcome(store, request_id)
    if outcome is None:
        if not record.is_expired():
            return 0
        outcome = await expire_event(store, record)
    client = _slack.client()
    blocks = outcome_blocks(record, outcome)
    text = outcome_text(record, outcome)
    updated = 0
    for message in messages:
        if not await claim_final(store, request_id, message.slot):
            # Made, or being made, by another turn or replica; a claim this old is one
            # whose maker stopped before closing its entry: one turn takes it over.
            at = await claimed_at(store, request_id, message.slot)
            if at is None or utcnow() - at <= STALE_CLAIM:
                continue
            if not await take_over(store, request_id, message.slot, at):
                continue
        try:
            await store.in_thread(
                client.chat_update, channel=message.channel, ts=message.ts, blocks=blocks, text=text
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) if exc.response is not None else ""
            if error in FINAL_ERRORS:
                log.warning(
                    "event %s: its Slack message in %s cannot be updated (%s); left as it is",
                    request_id,
                    message.channel,
                    error,
                )
                await close(store, _entry(record, message.slot))
                continue
            log.warning(
                "event %s: Slack refused to update its message in %s (%s); trying again soon",
                request_id,
                message.channel,
                error or exc,
            )
            await release_final(store, request_id, message.slot)
            continue
        except (SlackClientError, OSError) as exc:
            log.warning(
                "event %s: Slack was not reached to update its message (%s); trying again soon",
                request_id,
                exc,
            )
            await release_final(store, request_id, message.slot)
            continue
        except BaseException:
            await release_final(store, request_id, message.slot)
            raise
        await close(store, _entry(record, message.slot))
        updated += 1
    return updated


async def drive_once(store: Store, *, reads_at_most: int = READS_AT_MOST) -> int:
    """Finish the events of the open entries that have ended; how many messages were
    updated. Names alone say which: an entry past its deadline, or whose event has a
    resolved entry in the index. Up to `reads_at_most` open events, each one's resolved
    entry is read; beyond, `resolved/all` is listed across their names instead."""
    entries = await open_entries(store)
    if not entries:
        return 0
    now = utcnow().timestamp()
    names = {entry.key.removeprefix(OPEN_PREFIX).partition("--")[0]: entry for entry in entries}
    due_names = [name for name, entry in names.items() if entry.deadline <= now]
    others = sorted(name for name in names if name not in due_names)
    due_names += await _resolved(store, others, reads_at_most)
    updated = 0
    for request_id in dict.fromkeys(names[name].request_id for name in due_names):
        try:
            updated += await finish(store, request_id)
        except EventNotFoundError:
            # Its record is gone (pruned): nothing is left to show.
            for entry in entries:
                if entry.request_id == request_id:
                    await close(store, entry)
        except (HitlError, OSError) as exc:
            log.warning("event %s: its chat messages could not be updated: %s", request_id, exc)
    return updated


async def _resolved(store: Store, names: list[str], reads_at_most: int) -> list[str]:
    """Those of `names` (sorted) that have a resolved entry in the index."""
    if len(names) <= reads_at_most:
        found = await asyncio.gather(*(store.get_async(RESOLVED + name) for name in names))
        return [name for name, data in zip(names, found, strict=True) if data is not None]
    # Names sort newest first: list from just before the newest open event's on.
    created = int(names[0][:16])
    listed = Names(store, RESOLVED, f"{created - 1:016d}" if created else "")
    return [name for name in names if await listed.holds(name)]
