"""The audit trail: who resolved an event, when, through which channel, having seen what.

The resolution (answered, cancelled, timed out, defaulted) is the event's
outcome itself: written once, with who, when, the channel and `shown_sha256`,
so it is in the trail the moment it counts, with no second write. Refused
attempts (not assigned, already resolved) are entries of their own, each a
create-once key, at most `MAX_REFUSALS_PER_EVENT` per event, so nobody can grow
the store by knocking:

```
audit/<run8>/<request_id>-<UTC time>-refused-<random>.json
audit/<run8>/<request_id>-<UTC time>-notified-<random>.json
```

Each notification sent about the event is an entry too (`notified`: the
service in `via`; `opened` or `reminder`, `ok` or `failed`, and the target with
its credentials redacted, in `detail`).

`shown_sha256` is the SHA-256 of what the form showed (prompt and its rendering,
description, type and JSON Schema, canonical JSON): it proves later which
question an answer was given to.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from hitlkit._exceptions import CorruptRecordError
from hitlkit._policy import Delegation, StepTaken, Vote
from hitlkit._records import EventRecord, Outcome, outcome_key, policy_prefix, utcnow
from hitlkit._store import Store

__all__ = [
    "AUDIT_PREFIX",
    "MAX_REFUSALS_PER_EVENT",
    "AuditEntry",
    "audit_prefix",
    "read_audit",
    "record_notice",
    "record_refusal",
    "resolution_entry",
    "shown_digest",
]

AUDIT_PREFIX = "audit/"
MAX_REFUSALS_PER_EVENT = 20
AuditAction = Literal[
    "answered",
    "cancelled",
    "timed_out",
    "defaulted",
    "refused",
    "notified",
    "voted",
    "delegated",
    "escalated",
]


class AuditEntry(BaseModel):
    """One line of an event's audit trail."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    request_id: str
    action: AuditAction
    by: str | None = Field(description="the identity: token name, link identity, or user name")
    via: str = Field(
        description="the channel: form, api, cli, python, timeout; for notified, the service "
        "(json, mailto, slack, ...)"
    )
    at: AwareDatetime
    shown_sha256: str = Field(description="SHA-256 of the prompt, type and schema shown")
    detail: str | None = Field(
        default=None,
        description="refused: why (not_assigned, ...); notified: opened or reminder, ok or "
        "failed, and the target with its credentials redacted",
    )


def shown_digest(record: EventRecord) -> str:
    """SHA-256 (hex) of what a person was shown: the prompt (and how it is rendered), the
    description, the type and its JSON Schema."""
    shown = {
        "prompt": record.prompt,
        "prompt_type": record.prompt_type,
        "description": record.description,
        "data_type": record.data_type,
        "json_schema": record.json_schema,
    }
    canonical = json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def audit_prefix(request_id: str) -> str:
    """The key prefix of one event's audit entries."""
    return f"{AUDIT_PREFIX}{request_id[:8]}/{request_id}-"


def resolution_entry(outcome: Outcome) -> AuditEntry:
    """The trail's entry for an event's outcome."""
    return AuditEntry(
        request_id=outcome.request_id,
        action=outcome.status,
        by=outcome.by,
        via=outcome.via,
        at=outcome.at,
        shown_sha256=outcome.shown_sha256 or "",
    )


async def record_refusal(
    store: Store, record: EventRecord, *, by: str | None, via: str, detail: str
) -> None:
    """Append a refused attempt, unless the event has `MAX_REFUSALS_PER_EVENT` already."""
    keys = await store.list_async(audit_prefix(record.id))
    if sum("-refused-" in key for key in keys) >= MAX_REFUSALS_PER_EVENT:
        return
    await store.put_if_absent_async(*_new_entry(record, "refused", by, via, detail))


def record_notice(store: Store, record: EventRecord, *, via: str, detail: str) -> None:
    """Append that a notification about `record` was sent (or failed) through `via`.

    Blocking: notifications are delivered from threads of their own.
    """
    store.put_if_absent(*_new_entry(record, "notified", "hitlkit", via, detail))


async def read_audit(store: Store, request_id: str) -> list[AuditEntry]:
    """The audit entries of `request_id`, oldest first: refusals, notifications, the
    outcome, and under a policy each vote, delegation and escalation step."""
    keys, policy_keys = await asyncio.gather(
        store.list_async(audit_prefix(request_id)), store.list_async(policy_prefix(request_id))
    )
    entries = await _policy_entries(store, request_id, policy_keys)
    blobs = await asyncio.gather(
        store.get_async(outcome_key(request_id)), *(_entry_blob(store, key) for key in keys)
    )
    if blobs[0] is not None:
        with contextlib.suppress(ValidationError):
            entries.append(resolution_entry(Outcome.model_validate_json(blobs[0])))
        blobs = blobs[1:]
    for blob in blobs:
        if blob is None:
            continue
        try:
            entries.append(AuditEntry.model_validate_json(blob))
        except ValidationError:
            continue  # not written by hitlkit; the trail shows what it can read
    return sorted(entries, key=lambda e: e.at)


async def _policy_entries(store: Store, request_id: str, keys: list[str]) -> list[AuditEntry]:
    """The trail's entries for the votes, delegations and steps recorded under `keys`."""
    blobs = await asyncio.gather(*(_entry_blob(store, key) for key in keys))
    entries = []
    for key, blob in zip(keys, blobs, strict=True):
        kind = key[len(policy_prefix(request_id)) :].partition("/")[0]
        if blob is None:
            continue
        with contextlib.suppress(ValidationError):
            if kind == "votes":
                vote = Vote.model_validate_json(blob)
                place = f" in the place of {vote.seat}" if vote.seat else ""
                comment = f": {vote.comment}" if vote.comment else ""
                detail = f"{json.dumps(vote.value)}{place}{comment}"
                entry = _entry(request_id, "voted", vote.by, vote.via, vote.at, detail)
                entries.append(entry.model_copy(update={"shown_sha256": vote.shown_sha256 or ""}))
            elif kind == "delegations":
                handed = Delegation.model_validate_json(blob)
                detail = f"to {handed.to}: {handed.reason}"
                entries.append(
                    _entry(request_id, "delegated", handed.by, handed.via, handed.at, detail)
                )
            elif kind == "steps":
                step = StepTaken.model_validate_json(blob)
                detail = f"step {step.step + 1}: {', '.join(step.assignees)} may answer"
                entries.append(_entry(request_id, "escalated", "hitlkit", step.by, step.at, detail))
    return entries


def _entry(
    request_id: str, action: AuditAction, by: str, via: str, at: datetime, detail: str
) -> AuditEntry:
    return AuditEntry(
        request_id=request_id, action=action, by=by, via=via, at=at, shown_sha256="", detail=detail
    )


async def _entry_blob(store: Store, key: str) -> bytes | None:
    try:
        return await store.get_async(key)
    except CorruptRecordError:  # one bad entry (a folder, say) does not hide the others
        return None


def _new_entry(
    record: EventRecord, action: AuditAction, by: str | None, via: str, detail: str
) -> tuple[str, bytes]:
    """The key and body of a new entry about `record`, stamped now."""
    entry = AuditEntry(
        request_id=record.id,
        action=action,
        by=by,
        via=via,
        at=utcnow(),
        shown_sha256=shown_digest(record),
        detail=detail,
    )
    stamp = entry.at.strftime("%Y%m%dT%H%M%S%fZ")
    key = f"{audit_prefix(entry.request_id)}{stamp}-{entry.action}-{secrets.token_hex(4)}.json"
    return key, entry.model_dump_json().encode()
