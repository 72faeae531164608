"""The per-state index, part of the store contract: listing pages newest first, filtered,
without reading every record, and staying right when writers die or race."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

import hitlkit as hitl
from hitlkit import Store
from hitlkit._index import entry_keys, entry_name
from hitlkit._listing import Page, list_page
from hitlkit._reading import StatusFilter, load_event
from hitlkit._records import EventRecord, Outcome, event_id, event_key, outcome_key, utcnow
from hitlkit._store._counting import CountingStore

__all__ = ["IndexContract"]


def page(store: Store, **options: object) -> Page:
    return asyncio.run(list_page(store, **options))  # type: ignore[arg-type]


def names(listed: Page) -> list[str]:
    return [state.record.name for state in listed.states]


def every_name(store: Store, status: StatusFilter = "pending", **filters: str) -> list[str]:
    """Every matching event's name, a page of 2 at a time."""
    found: list[str] = []
    cursor = None
    while True:
        listed = page(store, status=status, limit=2, cursor=cursor, **filters)
        found += names(listed)
        if listed.next_cursor is None:
            return found
        cursor = listed.next_cursor


def record_of(store: Store, request_id: str) -> EventRecord:
    return asyncio.run(load_event(store, request_id))


def raw_record(name: str, run_id: str = "r", *, age_seconds: float = 0) -> EventRecord:
    """An event record as a store holds it, written by the test rather than by hitlkit."""
    now = utcnow() - timedelta(seconds=age_seconds)
    return EventRecord(
        id=event_id("run", run_id, name),
        name=name,
        run_id=run_id,
        prompt="?",
        data_type="int",
        json_schema={"type": "integer"},
        created_at=now,
        deadline=now + timedelta(hours=1),
        timeout_seconds=3600,
        poll_interval_seconds=5,
    )


class IndexContract:
    """Listing events through the index, on every backend (`store` comes from the subclass)."""

    def test_pages_come_newest_first_filtered_with_a_cursor(self, store: Store) -> None:
        for i in range(5):
            hitl.new_event(f"a{i}", data_type=int, store=store, run_id="one")
        for i in range(3):
            hitl.new_event(f"b{i}", data_type=int, store=store, run_id="two", assignees=["ann"])
        hitl.new_event("c", data_type=int, store=store, run_id="two", assignees=["bob", "ann"])

        first = page(store, limit=4)
        assert names(first) == ["c", "b2", "b1", "b0"]
        assert first.next_cursor is not None
        rest = page(store, limit=10, cursor=first.next_cursor)
        assert names(rest) == ["a4", "a3", "a2", "a1", "a0"]
        assert rest.next_cursor is None
        assert every_name(store, run_id="one") == ["a4", "a3", "a2", "a1", "a0"]
        assert every_name(store, run_id="two") == ["c", "b2", "b1", "b0"]
        assert every_name(store, assignee="ann") == ["c", "b2", "b1", "b0"]
        assert every_name(store, assignee="bob") == ["c"]
        assert every_name(store, assignee="nobody") == []
        assert every_name(store, name="a3") == ["a3"]

    def test_states_follow_the_answers_whoever_wrote_them(self, store: Store) -> None:
        events = [hitl.new_event(f"e{i}", data_type=int, store=store, run_id="r") for i in range(4)]
        pending_before = every_name(store)
        # Answered and cancelled through the store, as another process would.
        hitl.answer(events[1].request_id, 1, store=store)
        hitl.cancel(events[2].request_id, store=store)

        assert pending_before == ["e3", "e2", "e1", "e0"]
        assert every_name(store) == ["e3", "e0"]
        assert every_name(store, "resolved") == ["e2", "e1"]
        assert every_name(store, "all") == ["e3", "e2", "e1", "e0"]
        assert every_name(store, "resolved", run_id="r") == ["e2", "e1"]

    def test_an_event_past_its_deadline_counts_as_resolved(self, store: Store) -> None:
        hitl.new_event("late", data_type=int, store=store, timeout_seconds=0.05)
        hitl.new_event("open", data_type=int, store=store)
        time.sleep(0.1)

        assert every_name(store) == ["open"]
        assert every_name(store, "resolved") == ["late"]
        assert every_name(store, "all") == ["open", "late"]

    def test_a_first_page_reads_only_what_it_shows(self, store: Store) -> None:
        for i in range(60):
            hitl.new_event(f"e{i:02d}", data_type=int, store=store, run_id="many")
        page(store, limit=1)  # the first listing of a store looks for events made before the index
        counting = CountingStore(store)  # another store object, as in another process

        first = page(counting, limit=5)

        assert names(first) == ["e59", "e58", "e57", "e56", "e55"]
        reads = counting.counts["get_async"] + counting.counts["get"]
        assert reads <= 2 * 16 + 1  # the records and outcomes of one batch, and the marker
        assert counting.counts["list_async"] == 0  # the index is listed, not the records

    def test_an_outcome_whose_writer_died_before_its_entries_is_found(self, store: Store) -> None:
        kept = hitl.new_event("kept", data_type=int, store=store, run_id="r")
        done = hitl.new_event("done", data_type=int, store=store, run_id="r")
        assert every_name(store) == ["done", "kept"]
        # The outcome is written, and its writer dies before the resolved entries.
        outcome = Outcome(
            request_id=done.request_id, status="answered", value=1, via="api", at=utcnow()
        )
        store.put_if_absent(outcome_key(done.request_id), outcome.model_dump_json().encode())
        assert every_name(store, "resolved") == []  # not yet found

        assert every_name(store) == ["kept"]  # met, left out, and its entries written

        assert every_name(store, "resolved") == ["done"]
        assert all(
            store.get(k) is not None
            for k in entry_keys(record_of(store, done.request_id), "resolved")
        )
        assert kept.request_id != done.request_id

    def test_entries_left_by_a_creation_that_lost_its_race_are_skipped(self, store: Store) -> None:
        winner = hitl.new_event("e", data_type=int, store=store, run_id="r")
        record = record_of(store, winner.request_id)
        # The loser indexed the event as created a moment later, then found the record there.
        loser = record.model_copy(update={"created_at": record.created_at + timedelta(seconds=1)})
        for key in entry_keys(loser, "pending"):
            store.put_if_absent(key, b"")

        assert every_name(store) == ["e"]
        assert entry_name(loser) != entry_name(record)

    def test_events_written_before_the_index_are_indexed_by_the_first_listing(
        self, store: Store
    ) -> None:
        for i in range(3):
            record = raw_record(f"old{i}", age_seconds=10 - i)
            store.put_if_absent(event_key(record.id), record.model_dump_json().encode())
        answered = raw_record("answered", age_seconds=20)
        store.put_if_absent(event_key(answered.id), answered.model_dump_json().encode())
        outcome = Outcome(
            request_id=answered.id, status="answered", value=2, via="api", at=utcnow()
        )
        store.put_if_absent(outcome_key(answered.id), outcome.model_dump_json().encode())

        assert every_name(store) == ["old2", "old1", "old0"]
        assert every_name(store, "resolved") == ["answered"]
        assert store.get("index/v1") is not None
        # A new event of a process that was restarted finds its record and its entries.
        assert (
            hitl.new_event("old1", data_type=int, store=store, run_id="r").request_id
            == raw_record("old1").id
        )

    def test_a_cursor_that_is_not_a_pages_is_refused(self, store: Store) -> None:
        with pytest.raises(ValueError, match="invalid cursor 'e3': expected the next_cursor"):
            page(store, cursor="e3")
