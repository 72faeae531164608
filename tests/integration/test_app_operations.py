"""`/healthz`, `/readyz` and `/metrics` of a real app over real HTTP, on healthy and failing
stores (a local folder, a real S3 server), with and without tokens."""

from __future__ import annotations

import math
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import hitlkit
from hitlkit import LocalStore, Store
from hitlkit._server import create_app
from hitlkit._tokens import create_token
from tests.integration.conftest import serve_in_thread
from tests.integration.test_store_failures import own_s3  # noqa: F401 - a fixture
from tests.receivers import HookServer, wait_until
from tests.s3 import BUCKET, S3Server

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@contextmanager
def served(store: Store | None, **options: Any) -> Iterator[httpx.Client]:
    """A real app over `store` (`create_app` options), and an HTTP client for it."""
    server, thread, port = serve_in_thread(create_app(store, **options))
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, trust_env=False) as http:
            yield http
    finally:
        server.should_exit = True
        thread.join(10)


def scrape(http: httpx.Client, **headers: str) -> Samples:
    """Every sample of `/metrics`, by name and labels, as Prometheus would read them."""
    response = http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 where the series does not exist yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def ask(store: Store, name: str, **options: Any) -> hitlkit.Event[int]:
    options.setdefault("run_id", "ops-run")
    return hitlkit.new_event(name, int, store=store, serve=False, **options)


# -- probes ------------------------------------------------------------------------------


def test_the_probes_answer_on_a_healthy_store_and_name_no_path(
    app_store: LocalStore, client: httpx.Client
) -> None:
    health = client.get("/healthz")
    ready = client.get("/readyz")

    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["store"]["backend"] == "file"
    assert 0 <= body["store"]["latency_ms"] < 10_000
    assert set(body["store"]) == {"backend", "latency_ms"}
    assert str(app_store.root) not in ready.text
    old = client.get("/health").json()  # kept as it was: the embedded app's probe reads it
    assert old["app"] == "hitlkit"
    assert len(old["store"]) == 16


def test_readyz_says_503_when_the_local_folder_fails_and_healthz_stays_up(
    app_store: LocalStore, client: httpx.Client
) -> None:
    ask(app_store, "before")
    assert client.get("/readyz").status_code == 200
    scrape(client)  # counts the pending events now: the next scrape lists nothing
    shutil.rmtree(app_store.root)
    app_store.root.write_text("not a folder")  # every read now fails: ENOTDIR

    ready = client.get("/readyz")

    assert ready.status_code == 503
    assert ready.headers["retry-after"] == "5"
    body = ready.json()
    assert body["error"] == "store_unavailable"
    assert body["status"] == "unavailable"
    assert body["store"] == {"backend": "file"}
    assert "ENOTDIR" in body["cause"]
    assert str(app_store.root) not in ready.text
    assert client.get("/healthz").json() == {"status": "ok"}
    errors = scrape(client)
    assert value(
        errors,
        "hitlkit_store_errors_total",
        backend="file",
        op="probe",
        error="StoreUnavailableError",
    ) == pytest.approx(1)


def test_readyz_follows_a_real_s3_server_that_stops(
    own_s3: list[S3Server],  # noqa: F811 - the fixture
) -> None:
    from hitlkit import ObjectStore

    prefix = uuid.uuid4().hex
    store = ObjectStore(f"s3://{BUCKET}/{prefix}")
    with served(store) as http:
        ready = http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["store"]["backend"] == "s3"
        own_s3[-1].stop()

        down = http.get("/readyz")

    assert down.status_code == 503
    assert down.json()["error"] == "store_unavailable"
    assert down.headers["retry-after"] == "5"
    assert prefix not in down.text
    assert BUCKET not in down.text.replace('"hitlkit', "")  # no bucket name, only codes


@pytest.mark.parametrize(
    ("bucket", "secret", "says"),
    [
        ("no-such-bucket", None, "does not exist"),
        (BUCKET, "not-the-secret", "credentials were refused"),
    ],
    ids=["missing bucket", "refused credentials"],
)
def test_readyz_is_503_for_a_bucket_it_cannot_use(
    s3_url: str, monkeypatch: pytest.MonkeyPatch, bucket: str, secret: str | None, says: str
) -> None:
    from hitlkit import ObjectStore

    if secret is not None:
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    prefix = uuid.uuid4().hex
    store = ObjectStore(f"s3://{bucket}/{prefix}")
    with pytest.raises(hitlkit.StoreUnavailableError, match=says):
        store.probe()
    with served(store) as http:
        ready = http.get("/readyz")
        # A refused read names the key's path in obstore's words; the cause leaves it out.
        refused = http.get(f"/api/events/{'0' * 24}")

    assert ready.status_code == 503, ready.text
    assert ready.json()["error"] == "store_unavailable"
    assert "no-such-bucket" not in ready.text
    # (A missing bucket answers a read "not found": only /readyz tells it from an empty one.)
    assert refused.status_code == (404 if secret is None else 503), refused.text
    assert prefix not in ready.text + refused.text


# -- metrics -------------------------------------------------------------------------------


def test_answers_are_counted_by_channel_and_outcome(
    app_store: LocalStore, client: httpx.Client
) -> None:
    first, second, third = (ask(app_store, name) for name in ("a", "b", "c"))
    before = scrape(client)

    by_cli = client.post(f"/api/events/{first.request_id}/answer", json={"value": 1, "via": "cli"})
    by_api = client.post("/submit/json", json={"request_id": second.request_id, "value": 2})
    again = client.post("/submit/json", json={"request_id": second.request_id, "value": 2})
    cancelled = client.post(f"/api/events/{third.request_id}/cancel", json={"reason": "no"})
    refused = client.post(f"/api/events/{first.request_id}/answer", json={"value": 9})
    after = scrape(client)

    assert [r.status_code for r in (by_cli, by_api, again, cancelled, refused)] == [
        200,
        200,
        200,
        200,
        409,
    ]

    def delta(**labels: str) -> float:
        name = "hitlkit_outcomes_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(status="answered", via="cli") == 1
    assert delta(status="answered", via="api") == 1  # the retry records nothing
    assert delta(status="cancelled", via="api") == 1
    assert value(after, "hitlkit_build_info", version=hitlkit.__version__) == 1
    puts = value(after, "hitlkit_store_call_seconds_count", backend="file", op="put_if_absent")
    assert puts > value(
        before, "hitlkit_store_call_seconds_count", backend="file", op="put_if_absent"
    )
    assert value(after, "process_resident_memory_bytes") > 0


def test_the_pending_count_is_listed_at_most_once_per_refresh(app_store: LocalStore) -> None:
    ask(app_store, "one")
    with served(app_store, pending_refresh_seconds=3600) as http:
        first = scrape(http)
        ask(app_store, "two")
        second = scrape(http)

    assert value(first, "hitlkit_events_pending") == 1
    assert value(second, "hitlkit_events_pending") == 1  # the count of the first scrape
    lists = ("hitlkit_store_call_seconds_count",)
    assert value(second, *lists, backend="file", op="list") == value(
        first, *lists, backend="file", op="list"
    )


def test_the_pending_count_follows_the_index(app_store: LocalStore) -> None:
    with served(app_store, pending_refresh_seconds=0) as http:
        assert value(scrape(http), "hitlkit_events_pending") == 0
        events = [ask(app_store, name) for name in ("one", "two", "three")]
        late = ask(app_store, "late", timeout_seconds=0.05)  # past its deadline: not pending
        # The index keeps deadlines in whole seconds, rounded up.
        time.sleep(max(0.0, math.ceil(late.deadline.timestamp()) - time.time() + 0.05))
        assert value(scrape(http), "hitlkit_events_pending") == 3
        events[0].answer(5)
        events[1].cancel()
        assert value(scrape(http), "hitlkit_events_pending") == 1


def test_the_answer_to_wake_latency_is_observed_on_the_change_stream(
    app_store: LocalStore, client: httpx.Client
) -> None:
    event = ask(app_store, "woken")
    started, heard = threading.Event(), threading.Event()

    def follow() -> None:
        params = {"prefix": f"outcomes/{event.request_id[:8]}/"}
        with client.stream("GET", "/api/changes", params=params) as stream:
            for line in stream.iter_lines():
                started.set()  # the first line comes once the stream is subscribed
                if line == f"data: {event.request_id}":
                    heard.set()
                    return

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    assert started.wait(10)
    before = scrape(client)
    event.answer(3)
    assert heard.wait(10)
    follower.join(10)
    after = scrape(client)

    assert value(before, "hitlkit_answer_wake_seconds_count") == 0
    assert value(after, "hitlkit_answer_wake_seconds_count") == 1
    assert 0 <= value(after, "hitlkit_answer_wake_seconds_sum") < 10


def test_notifications_sent_by_the_process_are_counted(
    app_store: LocalStore, client: httpx.Client
) -> None:
    hook = HookServer()
    labels = {"scheme": "json", "kind": "opened", "result": "sent"}
    try:
        before = value(scrape(client), "hitlkit_notifications_total", **labels)
        ask(app_store, "told", notify=[hook.url])
        hook.wait_for(1)
        wait_until(
            lambda: value(scrape(client), "hitlkit_notifications_total", **labels) == before + 1,
            "the delivery to be counted",
        )
    finally:
        hook.close()


# -- who may scrape --------------------------------------------------------------------------


def test_a_scrape_token_reads_the_metrics_and_nothing_else(
    app_store: LocalStore, tmp_path: Path
) -> None:
    api_tokens, scrape_tokens = tmp_path / "tokens.json", tmp_path / "metrics-tokens.json"
    api = create_token(api_tokens, "ana")
    scraper = create_token(scrape_tokens, "prometheus")
    event = ask(app_store, "guarded")
    with served(app_store, tokens_file=api_tokens, metrics_tokens_file=scrape_tokens) as http:
        anonymous = http.get("/metrics")
        wrong = http.get("/metrics", headers={"Authorization": f"Bearer {scraper}x"})
        by_scraper = scrape(http, Authorization=f"Bearer {scraper}")
        by_api = scrape(http, Authorization=f"Bearer {api}")
        as_scraper = {"Authorization": f"Bearer {scraper}"}
        answer = http.post(
            f"/api/events/{event.request_id}/answer", json={"value": 1}, headers=as_scraper
        )
        listing = http.get("/api/events", headers=as_scraper)
        probes = [http.get("/healthz"), http.get("/readyz"), http.get("/health")]

    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "unauthorized"
    assert "--metrics" in anonymous.json()["message"]
    assert wrong.status_code == 401
    assert value(by_scraper, "hitlkit_events_pending") == 1
    assert value(by_api, "hitlkit_events_pending") == 1
    assert answer.status_code == 401
    assert listing.status_code == 401
    assert [p.status_code for p in probes] == [200, 200, 200]
    assert event.outcome() is None


def test_a_metrics_tokens_file_alone_closes_the_metrics(
    app_store: LocalStore, tmp_path: Path
) -> None:
    scraper = create_token(tmp_path / "metrics-tokens.json", "prometheus")
    with served(app_store, metrics_tokens_file=tmp_path / "metrics-tokens.json") as http:
        assert http.get("/metrics").status_code == 401
        assert http.get("/api/events").status_code == 200  # the API stays as open as it was
        scrape(http, Authorization=f"Bearer {scraper}")


def test_without_tokens_the_metrics_are_as_open_as_the_api(client: httpx.Client) -> None:
    scrape(client)
    refused = client.get("/metrics", headers={"Authorization": "Bearer hitl_not-a-real-token"})
    assert refused.status_code == 401
