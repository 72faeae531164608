"""The per-state index, damaged behind a running process's back: removed, pruned, planted
with stray names, or replaced by a link. The records are the truth: listings stay right
(or are rebuilt), answers still count, and nothing is written outside the store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import hitlkit as hitl


def ask(store: Path, count: int) -> list[str]:
    return [
        hitl.new_event(
            f"q{i}", data_type=int, store=str(store), serve=False, run_id="r1"
        ).request_id
        for i in range(count)
    ]


def ids(status: hitl.StatusFilter, store: Path) -> set[str]:
    return {e.request_id for e in hitl.list_events(status, store=str(store))}


def test_an_index_removed_while_running_is_rebuilt(tmp_path: Path) -> None:
    made = ask(tmp_path, 3)
    shutil.rmtree(tmp_path / "index")

    assert ids("all", tmp_path) == set(made)
    assert ids("pending", tmp_path) == set(made)


def test_a_lost_resolved_entry_is_written_again_by_the_process_that_wrote_it(
    tmp_path: Path,
) -> None:
    first, second = ask(tmp_path, 2)
    hitl.answer(first, 1, store=str(tmp_path))
    for entry in (tmp_path / "index" / "resolved" / "all").iterdir():
        entry.unlink()  # as a crash between the outcome and its entry leaves it

    assert ids("pending", tmp_path) == {second}
    assert ids("resolved", tmp_path) == {first}


def test_stray_names_in_the_index_are_left_out(tmp_path: Path) -> None:
    made = ask(tmp_path, 2)
    for stray in ("x", "9999999999999999-abcdefghij-zzzz", "-" * 200):
        (tmp_path / "index" / "pending" / "all" / stray).touch()

    assert ids("pending", tmp_path) == set(made)
    assert ids("resolved", tmp_path) == set()


def test_an_answer_counts_when_its_entry_cannot_be_written(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store = tmp_path / "store"
    first, _ = ask(store, 2)
    (store / "index" / "resolved").mkdir(exist_ok=True)
    (store / "index" / "resolved" / "all").symlink_to(outside)

    outcome = hitl.answer(first, 1, store=str(store))

    assert outcome is not None
    assert (outcome.status, outcome.value) == ("answered", 1)
    assert (
        hitl.new_event("q1", data_type=int, store=str(store), serve=False, run_id="r1").outcome()
        is None
    )
    with pytest.raises(hitl.CorruptRecordError, match="symbolic link"):  # said, not hidden
        ids("pending", store)
    assert list(outside.iterdir()) == []
