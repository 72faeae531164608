"""The inbox over real HTTP: filters, the list fragment, one-click forms, and the change stream."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import hitlkit
from hitlkit import LocalStore, MemoryStore, Store
from hitlkit._server import create_app
from tests.forms import followed
from tests.integration.conftest import serve_in_thread


def ask(store: Store, name: str, data_type: type[Any], **options: Any) -> hitlkit.Event[Any]:
    options.setdefault("run_id", "run-1")
    return hitlkit.new_event(name, data_type, store=store, serve=False, **options)


def names(html: str) -> list[str]:
    """The event names an inbox page or fragment lists, in order."""
    found = []
    for part in html.split('class="event-name">')[1:]:
        link_text = part.split("</a>", 1)[0]
        found.append(link_text.rsplit(">", 1)[1])
    return found


def test_inbox_filters_by_name_and_run_ignoring_case(
    client: httpx.Client, app_store: LocalStore
) -> None:
    ask(app_store, "deploy_api", bool, run_id="nightly-41")
    ask(app_store, "deploy_web", bool, run_id="nightly-42")
    ask(app_store, "replicas", int, run_id="nightly-42")

    by_name = client.get("/", params={"name": "DEPLOY"})
    by_both = client.get("/", params={"name": "deploy", "run_id": "ly-42"})
    nothing = client.get("/", params={"name": "absent"})

    assert names(by_name.text) == ["deploy_web", "deploy_api"]
    assert names(by_both.text) == ["deploy_web"]
    assert 'value="ly-42"' in by_both.text
    assert "(filtered)" in by_both.text
    assert names(nothing.text) == []
    assert "No events match these filters" in nothing.text


def test_inbox_filters_keep_the_status_and_tabs_keep_the_filters(
    client: httpx.Client, app_store: LocalStore
) -> None:
    ask(app_store, "open_one", int, run_id="a")
    ask(app_store, "done_one", int, run_id="a").answer(1)
    ask(app_store, "done_two", int, run_id="b").answer(2)

    page = client.get("/", params={"status": "resolved", "run_id": "a"})
    odd = client.get("/", params={"status": "everything"})

    assert names(page.text) == ["done_one"]
    assert '<input type="hidden" name="status" value="resolved">' in page.text
    assert 'href="/?run_id=a"' in page.text  # the "Waiting" tab, same filter
    assert 'href="/?status=all&amp;run_id=a"' in page.text
    assert odd.status_code == 200
    assert names(odd.text) == ["open_one"]  # an unknown status shows what is waiting


def test_list_fragment_is_the_inbox_list_alone(client: httpx.Client, app_store: LocalStore) -> None:
    ask(app_store, "first", int)
    ask(app_store, "second", str, run_id="other")

    fragment = client.get("/inbox/list", params={"run_id": "other"})
    page = client.get("/", params={"run_id": "other"})

    assert fragment.status_code == 200
    assert fragment.headers["content-type"].startswith("text/html")
    assert "<html" not in fragment.text
    assert names(fragment.text) == names(page.text) == ["second"]
    assert 'data-list-url="/inbox/list?run_id=other"' in page.text


def test_yes_no_events_get_one_click_post_forms_in_the_inbox(
    client: httpx.Client, app_store: LocalStore
) -> None:
    approve = ask(app_store, "approve <b>me</b>", bool)
    ask(app_store, "count", int)

    page = client.get("/")
    form = page.text.split('<form class="quick"', 1)[1].split("</form>", 1)[0]
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', form))
    posted = client.post("/submit", data={**hidden, "value": "true"})  # the page's cookie too
    forged = client.post("/submit", data={"request_id": approve.request_id, "value": "false"})

    assert page.text.count('<form class="quick"') == 1
    assert 'method="post" action="/submit"' in form
    assert f'name="request_id" value="{approve.request_id}"' in form
    assert 'name="value" value="true"' in form
    assert 'name="value" value="false"' in form
    assert 'aria-label="Approve approve &lt;b&gt;me&lt;/b&gt;"' in form
    assert hidden["request_id"] == approve.request_id
    assert hidden["csrf"]
    assert "Recorded: yes" in followed(client, posted).text
    assert approve.wait() is True
    # Without the form token: nothing changes; the event's page says how it ended.
    assert forged.status_code == 303
    assert "Recorded" not in followed(client, forged).text


def test_pages_load_one_script_from_the_app_and_no_inline_code(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "count", int)

    inbox = client.get("/")
    form = client.get(f"/form/{event.request_id}")
    script = client.get("/static/hitlkit.js")

    policy = inbox.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert '<script src="/static/hitlkit.js" defer></script>' in inbox.text
    for page in (inbox, form):
        assert page.text.count("<script") == page.text.count("<script src=")
        assert ' style="' not in page.text
        assert 'href="#main"' in page.text
        assert '<main id="main"' in page.text
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "EventSource" in script.text


def test_event_page_shows_state_deadline_and_once_resolved_who_and_when(
    client: httpx.Client, app_store: LocalStore
) -> None:
    event = ask(app_store, "ratio", float, prompt="Which ratio?")

    pending = client.get(f"/form/{event.request_id}")
    event.answer(0.5)
    resolved = client.get(f"/form/{event.request_id}")

    assert "Waiting" in pending.text
    assert "Closes" in pending.text
    assert event.deadline.strftime("%Y-%m-%d %H:%M UTC") in pending.text
    facts = resolved.text.split('<dl class="facts">', 1)[1]
    for expected in ("Value", "0.5", "Answered", "via python", "tester", "When", "Deadline"):
        assert expected in facts
    assert "Which ratio?" in resolved.text


class Stream:
    """The inbox change stream, read one server-sent event at a time."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines

    def next_event(self) -> tuple[str, str]:
        """The next (event, data) pair, skipping comments."""
        event = data = ""
        for line in self.lines:
            if line == "" and event:
                return event, data
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = line.removeprefix("data: ")
        raise AssertionError("the stream ended")


@pytest.fixture
def memory_app() -> Iterator[tuple[MemoryStore, str]]:
    """An app over a memory store, whose writes only this process sees."""
    store = MemoryStore()
    server, thread, port = serve_in_thread(create_app(store))
    yield store, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def bucket_app(s3_url: str) -> Iterator[tuple[Store, str]]:
    """An app over an S3 bucket, and another store object over the same bucket."""
    from hitlkit._store._object import ObjectStore

    served, writer = ObjectStore(s3_url), ObjectStore(s3_url)
    server, thread, port = serve_in_thread(create_app(served))
    yield writer, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    writer.close()
    served.close()


@pytest.mark.parametrize(
    "backend",
    [
        # Another object over the same folder: the app learns of writes from the filesystem.
        "local folder, another store object",
        # Writes through the app's own store object: it announces them.
        "memory, same object",
        # A bucket cannot notify: the app lists events/ and outcomes/ while a stream is open.
        "S3 bucket, another store object",
    ],
)
def test_change_stream_reports_creations_answers_cancels_and_deadlines(
    backend: str, request: pytest.FixtureRequest, app_url: str, app_store: LocalStore
) -> None:
    store: Store
    if backend.startswith("memory"):
        store, url = request.getfixturevalue("memory_app")
    elif backend.startswith("S3"):
        store, url = request.getfixturevalue("bucket_app")
    else:
        store, url = LocalStore(app_store.root), app_url
    with (
        contextlib.closing(store),
        httpx.Client(base_url=url, timeout=10, trust_env=False) as http,
        http.stream("GET", "/api/inbox/changes") as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response.iter_lines())
        assert stream.next_event() == ("changed", "start")

        event = ask(store, "count", int)
        assert stream.next_event() == ("changed", "store")
        event.answer(3)
        assert stream.next_event() == ("changed", "store")
        other = ask(store, "other", int)
        assert stream.next_event() == ("changed", "store")
        other.cancel()
        assert stream.next_event() == ("changed", "store")
        ask(store, "quick", int, timeout_seconds=1)
        assert stream.next_event() == ("changed", "store")
        assert stream.next_event() == ("changed", "deadline")


def test_inbox_shows_markdown_prompts_as_plain_text(
    client: httpx.Client, app_store: LocalStore
) -> None:
    prompt = "Deploy **now**?\n\n| stage | traffic |\n|---|---|\n| canary | 5% |\n\n<b>raw</b>"
    ask(app_store, "rollout", bool, prompt=prompt, prompt_type="markdown")

    page = client.get("/")
    excerpt = page.text.split('<p class="excerpt">', 1)[1].split("</p>", 1)[0]

    assert excerpt == "Deploy now?"  # the first paragraph: the details stay on the page
