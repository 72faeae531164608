"""Chat messages posted about events, kept so that any app replica can update them later.

A chat message that can be changed after it is posted (Slack's) is recorded beside
the event, and an open entry names it until its final update:

```
chat/<run8>/<id>/<platform>-<k>.json      where it was posted: channel, ts (a PostedMessage)
chat/<run8>/<id>/<platform>-<k>.final     create-once: the final update is someone's to make
chat/<run8>/<id>/<platform>-<k>.final-<t> create-once: the claim made at <t> (µs) was taken over
chat/open/<entry name>--<platform>-<k>    empty; gone after the final update
```

`<k>` is 12 hex digits of the SHA-256 of the notify URL, so one event posted to two
channels has two messages, and a retry of the same post finds the first. `<entry name>`
is the index's (`hitlkit._index.entry_name`): it holds the event's id and deadline, so
a replica finds the messages to update by listing names, with no record read.
The channel and timestamp are not secrets; the notify URL itself is never stored.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ValidationError

from hitlkit._index import entry_name, is_entry_name, name_deadline
from hitlkit._records import EventRecord, utcnow
from hitlkit._store import Store

__all__ = [
    "CHAT_PREFIX",
    "OPEN_PREFIX",
    "OpenEntry",
    "PostedMessage",
    "claim_final",
    "claimed_at",
    "close",
    "final_claimed",
    "open_entries",
    "posted_message",
    "posted_messages",
    "release_final",
    "save_posted",
    "slot_of",
    "take_over",
]

CHAT_PREFIX = "chat/"
OPEN_PREFIX = "chat/open/"

Platform = Literal["slack"]


class PostedMessage(BaseModel):
    """Where a message about an event was posted."""

    platform: Platform
    channel: str
    ts: str
    """The platform's id of the message (Slack: its timestamp)."""
    posted_at: datetime
    slot: str
    """`<platform>-<k>`: which of the event's messages this is."""


class OpenEntry(BaseModel):
    """A message still to be updated when its event ends."""

    key: str
    request_id: str
    deadline: int
    """The event's deadline, in epoch seconds (rounded up)."""
    slot: str


def slot_of(platform: Platform, target: str) -> str:
    """The slot of the message posted to the notify URL `target`."""
    return f"{platform}-{hashlib.sha256(target.encode()).hexdigest()[:12]}"


def _folder(request_id: str) -> str:
    return f"{CHAT_PREFIX}{request_id[:8]}/{request_id}/"


def save_posted(
    store: Store, record: EventRecord, platform: Platform, target: str, *, channel: str, ts: str
) -> PostedMessage:
    """Record that a message about `record` was posted to `target` (first post wins: a retry
    keeps the first), and open its entry. Blocking: for the outbox's thread."""
    slot = slot_of(platform, target)
    posted = PostedMessage(platform=platform, channel=channel, ts=ts, posted_at=utcnow(), slot=slot)
    key = f"{_folder(record.id)}{slot}.json"
    if not store.put_if_absent(key, posted.model_dump_json().encode()):
        existing = _parse(store.get(key))
        posted = existing or posted
    store.put_if_absent(f"{OPEN_PREFIX}{entry_name(record)}--{slot}", b"", durable=False)
    return posted


def _parse(data: bytes | None) -> PostedMessage | None:
    if data is None:
        return None
    try:
        return PostedMessage.model_validate_json(data)
    except ValidationError:
        return None  # a damaged record: its message is left as it is


def posted_message(store: Store, request_id: str, slot: str) -> PostedMessage | None:
    """The message in `slot` of `request_id`, if posted. Blocking: for the outbox's thread."""
    return _parse(store.get(f"{_folder(request_id)}{slot}.json"))


async def posted_messages(store: Store, request_id: str) -> list[PostedMessage]:
    """The messages posted about `request_id`, in slot order."""
    folder = _folder(request_id)
    keys = sorted(k for k in await store.list_async(folder) if k.endswith(".json"))
    found = [_parse(await store.get_async(key)) for key in keys]
    return [posted for posted in found if posted is not None]


async def open_entries(store: Store) -> list[OpenEntry]:
    """The messages whose final update has not been made, from their names alone."""
    entries = []
    for key in await store.list_async(OPEN_PREFIX):
        name, _, slot = key.removeprefix(OPEN_PREFIX).partition("--")
        if not (is_entry_name(name) and slot):
            continue  # not an entry of ours
        entries.append(
            OpenEntry(key=key, request_id=name[-24:], deadline=name_deadline(name), slot=slot)
        )
    return entries


async def claim_final(store: Store, request_id: str, slot: str) -> bool:
    """Take the final update of a message: true for exactly one caller, whoever asks."""
    marker = f'{{"at": "{utcnow().isoformat()}"}}'.encode()
    return await store.put_if_absent_async(f"{_folder(request_id)}{slot}.final", marker)


async def claimed_at(store: Store, request_id: str, slot: str) -> datetime | None:
    """When the final update of a message was claimed; `None` if it is not (or the
    claim cannot be read)."""
    data = await store.get_async(f"{_folder(request_id)}{slot}.final")
    if data is None:
        return None
    try:
        return datetime.fromisoformat(json.loads(data)["at"])
    except (ValueError, KeyError, TypeError):
        return None


async def final_claimed(store: Store, request_id: str, slot: str) -> bool:
    """Whether someone took the final update of a message (it shows, or will show, the end)."""
    return await store.get_async(f"{_folder(request_id)}{slot}.final") is not None


async def take_over(store: Store, request_id: str, slot: str, claimed: datetime) -> bool:
    """Take the final update of a message from a claim made at `claimed` whose maker
    stopped before making it: true for exactly one caller per such claim (a create-once
    key names the claim it replaces), who then holds a claim of its own."""
    stamp = int(claimed.timestamp() * 1_000_000)
    marker = f'{{"at": "{utcnow().isoformat()}"}}'.encode()
    if not await store.put_if_absent_async(f"{_folder(request_id)}{slot}.final-{stamp}", marker):
        return False
    await release_final(store, request_id, slot)
    return await claim_final(store, request_id, slot)


async def release_final(store: Store, request_id: str, slot: str) -> None:
    """Give a claimed final update back (it failed), so that a later turn makes it."""
    await store.delete_async(f"{_folder(request_id)}{slot}.final")


async def close(store: Store, entry: OpenEntry) -> None:
    """Remove a message's open entry, once its final update is made."""
    await store.delete_async(entry.key)
