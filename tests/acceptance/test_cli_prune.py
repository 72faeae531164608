"""`hitl prune`, run as a user runs it, and a prune killed midway, on a real folder."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import hitlkit
from hitlkit import LocalStore
from hitlkit._records import utcnow
from hitlkit._retention import prune_events
from hitlkit._runtime import Runtime
from hitlkit._store._base import STORE_THREADS

if TYPE_CHECKING:
    from tests.acceptance.conftest import Hitl, HitlEnv, Spawn


def ask(env: HitlEnv, name: str, **options: object) -> str:
    event = hitlkit.new_event(
        name,
        data_type=int,
        run_id="r1",
        store=str(env.store),
        serve=False,
        **options,  # type: ignore[arg-type]
    )
    return event.request_id


def ids_listed(hitl: Hitl, status: str) -> set[str]:
    result = hitl("ls", "--status", status, "--json")
    assert result.code == 0, result.stderr
    return {event["request_id"] for event in json.loads(result.stdout)}


def test_a_dry_run_says_what_would_go_and_a_prune_removes_it(hitl: Hitl, hitl_env: HitlEnv) -> None:
    done = ask(hitl_env, "done")
    hitlkit.answer(done, 3, store=str(hitl_env.store))
    still_open = ask(hitl_env, "open", timeout_seconds=3600)
    time.sleep(1.2)  # the answer is more than a second old

    dry = hitl("prune", "--older-than", "1s", "--dry-run")

    assert dry.code == 0, dry.stderr
    header, row, summary = dry.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "RUN", "STATUS", "SINCE", "KEYS"]
    assert row.split()[:4] == [done, "done", "r1", "answered"]
    assert summary.startswith("Would prune 1 event (5 keys) older than 1s from file://")
    assert ids_listed(hitl, "all") == {done, still_open}

    pruned = hitl("prune", "--older-than", "1s")

    assert pruned.code == 0, pruned.stderr
    assert pruned.stdout.splitlines()[-1].startswith("Pruned 1 event (5 keys) older than 1s")
    assert ids_listed(hitl, "all") == {still_open}
    assert ids_listed(hitl, "pending") == {still_open}
    again = hitl("prune", "--older-than", "1s")
    assert again.stdout.startswith("Pruned 0 events (0 keys)")


def test_json_and_archive(hitl: Hitl, hitl_env: HitlEnv, tmp_path: Path) -> None:
    done = ask(hitl_env, "done")
    hitlkit.cancel(done, store=str(hitl_env.store))
    time.sleep(1.2)
    archive = tmp_path / "archive"

    result = hitl("prune", "--older-than", "1s", "--archive", str(archive), "--json")

    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["pruned"], report["keys"], report["dry_run"]) == (1, 5, False)
    assert report["archive"] == archive.resolve().as_uri()
    assert [(e["request_id"], e["status"]) for e in report["events"]] == [(done, "cancelled")]
    [folder] = [f for f in archive.iterdir() if not f.name.startswith(".")]  # the store's own
    assert folder.name.endswith(done)
    assert (folder / "outcomes" / done[:8] / f"{done}.json").is_file()


def test_an_archive_that_cannot_be_written_is_one_error_line_and_nothing_is_deleted(
    hitl: Hitl, hitl_env: HitlEnv, tmp_path: Path
) -> None:
    done = ask(hitl_env, "done")
    hitlkit.answer(done, 3, store=str(hitl_env.store))
    (tmp_path / "a-file").write_text("not a folder")
    time.sleep(1.2)

    result = hitl("prune", "--older-than", "1s", "--archive", str(tmp_path / "a-file" / "archive"))

    assert result.code == 1
    assert "error: store file://" in result.error_line()
    assert ids_listed(hitl, "all") == {done}


@pytest.mark.parametrize("given", ["30", "30x", "-1d", "0d", "1.5h", "thirty days"])
def test_a_bad_duration_names_the_forms_expected(hitl: Hitl, given: str) -> None:
    result = hitl("prune", "--older-than", given)

    assert result.code == 2
    line = result.error_line()
    assert "--older-than must be a positive whole number with a unit" in line
    assert "30d or 12h" in line
    assert repr(given) in line


@pytest.mark.parametrize("given", ["5219w", "99999999999w"])
def test_a_duration_beyond_a_century_is_refused_in_one_line(hitl: Hitl, given: str) -> None:
    result = hitl("prune", "--older-than", given)

    assert result.code == 2
    assert result.error_line() == (
        f"error: --older-than must be at most 100 years (36500d), got {given!r}"
    )


def test_the_age_is_required(hitl: Hitl) -> None:
    result = hitl("prune")
    assert result.code == 2
    assert "--older-than" in result.stderr


PAUSING_PRUNE = """
import asyncio, sys, time
from datetime import timedelta
from hitlkit import LocalStore
from hitlkit._records import utcnow
from hitlkit._retention import prune_events

class PausingStore(LocalStore):
    # Deletes as a local store does, and stops for good after a number of them: the
    # moment the test kills the process.
    deletes = 0

    def delete(self, key):
        PausingStore.deletes += 1
        if PausingStore.deletes > int(sys.argv[2]):
            print("paused", flush=True)
            time.sleep(3600)
        super().delete(key)

store = PausingStore(sys.argv[1])
asyncio.run(prune_events(store, timedelta(days=30), utcnow() + timedelta(days=31)))
print("finished", flush=True)
"""


@pytest.mark.parametrize("deletes", [3, 61, 150])
def test_a_prune_killed_midway_leaves_a_consistent_store_that_the_next_finishes(
    hitl_env: HitlEnv, spawn: Spawn, deletes: int
) -> None:
    store = LocalStore(hitl_env.store)
    made = []
    for i in range(30):
        request_id = ask(hitl_env, f"q{i}", assignees=["ann"], timeout_seconds=365 * 86400)
        if i % 3 == 0:  # an audit entry too
            with pytest.raises(hitlkit.NotAssignedError):
                hitlkit.Client(store=store, user="mallory").answer(request_id, 0)
        hitlkit.Client(store=store, user="ann").answer(request_id, i)
        made.append(request_id)
    kept = ask(hitl_env, "open", timeout_seconds=365 * 86400)
    keys_before = len(store.list(""))

    proc = spawn.python(PAUSING_PRUNE, str(hitl_env.store), str(deletes))
    proc.expect("paused")
    proc.signal(signal.SIGKILL)
    assert proc.finish() == -signal.SIGKILL

    with Runtime():  # a process that never read these events, as the app after a restart
        listing = hitlkit.list_events("all", store=str(hitl_env.store))
        assert listing.skipped == 0
        assert {e.request_id for e in hitlkit.list_events(store=str(hitl_env.store))} == {kept}
        left = [e for e in listing if e.request_id != kept]
        assert all(e.status == "answered" for e in left)  # never open again
    # Each of the prune's store threads may have been killed in the middle of its delete.
    assert len(store.list("")) <= keys_before + 1 - (deletes - STORE_THREADS)  # +1: index/v1

    asyncio.run(prune_events(store, timedelta(days=30), utcnow() + timedelta(days=31)))
    remaining = [key for key in store.list("") if kept not in key and key != "index/v1"]
    assert remaining == []
    assert hitlkit.get_event(kept, store=store).status == "pending"


def test_serve_refuses_a_bad_retention_before_it_starts(hitl: Hitl) -> None:
    result = hitl("serve", "--retention", "a month")

    assert result.code != 0
    assert "--retention (HITL_RETENTION) must be a positive whole number" in result.error_line()
    assert result.stdout == ""  # it did not announce an app
