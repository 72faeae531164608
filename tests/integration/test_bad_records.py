"""Bad entries in a real store folder: listings go on without them and say how many;
reading one is a `CorruptRecordError` naming its key, never a server path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

import hitlkit
from hitlkit import CorruptRecordError, LocalStore, MemoryStore
from hitlkit._records import EventRecord, event_id, event_key, outcome_key, utcnow
from hitlkit._server import create_app
from tests.integration.conftest import serve_in_thread


def break_records(store: LocalStore) -> dict[str, str]:
    """Five events, three of them broken in different ways; their ids by how."""
    ids = {
        how: hitlkit.new_event(how, data_type=int, store=store, run_id="r").request_id
        for how in ("good", "also_good", "torn", "invalid", "folder")
    }
    hitlkit.answer(ids["also_good"], 3, store=store)
    root = store.root
    (root / event_key(ids["torn"])).write_text('{"id": "')  # cut off mid-write
    record = json.loads((root / event_key(ids["invalid"])).read_text())
    record["deadline"] = "not a date"
    (root / event_key(ids["invalid"])).write_text(json.dumps(record))
    (root / outcome_key(ids["folder"])).mkdir(parents=True)  # a folder where an outcome goes
    return ids


def test_listing_skips_bad_entries_and_counts_them(app_store: LocalStore) -> None:
    ids = break_records(app_store)
    events = hitlkit.list_events("all", store=app_store)
    assert {e.request_id for e in events} == {ids["good"], ids["also_good"]}
    assert events.skipped == 3


def test_the_api_lists_around_bad_entries(app_store: LocalStore, client: httpx.Client) -> None:
    ids = break_records(app_store)
    response = client.get("/api/events", params={"status": "all"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert {e["request_id"] for e in body["events"]} == {ids["good"], ids["also_good"]}
    assert body["skipped"] == 3
    assert body["total"] == 2
    over_http = hitlkit.list_events("all", endpoint=str(client.base_url))
    assert over_http.skipped == 3


def test_the_inbox_shows_the_rest_and_says_how_many_could_not_be_read(
    app_store: LocalStore, client: httpx.Client
) -> None:
    ids = break_records(app_store)
    response = client.get("/", params={"status": "all"})
    assert response.status_code == 200
    assert "3 records could not be read; run <code>hitl doctor</code>" in response.text
    assert ids["good"] in response.text


def test_reading_a_bad_record_names_its_key_and_no_server_path(
    app_store: LocalStore, client: httpx.Client
) -> None:
    ids = break_records(app_store)
    for how, key in (("torn", event_key(ids["torn"])), ("folder", outcome_key(ids["folder"]))):
        response = client.get(f"/api/events/{ids[how]}")
        assert response.status_code == 500
        body = response.json()
        assert body["error"] == "corrupt_record"
        assert body["key"] == key
        assert ids[how] in body["message"]
        assert str(app_store.root) not in response.text
        page = client.get(f"/form/{ids[how]}", headers={"Accept": "text/html"})
        assert page.status_code == 500
        assert key in page.text
        assert str(app_store.root) not in page.text
        with pytest.raises(CorruptRecordError) as caught:
            hitlkit.get_event(ids[how], endpoint=str(client.base_url))
        assert caught.value.key == key


def test_a_waiter_on_a_corrupt_outcome_gets_an_error_naming_the_event(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    event = hitlkit.new_event("deploy", data_type=int, store=store, timeout_seconds=30)
    path = store.root / outcome_key(event.request_id)
    path.parent.mkdir(parents=True)
    path.write_text('{"request_id": "' + event.request_id + '", "status": "maybe"}')
    with pytest.raises(CorruptRecordError, match=event.request_id) as caught:
        event.wait()
    assert caught.value.key == outcome_key(event.request_id)
    assert "status" in caught.value.reason


# -- the inbox caps what it renders ----------------------------------------------------


def fill_store(store: MemoryStore, count: int) -> None:
    """`count` pending events, written straight into the store (creating them is slow), as
    a version without the index wrote them: the first listing indexes them."""
    now = utcnow()
    for i in range(count):
        request_id = event_id("run", "big", f"e{i}")
        record = EventRecord(
            id=request_id,
            name=f"e{i}",
            run_id="big",
            prompt="?",
            data_type="int",
            json_schema={"type": "integer"},
            created_at=now + timedelta(microseconds=i),
            deadline=now + timedelta(hours=1),
            timeout_seconds=3600,
            poll_interval_seconds=5,
        )
        store.put_if_absent(event_key(request_id), record.model_dump_json().encode())


@pytest.fixture(scope="module")
def big_app() -> Iterator[str]:
    store = MemoryStore()
    fill_store(store, 3000)
    server, thread, port = serve_in_thread(create_app(store))
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def shown_events(html: str) -> list[str]:
    return re.findall(r'<li class="event', html)


def test_the_inbox_renders_a_page_at_a_time(big_app: str) -> None:
    with httpx.Client(base_url=big_app, timeout=60, trust_env=False) as http:
        page = http.get("/")
        assert page.status_code == 200
        assert len(shown_events(page.text)) == 200
        assert "Showing 200 events, the newest" in page.text
        assert ">e2999<" in page.text  # the newest first
        assert ">e2800<" in page.text
        older = re.search(r'href="(/\?cursor=[^"]+)"[^>]*>Older events<', page.text)
        assert older is not None
        second = http.get(older[1].replace("&amp;", "&"))
        assert len(shown_events(second.text)) == 200
        assert ">e2799<" in second.text
        assert ">e2800<" not in second.text
        assert "Newest events" in second.text
        assert len(shown_events(http.get("/", params={"limit": "50"}).text)) == 50
        assert len(shown_events(http.get("/inbox/list", params={"limit": "7"}).text)) == 7
        capped = http.get("/", params={"limit": "1000000"})
        assert len(shown_events(capped.text)) == 2000
        filtered = http.get("/", params={"name": "e299"})  # e299, e2990..e2999
        assert len(shown_events(filtered.text)) == 11


def test_the_api_pages_with_a_cursor(big_app: str) -> None:
    with httpx.Client(base_url=big_app, timeout=60, trust_env=False) as http:
        body = http.get("/api/events", params={"limit": 10}).json()
        assert [e["name"] for e in body["events"]] == [f"e{i}" for i in range(2999, 2989, -1)]
        assert body["total"] is None  # a page does not count what it does not read
        names = [e["name"] for e in body["events"]]
        while body["next_cursor"]:
            params = {"limit": 1000, "cursor": body["next_cursor"]}
            body = http.get("/api/events", params=params).json()
            names += [e["name"] for e in body["events"]]
        assert names == [f"e{i}" for i in range(2999, -1, -1)]
        every = http.get("/api/events").json()  # no limit: every event, counted
        assert (len(every["events"]), every["total"], every["next_cursor"]) == (3000, 3000, None)
        assert http.get("/api/events", params={"limit": 0}).status_code == 422
        bad = http.get("/api/events", params={"cursor": "e2999"})
        assert bad.status_code == 422
        assert bad.json()["error"] == "invalid_request"
        assert "cursor" in bad.json()["message"]
