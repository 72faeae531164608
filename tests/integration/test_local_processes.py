"""The local folder across real processes: wake-ups, atomic writes under SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import hitlkit as hitl


def run_python(code: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_an_answer_from_another_process_wakes_the_waiter(tmp_path: Path) -> None:
    store = hitl.LocalStore(tmp_path / "s")
    event = hitl.new_event("q", data_type=int, store=store, timeout_seconds=60)
    answerer = run_python(
        f"""
        import time, hitlkit
        time.sleep(0.3)
        hitlkit.answer({event.request_id!r}, 41, store={str(tmp_path / "s")!r})
        """
    )
    assert event.wait() == 41
    _, err = answerer.communicate(timeout=30)
    assert answerer.returncode == 0, err
    outcome = event.outcome()
    assert outcome is not None
    assert outcome.by == "tester"  # HITL_USER is inherited by the subprocess


def test_sigkill_never_leaves_a_torn_record(tmp_path: Path) -> None:
    root = tmp_path / "s"
    writer = run_python(
        f"""
        from hitlkit import LocalStore
        store = LocalStore({str(root)!r})
        i = 0
        while True:
            store.put_if_absent(f"blobs/{{i}}", bytes([i % 251]) * 200_000)
            i += 1
        """
    )
    deadline = time.monotonic() + 30
    while not (root / "blobs").is_dir() or len(os.listdir(root / "blobs")) < 5:
        assert time.monotonic() < deadline, "the writer never wrote"
        time.sleep(0.01)
    writer.send_signal(signal.SIGKILL)
    writer.communicate(timeout=30)
    assert writer.returncode == -signal.SIGKILL

    store = hitl.LocalStore(root)
    keys = store.list("blobs/")
    assert len(keys) >= 5
    for key in keys:
        i = int(key.rpartition("/")[2])
        assert store.get(key) == bytes([i % 251]) * 200_000, f"{key} is torn"
    if sys.platform == "linux":  # files are written with no name until linked into place
        assert os.listdir(root / ".tmp") == [], "the killed writer left a temp file"
