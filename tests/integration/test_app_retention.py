"""The app's background prune, over real HTTP on a real folder: what it removes, the
inbox after it, the archive, and the settings that turn it on."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

import hitlkit as hitl
from hitlkit import ConfigurationError, LocalStore
from hitlkit._server import create_app
from tests.integration.conftest import serve_in_thread

WAIT = 15.0


def ask(store: LocalStore, name: str, timeout: float = 3600) -> str:
    event = hitl.new_event(
        name, data_type=int, run_id="r1", store=store, serve=False, timeout_seconds=timeout
    )
    return event.request_id


def eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, "not within the wait"
        time.sleep(0.05)


@pytest.fixture
def serve() -> Iterator[Callable[..., httpx.Client]]:
    started = []

    def start(*args: object, **options: object) -> httpx.Client:
        server, thread, port = serve_in_thread(create_app(*args, **options))  # type: ignore[arg-type]
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, trust_env=False)
        started.append((server, thread, client))
        return client

    yield start
    for server, thread, client in started:
        client.close()
        server.should_exit = True
        thread.join(10)


def test_the_app_prunes_in_the_background_and_the_inbox_no_longer_shows_them(
    app_store: LocalStore, serve: Callable[..., httpx.Client]
) -> None:
    done = ask(app_store, "done")
    hitl.answer(done, 1, store=app_store)
    expired = ask(app_store, "expired", timeout=0.2)
    still_open = ask(app_store, "open")

    client = serve(app_store, retention=timedelta(seconds=1), prune_every=0.2)
    assert done in client.get("/", params={"status": "all"}).text

    eventually(lambda: not [k for k in app_store.list("") if done in k or expired in k])
    inbox = client.get("/", params={"status": "all"}).text
    assert still_open in inbox
    assert done not in inbox
    assert client.get(f"/form/{done}").status_code == 404
    assert hitl.get_event(still_open, store=app_store).status == "pending"


def test_the_settings_come_from_the_environment_with_the_archive(
    app_store: LocalStore,
    serve: Callable[..., httpx.Client],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HITL_RETENTION", "1s")
    monkeypatch.setenv("HITL_ARCHIVE", str(tmp_path / "archive"))
    done = ask(app_store, "done")
    hitl.cancel(done, store=app_store)

    serve(app_store, prune_every=0.2)

    eventually(lambda: app_store.get(f"events/{done[:8]}/{done}.json") is None)
    archived = LocalStore(tmp_path / "archive").list("")
    assert any(key.endswith(f"outcomes/{done[:8]}/{done}.json") for key in archived)


def test_without_a_retention_the_app_keeps_everything(
    app_store: LocalStore, serve: Callable[..., httpx.Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_RETENTION", "1s")
    done = ask(app_store, "done")
    hitl.answer(done, 1, store=app_store)
    time.sleep(1.1)

    serve(app_store, retention="forever", prune_every=0.1)
    time.sleep(0.5)

    assert hitl.get_event(done, store=app_store).status == "answered"


@pytest.mark.parametrize("given", ["30", "1.5d", "soon"])
def test_a_bad_retention_is_refused_with_the_forms_expected(
    given: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_RETENTION", given)
    with pytest.raises(ConfigurationError, match=r"HITL_RETENTION must be .* such as 30d or 12h"):
        create_app()  # the store may come later; the setting is read now
    with pytest.raises(ValueError, match=r"retention must be .* such as 30d or 12h"):
        create_app(retention=given)
    with pytest.raises(ValueError, match="positive duration"):
        create_app(retention=timedelta(0))
