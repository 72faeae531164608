"""Retention on a real folder and on real S3: what is pruned and when, what stays, the
archive, and what an interrupted or concurrent prune leaves.

Time is moved by giving the prune a `now` days ahead: the events are real, only the
clock the prune reads is not.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import hitlkit as hitl
from hitlkit import LocalStore, Store, StoreUnavailableError, _ops, _policy_ops
from hitlkit._chat import _messages
from hitlkit._index import entry_keys, entry_name
from hitlkit._notify import reminder_key
from hitlkit._reading import load_event
from hitlkit._records import event_key, outcome_key, utcnow
from hitlkit._retention import INTEGRATION_FOLDERS, PruneReport, prune_events
from hitlkit._runtime import Runtime
from hitlkit._store._object import ObjectStore

AGE = timedelta(days=30)
DAY = 86400.0


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "local":
        the_store = LocalStore(tmp_path / "store")
        yield the_store
        the_store.close()
    else:
        yield request.getfixturevalue("s3_store")


@pytest.fixture
def archive(store: Store, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    """An archive of the store's kind: a folder, or another prefix of the bucket."""
    if isinstance(store, LocalStore):
        the_archive: Store = LocalStore(tmp_path / "archive")
    else:
        the_archive = hitl.open_store(request.getfixturevalue("s3_url") + "-archive")
    yield the_archive
    the_archive.close()


def ask(store: Store, name: str, *, days: float = 365, **options: object) -> str:
    event = hitl.new_event(
        name,
        data_type=int,
        run_id="r1",
        store=store,
        serve=False,
        timeout_seconds=days * DAY,
        **options,  # type: ignore[arg-type]
    )
    return event.request_id


def prune(store: Store, days_ahead: float, **options: object) -> PruneReport:
    now = utcnow() + timedelta(days=days_ahead)
    return asyncio.run(prune_events(store, AGE, now, **options))  # type: ignore[arg-type]


def pruned(report: PruneReport) -> set[str]:
    return {event.request_id for event in report.events}


def keys_of(store: Store, request_id: str) -> list[str]:
    return [key for key in store.list("") if request_id in key]


def listed(store: Store, status: str = "all", **filters: str) -> set[str]:
    return {e.request_id for e in hitl.list_events(status, store=store, **filters)}  # type: ignore[arg-type]


def test_resolved_and_expired_events_go_after_the_age_and_open_ones_never(store: Store) -> None:
    answered = ask(store, "answered")  # answered at once, its deadline a year ahead
    hitl.answer(answered, 1, store=store)
    cancelled = ask(store, "cancelled")
    hitl.cancel(cancelled, store=store, reason="not needed")
    expired = ask(store, "expired", days=10)  # nobody answers
    still_open = ask(store, "open")  # created long ago, by then, but open a year

    assert prune(store, 29).events == []  # resolved 29 days ago: kept
    assert pruned(prune(store, 31)) == {answered, cancelled}
    assert pruned(prune(store, 39)) == set()  # 29 days past its deadline
    report = prune(store, 41)
    assert pruned(report) == {expired}
    assert [event.status for event in report.events] == ["expired"]

    for gone in (answered, cancelled, expired):
        assert keys_of(store, gone) == []
    assert listed(store) == {still_open}
    assert hitl.get_event(still_open, store=store).status == "pending"
    assert prune(store, 300).events == []  # open for a year: never pruned before its deadline


def test_a_dry_run_deletes_nothing_and_says_what_would_go(store: Store) -> None:
    answered = ask(store, "answered", assignees=["ann", "bob"])
    hitl.Client(store=store, user="ann").answer(answered, 1)
    listed(store)  # a first listing marks the store indexed (`index/v1`), as a prune does
    before = {key: store.get(key) for key in store.list("")}

    report = prune(store, 31, dry_run=True)

    assert pruned(report) == {answered}
    assert report.dry_run
    # Record, outcome, and entries: all, run, two assignees, resolved.
    assert report.events[0].keys == 7
    assert {key: store.get(key) for key in store.list("")} == before


def test_listings_no_longer_show_pruned_events(store: Store) -> None:
    gone = ask(store, "gone", assignees=["ann"])
    kept = ask(store, "kept", assignees=["ann"])
    for request_id in (gone, kept):  # audit entries and a reminder's marker for both
        with pytest.raises(hitl.NotAssignedError):
            hitl.Client(store=store, user="mallory").answer(request_id, 0)
        store.put_if_absent(reminder_key(request_id), b"{}")
    hitl.Client(store=store, user="ann").answer(gone, 1)
    kept_keys = keys_of(store, kept)

    prune(store, 31)

    assert keys_of(store, gone) == []
    assert keys_of(store, kept) == kept_keys  # the same run's folders hold both

    assert listed(store) == {kept}
    assert listed(store, "resolved") == set()
    assert listed(store, "pending", assignee="ann") == {kept}
    assert listed(store, "all", run_id="r1") == {kept}
    with pytest.raises(hitl.EventNotFoundError):
        hitl.get_event(gone, store=store)


def test_the_archive_holds_each_event_byte_for_byte_and_copying_back_restores_it(
    store: Store, archive: Store, tmp_path: Path
) -> None:
    request_id = ask(store, "approve", assignees=["ann"])
    with pytest.raises(hitl.NotAssignedError):  # a refusal: an audit entry
        hitl.Client(store=store, user="mallory").answer(request_id, 1)
    hitl.Client(store=store, user="ann").answer(request_id, 7)
    original = {key: store.get(key) for key in keys_of(store, request_id)}
    name = entry_name(asyncio.run(load_event(store, request_id)))

    prune(store, 31, archive=archive)

    assert keys_of(store, request_id) == []
    copied = {key.partition("/")[2]: archive.get(key) for key in archive.list(f"{name}/")}
    assert copied == original
    assert archive.list("") == [f"{name}/{key}" for key in sorted(original)]

    # Restoring is copying NAME/'s contents back: by hand for a folder, or key by key.
    if isinstance(store, LocalStore) and isinstance(archive, LocalStore):
        shutil.copytree(tmp_path / "archive" / name, tmp_path / "store", dirs_exist_ok=True)
    else:
        for key, data in copied.items():
            assert data is not None
            store.put_if_absent(key, data)
    event = hitl.get_event(request_id, store=store)
    assert (event.status, event.outcome and event.outcome.value) == ("answered", 7)
    assert listed(store, "resolved") == {request_id}
    assert listed(store, "pending", assignee="ann") == set()
    assert [entry.action for entry in hitl.Client(store=store).audit(request_id)] == [
        "refused",
        "answered",
    ]


def test_an_archive_that_fails_stops_the_prune_before_any_delete(
    store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    request_id = ask(store, "approve")
    hitl.answer(request_id, 7, store=store)
    listed(store)
    before = {key: store.get(key) for key in store.list("")}
    if isinstance(store, LocalStore):
        (tmp_path / "in-the-way").write_text("a file where the archive's folders would go")
        broken: Store = LocalStore(tmp_path / "in-the-way" / "archive")
    else:
        # The bucket refuses the archive's credentials.
        broken = ObjectStore(
            request.getfixturevalue("s3_url") + "-archive",
            config={"secret_access_key": "not-the-secret"},
            retry_config={"max_retries": 0},
        )

    with pytest.raises(StoreUnavailableError):
        prune(store, 31, archive=broken)

    assert {key: store.get(key) for key in store.list("")} == before


@pytest.mark.parametrize("done", range(8))
def test_a_prune_interrupted_after_any_key_is_finished_by_the_next(store: Store, done: int) -> None:
    request_id = ask(store, "approve", assignees=["ann"])
    with pytest.raises(hitl.NotAssignedError):
        hitl.Client(store=store, user="mallory").answer(request_id, 1)
    hitl.Client(store=store, user="ann").answer(request_id, 7)
    record = asyncio.run(load_event(store, request_id))
    pending = entry_keys(record, "pending")
    # The order `_retention` deletes in: assignees' entries, audit, record, outcome,
    # run entry, all-entry, and the resolved entry last.
    order = [
        pending[2],
        *store.list(f"audit/{request_id[:8]}/"),
        event_key(request_id),
        outcome_key(request_id),
        pending[1],
        pending[0],
        *entry_keys(record, "resolved"),
    ]
    assert len(order) == 7
    assert sorted(order) == sorted(keys_of(store, request_id))
    for key in order[:done]:  # the crash came after these
        store.delete(key)

    # Whatever is left lists without error, and never as open, for a process that
    # did not read the event before (one that did keeps its record a minute at most).
    with Runtime():
        assert request_id not in listed(store, "pending")
        assert request_id not in listed(store, "pending", assignee="ann")
        if done < 3:  # the record is still there
            assert hitl.get_event(request_id, store=store).status == "answered"
        else:
            with pytest.raises(hitl.EventNotFoundError):
                hitl.get_event(request_id, store=store)

    prune(store, 31)
    assert keys_of(store, request_id) == []


def test_prunes_at_once_are_safe(store: Store, archive: Store) -> None:
    made = [ask(store, f"q{i}") for i in range(6)]
    for request_id in made:
        hitl.answer(request_id, 1, store=store)
    now = utcnow() + timedelta(days=31)

    async def together() -> list[PruneReport]:
        return await asyncio.gather(
            *(prune_events(store, AGE, now, archive=archive) for _ in range(3))
        )

    asyncio.run(together())
    assert [key for key in store.list("") if not key.startswith("index/v1")] == []
    assert len({key.partition("/")[0] for key in archive.list("")}) == 6


def test_an_event_pruned_is_asked_again_by_a_program_restarted_with_its_run_id(
    store: Store,
) -> None:
    request_id = ask(store, "approve")
    hitl.answer(request_id, 7, store=store)
    prune(store, 31)

    again = ask(store, "approve")

    assert again == request_id  # the id is the run's and the name's
    assert hitl.get_event(again, store=store).status == "pending"
    assert listed(store, "pending") == {again}


def test_a_record_that_cannot_be_read_is_left_alone(store: Store) -> None:
    request_id = "0123456789abcdef01234567"
    store.put_if_absent(event_key(request_id), b"not json")
    store.put_if_absent(f"index/pending/all/9000000000000000-0000000001-{request_id}", b"")

    report = prune(store, 31)

    assert (report.events, report.skipped) == ([], 1)
    assert store.get(event_key(request_id)) == b"not json"


def test_an_event_whose_entries_were_lost_is_found_by_a_sweep(store: Store) -> None:
    request_id = ask(store, "approve")
    hitl.answer(request_id, 7, store=store)
    listed(store)  # the store is indexed (`index/v1`): from now on, entries are trusted
    for key in store.list("index/"):
        if request_id in key:
            store.delete(key)

    assert prune(store, 31).events == []
    assert pruned(prune(store, 31, sweep=True)) == {request_id}
    assert keys_of(store, request_id) == []


def test_the_public_call_takes_a_url_and_refuses_a_non_positive_age(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive duration"):
        hitl.prune(str(tmp_path / "s"), older_than=timedelta(0))
    report = hitl.prune(str(tmp_path / "s"), older_than=timedelta(days=1), dry_run=True)
    assert (report.events, report.dry_run) == ([], True)
    report = asyncio.run(hitl.prune.aio(str(tmp_path / "s"), older_than=timedelta(hours=1)))
    assert (report.events, report.dry_run) == ([], False)


def test_entries_of_a_creation_that_lost_its_race_go_and_the_event_stays(store: Store) -> None:
    request_id = ask(store, "open", assignees=["ann"])  # open for a year
    record = asyncio.run(load_event(store, request_id))
    own = entry_name(record)
    # A creator that lost the race a moment before asked with a deadline a day ahead.
    a_day = int((utcnow() + timedelta(days=1)).timestamp())
    lost = f"{int(own[:16]) + 1000:016d}-{a_day:010d}-{request_id}"
    for key in entry_keys(record, "pending"):
        store.put_if_absent(key.replace(own, lost), b"")
    listed(store)
    before = [key for key in store.list("") if lost not in key]

    assert prune(store, 29).events == []
    report = prune(store, 31)

    assert [(e.request_id, e.status, e.keys) for e in report.events] == [
        (request_id, "leftover", 4)  # all, run, ann's, and a resolved one if there were
    ]
    assert store.list("") == before
    assert hitl.get_event(request_id, store=store).status == "pending"
    assert listed(store, "pending", assignee="ann") == {request_id}


def test_a_record_too_big_to_read_is_skipped_and_the_others_are_pruned(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    kept, *others = [ask(store, name) for name in ("big", "one", "two")]
    for request_id in (kept, *others):
        hitl.answer(request_id, 7, store=store)
    listed(store)
    record = tmp_path / "store" / event_key(kept)
    record.write_bytes(record.read_bytes() + b" " * (2 * 1024 * 1024))  # over the read limit

    report = prune(store, 31)

    assert pruned(report) == set(others)
    assert report.skipped == 1
    assert record.exists()


def test_an_archive_holding_other_bytes_under_the_name_deletes_nothing(
    store: Store, archive: Store
) -> None:
    request_id = ask(store, "approve")
    hitl.answer(request_id, 7, store=store)
    name = entry_name(asyncio.run(load_event(store, request_id)))
    archive.put_if_absent(f"{name}/{event_key(request_id)}", b"junk")
    listed(store)  # the index's marker is written by the first listing
    before = {key: store.get(key) for key in store.list("")}

    with pytest.raises(StoreUnavailableError, match=r"already holds .* with other bytes"):
        prune(store, 31, archive=archive)

    assert {key: store.get(key) for key in store.list("")} == before
    # The same bytes there (an earlier, interrupted prune) are a copy: the prune goes on.
    archive.delete(f"{name}/{event_key(request_id)}")
    archive.put_if_absent(f"{name}/{event_key(request_id)}", before[event_key(request_id)] or b"")
    assert pruned(prune(store, 31, archive=archive)) == {request_id}


def test_an_events_policy_records_go_with_it_and_standing_approvals_stay(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "ann,bob")
    policy = hitl.Policy(
        quorum=hitl.Quorum(2, of=["ann", "bob", "cy"]), delegation=True, grant_scope="nightly"
    )
    request_id = ask(store, "approve", policy=policy, requested_by="ci")
    asyncio.run(
        _policy_ops.delegate(
            store,
            asyncio.run(load_event(store, request_id)),
            by="cy",
            to="dee",
            reason="away",
            via="python",
            proof="store",
        )
    )
    asyncio.run(_ops.answer_event(store, request_id, 7, by="ann", via="python", grant_seconds=DAY))
    hitl.Client(store=store, user="bob").answer(request_id, 7, grant_seconds=DAY)
    policy_keys = store.list(_policy_ops.policy_prefix(request_id))
    assert len(policy_keys) == 4  # two votes, one delegation and its delegate's claim
    grants = store.list(_policy_ops.GRANTS_PREFIX)
    assert len(grants) == 1

    # Record, outcome, entries (all, run, resolved, three assignees, the delegate), and the
    # policy's.
    assert prune(store, 31, dry_run=True).events[0].keys == 9 + len(policy_keys)
    assert pruned(prune(store, 31)) == {request_id}
    assert keys_of(store, request_id) == []
    assert store.list("policy/") == []
    # The standing approval outlives the event that made it, until it expires.
    assert store.list(_policy_ops.GRANTS_PREFIX) == grants


def test_an_events_chat_messages_go_with_it_and_anothers_stay(store: Store, archive: Store) -> None:
    request_id = ask(store, "approve")
    other_id = ask(store, "other")
    for one in (request_id, other_id):
        record = asyncio.run(load_event(store, one))
        for target in ("slack-app://#a", "slack-app://#b"):
            _messages.save_posted(
                store, record, "slack", target, channel="C1", ts=f"1.{target[-1]}"
            )
    slot = _messages.slot_of("slack", "slack-app://#a")
    assert asyncio.run(_messages.claim_final(store, request_id, slot))
    hitl.Client(store=store).answer(request_id, 7)
    chat_keys = [key for key in keys_of(store, request_id) if key.startswith("chat/")]
    assert len(chat_keys) == 5  # two messages, their two open entries, one final update

    report = prune(store, 31, archive=archive)

    assert pruned(report) == {request_id}
    assert report.events[0].keys == 5 + len(chat_keys)  # record, outcome, three entries
    assert keys_of(store, request_id) == []
    assert sorted(e.request_id for e in asyncio.run(_messages.open_entries(store))) == [
        other_id,
        other_id,
    ]
    assert len(store.list(f"chat/{other_id[:8]}/{other_id}/")) == 2
    archived = {key.partition("/")[2] for key in archive.list("")}
    assert set(chat_keys) <= archived
    assert not [key for key in archived if other_id in key]


def test_an_events_integration_records_go_with_it_and_anothers_stay(store: Store) -> None:
    request_id = ask(store, "approve")
    other_id = ask(store, "other")
    for one in (request_id, other_id):
        for folder in INTEGRATION_FOLDERS:
            assert store.put_if_absent(f"{folder}{one}/a1b2c3.json", b"{}")
    hitl.answer(request_id, 7, store=store)

    report = prune(store, 31)

    assert pruned(report) == {request_id}
    assert report.events[0].keys == 5 + len(INTEGRATION_FOLDERS)  # record, outcome, entries
    assert keys_of(store, request_id) == []
    assert len([key for key in store.list("temporal/") if other_id in key]) == 3
