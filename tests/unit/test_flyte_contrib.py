"""The Flyte integration's surface and its choices outside a cluster."""

from __future__ import annotations

import inspect
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import pytest

with warnings.catch_warnings():
    # flyte's own modules use pydantic features that pydantic deprecates.
    warnings.simplefilter("ignore", DeprecationWarning)
    pytest.importorskip("flyte", reason='flyte is not installed (pip install "hitlkit[flyte]")')
    import flyte
    import flyte.app
    import flyte.report
    from flyte._context import internal_ctx
    from flyte.app.extras import FastAPIAppEnvironment
    from flyte.models import ActionID, RawDataPath, TaskContext

    import flyteplugins.hitl
    import hitlkit.contrib.flyte
    from hitlkit.contrib.flyte._context import bucket_store_url, task_defaults
    from hitlkit.contrib.flyte._env import app_env
    from hitlkit.contrib.flyte._event import _resolution

import hitlkit
from hitlkit import ConfigurationError
from hitlkit._records import Outcome


def test_the_seed_surface_is_pinned_and_shared() -> None:
    assert hitlkit.contrib.flyte.__all__ == ["Event", "EventScope", "env", "new_event"]
    for name in hitlkit.contrib.flyte.__all__:
        assert getattr(flyteplugins.hitl, name) is getattr(hitlkit.contrib.flyte, name)


def test_env_is_a_task_environment_that_deploys_the_app() -> None:
    env = flyteplugins.hitl.env
    assert isinstance(env, flyte.TaskEnvironment)
    assert env.depends_on == [app_env]
    assert isinstance(app_env, FastAPIAppEnvironment)
    assert app_env.requires_auth
    assert app_env.scaling.replicas == (0, 1)


def test_the_flyte_create_takes_every_option_of_the_core() -> None:
    core = inspect.signature(hitlkit.Event.create.aio)
    flyte_create = inspect.signature(flyteplugins.hitl.Event.create.aio)
    assert list(flyte_create.parameters) == list(core.parameters)


def test_a_flyte_event_with_assignees_refuses_others(monkeypatch: pytest.MonkeyPatch) -> None:
    event = flyteplugins.hitl.new_event(
        "assigned", data_type=int, store="memory://flyte-assignees", assignees=["ana"]
    )
    monkeypatch.setenv("HITL_USER", "bo")
    with pytest.raises(hitlkit.NotAssignedError):
        event.answer(1)
    monkeypatch.setenv("HITL_USER", "ana")
    event.answer(2)

    assert event.assignees == ("ana",)
    assert event.wait() == 2


def test_a_flyte_event_is_a_hitlkit_event() -> None:
    event = flyteplugins.hitl.new_event("n", data_type=int, store="memory://flyte-unit")
    assert isinstance(event, flyteplugins.hitl.Event)
    assert isinstance(event, hitlkit.Event)
    event.answer(3)
    assert event.wait() == 3


def test_the_flyte_drop_in_notifies_and_reminds_like_the_core() -> None:
    from tests.receivers import HookServer

    hook = HookServer()
    try:
        event = flyteplugins.hitl.new_event(
            "n2",
            data_type=int,
            store="memory://flyte-notify",
            timeout_seconds=3,
            notify=[hook.url],
            remind_before=2.5,
        )
        hook.wait_for(1)
        waited: list[int] = []
        thread = threading.Thread(target=lambda: waited.append(event.wait()))
        thread.start()
        opened, reminder = hook.wait_for(2)
        event.answer(3)
        thread.join(30)
    finally:
        hook.close()
    assert waited == [3]
    assert opened["title"] == "hitlkit: n2 is waiting for an answer"
    assert reminder["title"].startswith("hitlkit: n2 still waits for an answer")


def test_outside_a_task_every_default_is_hitlkits() -> None:
    found = task_defaults()
    assert (found.run_id, found.store, found.remote, found.in_task) == (None, None, False, False)


@pytest.mark.parametrize(
    ("raw_data_path", "store"),
    [
        ("s3://my-bucket/data/ab/run-1/x", "s3://my-bucket/hitl"),
        ("gs://other/prefix", "gs://other/hitl"),
        ("abfs://container@account/p", "abfs://container@account/hitl"),
    ],
)
def test_a_cluster_keeps_events_at_the_root_of_the_data_bucket(
    raw_data_path: str, store: str
) -> None:
    assert bucket_store_url(raw_data_path) == store


@pytest.mark.parametrize("raw_data_path", ["/tmp/flyte/raw_data/r", "file:///tmp/x", ""])
def test_a_raw_data_path_without_a_bucket_asks_for_hitl_store(raw_data_path: str) -> None:
    with pytest.raises(ConfigurationError, match="set HITL_STORE"):
        bucket_store_url(raw_data_path)


# flyte's report leaves its HTML template open when it renders.
flyte_report_leaks_a_file = pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)


@contextmanager
def in_task(tmp_path: Path, *, mode: Literal["local", "remote"], run_name: str) -> Iterator[None]:
    """Run the block as if inside a task of run `run_name`, as Flyte's runtime sets it up."""
    (tmp_path / "outputs").mkdir()
    task_context = TaskContext(
        action=ActionID(name="a0", run_name=run_name),
        version="v1",
        raw_data_path=RawDataPath(path=f"s3://data-bucket/raw/{run_name}"),
        output_path=str(tmp_path / "outputs"),
        run_base_dir=str(tmp_path),
        report=flyte.report.Report(name="a0"),
        mode=mode,
    )
    with internal_ctx().replace_task_context(task_context):
        yield


@flyte_report_leaks_a_file
def test_in_a_cluster_task_events_go_to_the_bucket_and_the_deployed_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HITL_STORE")
    monkeypatch.setenv("HITL_AUTOSTART", "1")
    with in_task(tmp_path, mode="remote", run_name="r-cluster"):
        found = task_defaults()
        assert (found.run_id, found.store, found.remote) == (
            "r-cluster",
            "s3://data-bucket/hitl",
            True,
        )

        monkeypatch.setenv("HITL_STORE", str(tmp_path / "store"))
        monkeypatch.setenv("INTERNAL_APP_ENDPOINT_PATTERN", "https://{app_fqdn}.apps.example.com")
        event = flyteplugins.hitl.new_event("q", data_type=int)

    assert event.run_id == "r-cluster"
    assert event.form_url == f"https://hitl-event-app.apps.example.com/form/{event.request_id}"
    assert event.store.url == (tmp_path / "store").resolve().as_uri()
    assert event.request_id in (tmp_path / "outputs" / "report.html").read_text()


@flyte_report_leaks_a_file
def test_in_a_local_task_the_run_name_is_the_run_id(tmp_path: Path) -> None:
    with in_task(tmp_path, mode="local", run_name="r-local"):
        first = flyteplugins.hitl.new_event("q", data_type=int)
        again = flyteplugins.hitl.Event.create("q", data_type=int)
        other = flyteplugins.hitl.new_event("p", data_type=int)

    assert first.run_id == "r-local"
    assert again.request_id == first.request_id
    assert other.request_id != first.request_id
    assert first.endpoint == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("status", "value", "by", "reason", "said"),
    [
        ("answered", "hello", "ana", None, 'answered by ana at 2026-01-31 10:00:00 UTC: "hello"'),
        (
            "cancelled",
            None,
            "bo",
            "wrong build",
            "cancelled by bo at 2026-01-31 10:00:00 UTC: wrong build",
        ),
        (
            "defaulted",
            7,
            "hitlkit",
            None,
            "past its deadline at 2026-01-31 10:00:00 UTC, so its default was used: 7",
        ),
        (
            "timed_out",
            None,
            "hitlkit",
            None,
            "past its deadline at 2026-01-31 10:00:00 UTC, with no answer",
        ),
    ],
)
def test_a_run_started_again_says_how_its_event_was_resolved(
    status: Literal["answered", "cancelled", "defaulted", "timed_out"],
    value: object,
    by: str,
    reason: str | None,
    said: str,
) -> None:
    at = datetime(2026, 1, 31, 10, tzinfo=timezone.utc)
    outcome = Outcome(
        request_id="0" * 24, status=status, value=value, by=by, via="cli", at=at, reason=reason
    )

    assert _resolution(outcome) == said
