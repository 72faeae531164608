"""`hitl doctor`: look at every record in a store and name the ones that cannot be read.

Listing events skips a bad entry with a warning and a count, so that one bad
file hides nothing else; this says which entries they are, and why. It also
checks that the store answers, that a local folder takes writes, whether
killed writers left temporary files behind, and what modes the folder's files
have: a store made before hitlkit made them private keeps its modes, and this
says which of them every user of the machine can read or write. With a Slack bot
token (`HITL_SLACK_BOT_TOKEN`), it asks Slack whether the token works (`auth.test`),
and warns when the signing secret that `/slack/interact` needs is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from hitlkit import _config, _reading
from hitlkit._exceptions import (
    ConfigurationError,
    CorruptRecordError,
    EventNotFoundError,
    StoreUnavailableError,
)
from hitlkit._records import EVENTS_PREFIX, OUTCOMES_PREFIX, event_key, id_of_key
from hitlkit._store import LocalStore, Store
from hitlkit._store._base import error_cause
from hitlkit._store._folder import Folder
from hitlkit._store._local import _STALE_TMP_SECONDS, _TMP

__all__ = ["Finding", "Report", "examine"]

READS_AT_ONCE = 32


@dataclass(frozen=True)
class Finding:
    """One thing found: where (a store key, or "" for the store itself) and what."""

    key: str
    reason: str


@dataclass
class Report:
    """What `examine` found. `problems` make `hitl doctor` fail; `notes` do not."""

    store: str
    records: int = 0
    problems: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing is wrong."""
        return not self.problems


async def examine(store: Store) -> Report:
    """Read every event record and outcome in `store`; report what cannot be read.

    A store that does not answer is one problem, and nothing more of it is checked.
    """
    report = Report(store.url)
    await _check_slack(report)
    try:
        listed = [await store.list_async(prefix) for prefix in (EVENTS_PREFIX, OUTCOMES_PREFIX)]
    except StoreUnavailableError as exc:
        advice = f"; {exc.hint}" if exc.hint else ""
        report.problems.append(Finding("", f"the store cannot be used: {exc.cause}{advice}"))
        return report
    keys = [key for keys in listed for key in keys]
    if isinstance(store, LocalStore):
        _check_folder(store, report)
    gate = asyncio.Semaphore(READS_AT_ONCE)
    findings = await asyncio.gather(*(_check_key(store, key, set(keys), gate) for key in keys))
    report.records = len(keys)
    report.problems.extend(f for f in findings if f is not None)
    return report


async def _check_key(
    store: Store, key: str, keys: set[str], gate: asyncio.Semaphore
) -> Finding | None:
    request_id = id_of_key(key)
    if request_id is None:
        return Finding(key, "not a record hitlkit writes (expected PREFIX/RUN/ID.json)")
    async with gate:
        try:
            if key.startswith(EVENTS_PREFIX):
                await _reading.load_event(store, request_id)
            else:
                await _reading.load_outcome(store, request_id)
        except CorruptRecordError as exc:
            return Finding(key, exc.reason)
        except EventNotFoundError:
            return Finding(key, "listed, but gone when read")
        except StoreUnavailableError as exc:
            return Finding(key, f"could not be read: {exc.cause}")
    if key.startswith(OUTCOMES_PREFIX) and event_key(request_id) not in keys:
        return Finding(key, "an outcome whose event record is missing")
    return None


SLACK = "Slack (HITL_SLACK_BOT_TOKEN)"


async def _check_slack(report: Report) -> None:
    """With a bot token: does Slack take it (`auth.test`)? Is the signing secret there?
    The token itself is never shown."""
    try:
        token = _config.slack_bot_token()
        if token is None:
            return
        api_url = _config.slack_api_url()
        _config.slack_users()  # the app refuses to start with one that cannot be read
        _config.slack_email_domains()
        _config.slack_app_token()
    except ConfigurationError as exc:
        report.problems.append(Finding("", f"{SLACK}: {exc}"))
        return
    if _config.slack_signing_secret() is None:
        report.notes.append(
            Finding(
                "",
                f"{SLACK}: HITL_SLACK_SIGNING_SECRET is not set, so /slack/interact takes "
                "no answers (Socket Mode, with HITL_SLACK_APP_TOKEN, needs none)",
            )
        )
    try:
        from slack_sdk.errors import SlackApiError, SlackClientError
    except ImportError:
        report.problems.append(
            Finding("", f"{SLACK}: slack-sdk is not installed: pip install 'hitlkit[slack]'")
        )
        return
    from hitlkit._chat._slack import client as slack_client

    client = slack_client()
    url = _without_credentials(api_url)
    try:
        answer = await asyncio.to_thread(client.auth_test)
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else None
        report.problems.append(Finding("", f"{SLACK}: auth.test at {url} failed: {error}"))
        return
    except (SlackClientError, OSError) as exc:
        report.problems.append(
            Finding("", f"{SLACK}: auth.test at {url} could not be made: {error_cause(exc)}")
        )
        return
    team = answer.get("team")
    user = answer.get("user")
    who = f" (bot {user} in {team})" if team and user else ""
    report.notes.append(Finding("", f"{SLACK}: auth.test at {url} ok{who}"))


def _without_credentials(url: str) -> str:
    """`url` with any `user:password@` taken out, for showing."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _check_folder(store: LocalStore, report: Report) -> None:
    """A local folder: does it take a write, and did killed writers leave files behind?

    The temporary folder is reached as the store reaches it, following no link: a
    `.tmp` planted as a link would have this write outside the store, and report a
    store that refuses every write as healthy.
    """
    if not store.root.is_dir():
        report.notes.append(Finding("", "the store folder does not exist yet (no event so far)"))
        return
    _check_modes(store, report)
    try:
        tmp = Folder.walk(store._base, [_TMP], f"{_TMP}/", create=store._modes)
        assert tmp is not None  # made where missing
        with tmp:
            _probe_write(tmp.fd)
            stale = _stale_temp_files(tmp.fd)
    except CorruptRecordError as exc:
        report.problems.append(Finding(f"{_TMP}/", f"the store takes no writes: {exc.reason}"))
        return
    except OSError as exc:
        report.problems.append(Finding("", f"the store folder takes no writes: {error_cause(exc)}"))
        return
    if stale:
        report.notes.append(
            Finding(
                f"{_TMP}/",
                f"{stale} temporary file{'' if stale == 1 else 's'} left by writers that "
                "stopped midway; harmless, and removed by the next write",
            )
        )


def _check_modes(store: LocalStore, report: Report) -> None:
    """Count the folder's modes; what every user may write is a problem, read a note."""
    modes = store.file_modes()
    counted = ", ".join(f"{count} {kind}" for kind, count in sorted(modes.items()))
    report.notes.append(Finding("", f"modes: {counted}"))
    readable = sum(n for kind, n in modes.items() if _others(kind) & 0o4)
    writable = sum(n for kind, n in modes.items() if _others(kind) & 0o2)
    fix = f"`chmod -R o-rwx {store.root}` makes them private"
    if writable:
        report.problems.append(
            Finding("", f"{_entries(writable)} any user may write, and so answer: {fix}")
        )
    if readable:
        report.notes.append(
            Finding(
                "",
                f"{_entries(readable)} any user may read (a store made before "
                f"hitlkit made new ones private): {fix}",
            )
        )


def _entries(count: int) -> str:
    return f"{count} file{'' if count == 1 else 's'} or folder{'' if count == 1 else 's'}"


def _others(kind: str) -> int:
    """The permission bits for others in a `file_modes` key such as "file 0644"."""
    return int(kind.rpartition(" ")[2], 8) & 0o7


def _probe_write(folder: int) -> None:
    """Write, flush and remove a new file in the open folder `folder`."""
    name = f"doctor-{os.getpid()}-{os.urandom(4).hex()}.part"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(name, flags, 0o600, dir_fd=folder)
    try:
        os.write(fd, b"hitl doctor: a write test\n" * 40)
        os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(name, dir_fd=folder)


def _stale_temp_files(folder: int) -> int:
    cutoff = time.time() - _STALE_TMP_SECONDS
    count = 0
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.name.endswith(".part") and entry.is_file(follow_symlinks=False):
                    count += entry.stat(follow_symlinks=False).st_mtime < cutoff
    return count
