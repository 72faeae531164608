"""The change streams: the credential reading events takes, own pages only, nothing made on
request, capped per client and in all, heartbeats, an end, and replay from a cursor only."""

from __future__ import annotations

import contextlib
import html
import re
import secrets
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

import hitlkit
from hitlkit import LocalStore
from hitlkit._links import sign_answer_link
from hitlkit._records import Outcome, utcnow
from hitlkit._server import StreamLimits, create_app
from hitlkit._tokens import create_token
from tests.integration.conftest import serve_in_thread
from tests.security.conftest import SECRET, App
from tests.security.test_sign_in import sign_in

STREAMS = ("/api/changes", "/api/inbox/changes")


@contextlib.contextmanager
def serving(tmp_path: Path, *, tokens: bool, streams: StreamLimits | None = None) -> Iterator[App]:
    """An app like `secured` (with `tokens`) or `open_app`, with stream limits of its own."""
    store = LocalStore(tmp_path / "store")
    tokens_file = tmp_path / "tokens.json" if tokens else None
    names = {name: create_token(tokens_file, name) for name in ("ana", "bo")} if tokens_file else {}
    app = create_app(store, tokens_file=tokens_file, secret=SECRET, streams=streams)
    server, thread, port = serve_in_thread(app)
    try:
        yield App(f"http://127.0.0.1:{port}", store, names, tokens_file)
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


def run_prefix(event: hitlkit.Event[Any]) -> str:
    return f"outcomes/{event.request_id[:8]}/"


def params_for(path: str, event: hitlkit.Event[Any], **more: str) -> dict[str, str]:
    return {"prefix": run_prefix(event), **more} if path == "/api/changes" else more


@contextlib.contextmanager
def stream(
    http: httpx.Client, path: str, params: dict[str, str], **options: Any
) -> Iterator[tuple[httpx.Response, Iterator[list[str]]]]:
    """A stream's response, and its messages (each a list of lines) once it is a stream."""
    with http.stream("GET", path, params=params, **options) as response:
        yield response, messages(response.iter_lines())


def messages(lines: Iterator[str]) -> Iterator[list[str]]:
    message: list[str] = []
    for line in lines:
        if line:
            message.append(line)
        elif message:
            yield message
            message = []


def answered_ids(found: Iterator[list[str]], count: int) -> list[str]:
    """The ids of the next `count` outcome events, skipping comments."""
    ids = []
    for message in found:
        if "event: outcome" in message:
            ids.append(next(line[6:] for line in message if line.startswith("data: ")))
            if len(ids) == count:
                return ids
    raise AssertionError("the stream ended")


def opened(http: httpx.Client, path: str, params: dict[str, str]) -> httpx.Response:
    """The response to opening a stream, closed once its headers are in."""
    with http.stream("GET", path, params=params) as response:
        if response.status_code != 200:
            response.read()
        return response


def files_of(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("path", STREAMS)
def test_a_stream_needs_the_credential_reading_events_takes(secured: App, path: str) -> None:
    event = secured.ask("count")
    with secured.client() as anonymous:
        refused = opened(anonymous, path, params_for(path, event))
    with (
        secured.client(secured.tokens["ana"]) as http,
        stream(http, path, params_for(path, event)) as (response, _),
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")

    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthorized"
    assert "Authorization: Bearer" in refused.json()["message"]


@pytest.mark.parametrize("path", STREAMS)
def test_a_signed_in_browser_may_follow_like_its_pages(secured: App, path: str) -> None:
    event = secured.ask("count")
    with secured.client() as browser:
        sign_in(browser, secured.tokens["bo"])
        with stream(browser, path, params_for(path, event)) as (response, _):
            assert response.status_code == 200


def test_an_answer_link_follows_its_own_event_only(secured: App) -> None:
    event = secured.ask("count")
    sibling = secured.ask("other")
    elsewhere = secured.ask("count", run_id="run-2")
    link = secured.link(event.request_id)
    with secured.client() as page:
        other_run = opened(page, "/api/changes", {"prefix": run_prefix(elsewhere), "token": link})
        with secured.client(link) as bearer:
            inbox = opened(bearer, "/api/inbox/changes", {})
        with stream(page, "/api/changes", {"prefix": run_prefix(event), "token": link}) as (
            response,
            found,
        ):
            assert response.status_code == 200
            next(found)
            sibling.answer(1)
            event.answer(2)
            assert answered_ids(found, 1) == [event.request_id]

    assert other_run.status_code == 403
    assert other_run.json()["error"] == "wrong_event"
    assert inbox.status_code == 403
    assert inbox.json()["error"] == "forbidden"


def test_an_answer_landing_before_the_pages_stream_opens_still_reaches_it(
    open_app: App,
) -> None:
    event = open_app.ask("count")
    with open_app.client() as browser:
        page = browser.get(f"/form/{event.request_id}")
        found = re.search(r'data-outcomes-url="([^"]+)"', page.text)
        assert found
        event.answer(5)  # after the page was read, before its script follows the run
        path, _, query = html.unescape(found.group(1)).partition("?")
        with stream(browser, path, dict(parse_qsl(query)), timeout=5) as (response, messages_):
            assert response.status_code == 200
            assert answered_ids(messages_, 1) == [event.request_id]


def test_a_kept_link_that_no_longer_counts_does_not_stop_an_open_apps_page(
    open_app: App,
) -> None:
    event = open_app.ask("count")
    stale = sign_answer_link(
        "an-old-secret-no-longer-kept-0123",
        event.request_id,
        identity="ana",
        expires_at=utcnow() + timedelta(hours=1),
    )
    params = {"prefix": run_prefix(event), "event": event.request_id}
    with open_app.client() as browser:
        browser.cookies.set(f"hitl_link_{event.request_id}", stale)
        with stream(browser, "/api/changes", params) as (response, found):
            assert response.status_code == 200
            next(found)
            event.answer(3)
            assert answered_ids(found, 1) == [event.request_id]


def test_a_page_reloaded_without_its_link_follows_with_the_link_its_browser_keeps(
    secured: App,
) -> None:
    event = secured.ask("count")
    other = secured.ask("other")
    link = secured.link(event.request_id)
    with secured.client() as browser:
        assert browser.get(secured.link_url(event.request_id, link)).status_code == 200
        page = browser.get(f"/form/{event.request_id}")  # reloaded: no ?token= now
        follows = f"/api/changes?prefix={run_prefix(event)}&amp;event={event.request_id}"
        assert follows in page.text
        of_another = opened(
            browser, "/api/changes", {"prefix": run_prefix(other), "event": other.request_id}
        )
        params = {"prefix": run_prefix(event), "event": event.request_id}
        with stream(browser, "/api/changes", params) as (response, found):
            assert response.status_code == 200
            next(found)
            other.answer(1)
            event.answer(2)
            assert answered_ids(found, 1) == [event.request_id]

    assert of_another.status_code == 401  # no link kept for that event


@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://evil.example"},
        {"Origin": "http://127.0.0.1:1"},
        {"Origin": "null"},
    ],
)
def test_other_sites_cannot_open_streams_without_a_tokens_file(
    open_app: App, path: str, headers: dict[str, str]
) -> None:
    event = open_app.ask("count")
    with open_app.client() as page:
        response = page.get(path, params=params_for(path, event), headers=headers)

    assert response.status_code == 403
    assert response.json()["error"] == "cross_site"


@pytest.mark.parametrize("path", STREAMS)
def test_the_apps_own_pages_and_programs_open_streams(open_app: App, path: str) -> None:
    event = open_app.ask("count")
    own = {"Sec-Fetch-Site": "same-origin", "Origin": open_app.url}
    with open_app.client() as page:
        for headers in (own, {}):
            with stream(page, path, params_for(path, event), headers=headers) as (response, _):
                assert response.status_code == 200


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "../",
        "outcomes/",
        "outcomes/../events/",
        "outcomes/ABCDEF12/",
        "outcomes/abcdef1/",
        "outcomes/abcdef12",
        "outcomes/abcdef12/x/",
        "outcomes/abcdef12/\n",
        "events/abcdef12/",
    ],
)
def test_a_prefix_other_than_a_runs_outcomes_is_refused_and_makes_nothing(
    open_app: App, prefix: str
) -> None:
    folder = Path(open_app.store.root)
    before = files_of(folder)
    with open_app.client() as http:
        response = http.get("/api/changes", params={"prefix": prefix})

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert "prefix" in response.json()["message"]
    assert files_of(folder) == before


def test_thousands_of_run_prefixes_make_nothing_in_the_store(open_app: App) -> None:
    open_app.ask("count")
    folder = Path(open_app.store.root)
    with open_app.client() as http:
        # A first listing marks the store indexed, as the app's background turns would.
        assert http.get("/api/events").status_code == 200
        before = files_of(folder)
        statuses = {
            opened(
                http, "/api/changes", {"prefix": f"outcomes/{secrets.token_hex(4)}/"}
            ).status_code
            for _ in range(2000)
        }

    assert statuses == {404}
    assert files_of(folder) == before


@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize("since", ["yesterday", "2025-01-31T12:00:00", "2025-13-01T00:00:00Z"])
def test_a_cursor_that_is_not_a_time_is_refused(open_app: App, path: str, since: str) -> None:
    event = open_app.ask("count")
    with open_app.client() as http:
        response = http.get(path, params=params_for(path, event, since=since))

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert "ISO 8601" in response.json()["message"]
    assert "epoch" in response.json()["message"]


def test_streams_are_capped_per_client_and_in_all(tmp_path: Path) -> None:
    limits = StreamLimits(per_client=2, total=3)
    with serving(tmp_path, tokens=True, streams=limits) as app, contextlib.ExitStack() as open_:
        event = app.ask("count")
        ana, bo = (open_.enter_context(app.client(app.tokens[n])) for n in ("ana", "bo"))
        params = params_for("/api/changes", event)

        def hold(http: httpx.Client) -> contextlib.ExitStack:
            held = contextlib.ExitStack()
            response, _ = held.enter_context(stream(http, "/api/changes", params))
            assert response.status_code == 200
            return held

        first = hold(ana)
        open_.enter_context(hold(ana))
        per_client = opened(ana, "/api/changes", params)
        open_.enter_context(hold(bo))
        in_all = opened(bo, "/api/inbox/changes", {})
        first.close()
        deadline = time.monotonic() + 10  # the app learns that a client left as it reads
        while (again := opened(ana, "/api/changes", params)).status_code == 429:
            assert time.monotonic() < deadline, "a closed stream still counts"
            time.sleep(0.05)

    for refused in (per_client, in_all):
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_streams"
        assert int(refused.headers["retry-after"]) > 0
    assert "client" in per_client.json()["message"]
    assert "app" in in_all.json()["message"]
    assert again.status_code == 200


@pytest.mark.parametrize("path", STREAMS)
def test_a_quiet_stream_sends_heartbeats_and_ends_after_its_time(tmp_path: Path, path: str) -> None:
    limits = StreamLimits(per_client=1, heartbeat_seconds=0.2, max_seconds=1.5)
    with serving(tmp_path, tokens=False, streams=limits) as app, app.client() as http:
        event = app.ask("count")
        with stream(http, path, params_for(path, event)) as (response, found):
            assert response.status_code == 200
            rest = list(found)  # ends: the app closes the stream
        with stream(http, path, params_for(path, event)) as (again, _):
            assert again.status_code == 200  # the ended stream no longer counts

    assert [": keep-alive"] in rest
    assert rest[-1][0].startswith(": closing")


def _answer_in_turn(app: App, names: list[str]) -> list[Outcome]:
    outcomes = []
    for name in names:
        event = app.ask(name)
        event.answer(1)
        outcome = event.outcome()
        assert outcome is not None
        outcomes.append(outcome)
        time.sleep(0.01)  # each recorded at its own time
    return outcomes


@pytest.mark.parametrize("form", ["iso", "epoch", "last-event-id"])
def test_since_replays_exactly_the_outcomes_recorded_at_or_after_it(
    open_app: App, form: str
) -> None:
    _, second, third = _answer_in_turn(open_app, ["a", "b", "c"])
    later = open_app.ask("d")
    at = second.at
    cursor = {
        "iso": at.isoformat().replace("+00:00", "Z"),
        "epoch": f"{at.timestamp():.6f}",
        "last-event-id": "",
    }[form]
    params = params_for("/api/changes", later, **({"since": cursor} if cursor else {}))
    headers = {"Last-Event-ID": at.isoformat()} if form == "last-event-id" else {}
    with (
        open_app.client() as http,
        stream(http, "/api/changes", params, headers=headers) as (response, found),
    ):
        assert response.status_code == 200
        start = next(found)
        replayed = [next(found), next(found)]
        later.answer(2)
        live = answered_ids(found, 1)

    assert start[0].startswith(":")
    assert [m[0] for m in replayed] == ["event: outcome"] * 2
    assert [m[2] for m in replayed] == [f"data: {second.request_id}", f"data: {third.request_id}"]
    ids = [datetime.fromisoformat(m[1].removeprefix("id: ")) for m in replayed]
    assert ids == [second.at, third.at]
    assert live == [later.request_id]


def test_without_since_nothing_is_replayed(open_app: App) -> None:
    (earlier,) = _answer_in_turn(open_app, ["a"])
    later = open_app.ask("b")
    with (
        open_app.client() as http,
        stream(http, "/api/changes", params_for("/api/changes", later)) as (_, found),
    ):
        next(found)
        later.answer(2)
        assert answered_ids(found, 1) == [later.request_id]
    assert earlier.request_id != later.request_id
