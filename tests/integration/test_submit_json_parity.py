"""`POST /submit/json` answers the same through the fast lane as through FastAPI's route.

Two apps over real HTTP, one with the fast lane (the default) and one without
(`create_app(fast_lane=False)`), each over its own folder holding the same events (an
event's id depends on its run and name only). Every generated request goes to both in
turn, so both stores live through the same history; each pair of responses must agree
on status, body (but for the times recorded) and every header but `date` and `server`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hitlkit
from hitlkit import LocalStore
from hitlkit._links import sign_answer_link
from hitlkit._records import event_key, utcnow
from hitlkit._server import MAX_BODY_BYTES, create_app
from hitlkit._server._api import SubmitJsonLane
from hitlkit._tokens import create_token
from tests.integration.conftest import serve_in_thread
from tests.models import Deploy

SECRET = "parity-secret-0123456789"
RUN = "parity"
UNKNOWN_ID = "0" * 24
CORRUPT_ID = "c" * 24
NAMES = ["count", "ok", "ratio", "pick", "deploy", "words", "closed", "assigned"]


@dataclass(frozen=True)
class Apps:
    fast: httpx.Client
    fastapi: httpx.Client
    ids: dict[str, str]
    token: str


def fill(store: LocalStore) -> dict[str, str]:
    """The same events in each store: open ones of several types, a cancelled one,
    one assigned to someone else, and a record that cannot be read."""

    def ask(name: str, data_type: Any, **options: Any) -> str:
        event = hitlkit.new_event(name, data_type, store=store, run_id=RUN, serve=False, **options)
        return event.request_id

    ids = {
        "count": ask("count", int),
        "ok": ask("ok", bool),
        "ratio": ask("ratio", float),
        "pick": ask("pick", Literal["a", "b"]),
        "deploy": ask("deploy", Deploy),
        "words": ask("words", str),
        "closed": ask("closed", int),
        "assigned": ask("assigned", int, assignees=["bob"]),
    }
    hitlkit.Client(store=store).cancel(ids["closed"], reason="not needed")
    corrupt = store.root / event_key(CORRUPT_ID)
    corrupt.parent.mkdir(parents=True, exist_ok=True)
    corrupt.write_text("{not json")
    return ids


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[Apps]:
    folder = tmp_path
    tokens = folder / "tokens.json"
    token = create_token(tokens, "ana")
    clients: list[httpx.Client] = []
    servers = []
    ids: dict[str, str] = {}
    for fast_lane in (True, False):
        store = LocalStore(folder / f"store-{fast_lane}")
        ids = fill(store)
        app = create_app(store, tokens_file=tokens, secret=SECRET, fast_lane=fast_lane)
        server, thread, port = serve_in_thread(app)
        servers.append((server, thread, store))
        url = f"http://127.0.0.1:{port}"
        # A connection per request: one the app closes (after a 413, or a failure) is never
        # reused by the next example.
        once = httpx.Limits(max_keepalive_connections=0)
        clients.append(httpx.Client(base_url=url, timeout=10, trust_env=False, limits=once))
    yield Apps(clients[0], clients[1], ids, token)
    for client in clients:
        client.close()
    for server, thread, store in servers:
        server.should_exit = True
        thread.join(10)
        store.close()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["3", "yes", "a", "v2", "1.5", "", " 7 ", "٣"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
deploys = st.fixed_dictionaries(
    {"version": st.sampled_from(["v2", "2", "v10"]), "env": st.sampled_from(["prod", "dev"])},
    optional={"limits": st.just({"cpu": 2}), "replicas": st.integers(0, 11)},
)


@dataclass(frozen=True)
class Submission:
    target: str
    value: Any
    shape: str
    content_type: str | None
    auth: str
    key: str | None
    accept: str | None
    fetch_site: str | None

    def request(self, apps: Apps) -> tuple[bytes, dict[str, str]]:
        request_id = apps.ids.get(self.target, self.target)
        return self.body(request_id), self.headers(apps, request_id)

    def body(self, request_id: str) -> bytes:
        fields: dict[str, Any] = {"request_id": request_id, "value": self.value}
        shapes: dict[str, Any] = {
            "valid": fields,
            "extra": {**fields, "data_type": "int", "response_path": "x", "more": 1},
            "no_value": {"request_id": request_id},
            "no_id": {"value": self.value},
            "id_not_text": {"request_id": 5, "value": self.value},
            "list": [fields],
        }
        if self.shape in shapes:
            return json.dumps(shapes[self.shape]).encode()
        if self.shape == "oversized":
            return json.dumps({**fields, "pad": "x" * MAX_BODY_BYTES}).encode()
        if self.shape == "duplicate_keys":
            return f'{{"request_id": "{request_id}", "value": 1, "value": 2}}'.encode()
        if self.shape == "nan":
            return f'{{"request_id": "{request_id}", "value": NaN}}'.encode()
        if self.shape == "lone_surrogate":
            return f'{{"request_id": "{request_id}", "value": "\\ud800"}}'.encode()
        if self.shape == "latin1":
            return f'{{"request_id": "{request_id}", "value": "caf\xe9"}}'.encode("latin-1")
        if self.shape == "empty":
            return b""
        return b'{"request_id": "' + request_id.encode() + b'", "value": '  # cut short

    def headers(self, apps: Apps, request_id: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        for name, header in (
            ("Idempotency-Key", self.key),
            ("Accept", self.accept),
            ("Sec-Fetch-Site", self.fetch_site),
        ):
            if header is not None:
                headers[name] = header
        credential = self.credential(apps, request_id)
        if credential is not None:
            headers["Authorization"] = f"Bearer {credential}"
        return headers

    def credential(self, apps: Apps, request_id: str) -> str | None:
        later = utcnow() + timedelta(hours=1)
        if self.auth == "token":
            return apps.token
        if self.auth == "bad_token":
            return "hitl_" + "x" * 43
        linked = request_id if hitlkit._records.is_event_id(request_id) else apps.ids["count"]
        if self.auth == "link":
            return sign_answer_link(SECRET, linked, identity="ana", expires_at=later)
        if self.auth == "link_other":
            return sign_answer_link(SECRET, apps.ids["ok"], identity="ana", expires_at=later)
        if self.auth == "link_expired":
            earlier = utcnow() - timedelta(seconds=1)
            return sign_answer_link(SECRET, linked, identity="ana", expires_at=earlier)
        return None


SHAPES = [
    "valid",
    "extra",
    "no_value",
    "no_id",
    "id_not_text",
    "list",
    "oversized",
    "duplicate_keys",
    "nan",
    "lone_surrogate",
    "latin1",
    "empty",
    "cut_short",
]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON",
    "application/problem+json",
    "text/plain",
    "application/x-www-form-urlencoded",
    None,
]

submissions = st.builds(
    Submission,
    target=st.sampled_from([*NAMES, UNKNOWN_ID, CORRUPT_ID, "../../etc/passwd", "", "C" * 24]),
    value=json_values | deploys,
    shape=st.sampled_from(SHAPES) | st.just("valid"),
    content_type=st.sampled_from(CONTENT_TYPES) | st.just("application/json"),
    auth=st.sampled_from(["none", "bad_token", "link", "link_other", "link_expired"])
    | st.just("token"),
    key=st.sampled_from([None, "retry-1", "retry-2", "has space", "k" * 256]),
    accept=st.sampled_from([None, "application/json", "text/html,application/xhtml+xml"]),
    fetch_site=st.sampled_from([None, None, None, "same-origin", "cross-site"]),
)

_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_SKIPPED_HEADERS = {"date", "server", "content-length"}


def seen(response: httpx.Response) -> tuple[int, dict[str, str], str]:
    """What a client sees in a response, but for the times recorded in it."""
    headers = {k: v for k, v in response.headers.items() if k not in _SKIPPED_HEADERS}
    assert int(response.headers.get("content-length", len(response.content))) == len(
        response.content
    )
    return response.status_code, headers, _TIME.sub("<time>", response.text)


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(submission=submissions)
def test_the_fast_lane_answers_as_fastapi_does(apps: Apps, submission: Submission) -> None:
    body, headers = submission.request(apps)

    fast = apps.fast.post("/submit/json", content=body, headers=headers)
    routed = apps.fastapi.post("/submit/json", content=body, headers=headers)

    assert seen(fast) == seen(routed), submission


def test_every_kind_of_request_is_tried(apps: Apps) -> None:
    """The cases the issue names, each at least once: the same answers, and the ones meant."""
    cases = {
        "valid": (
            Submission("count", 3, "valid", "application/json", "token", None, None, None),
            200,
        ),
        "duplicate": (
            Submission("count", 3, "valid", "application/json", "token", None, None, None),
            200,
        ),
        "another value": (
            Submission("count", 4, "valid", "application/json", "token", None, None, None),
            409,
        ),
        "invalid": (
            Submission("ok", "maybe", "valid", "application/json", "token", None, None, None),
            422,
        ),
        "oversized": (
            Submission("ok", 1, "oversized", "application/json", "token", None, None, None),
            413,
        ),
        "unauthenticated": (
            Submission("ok", True, "valid", "application/json", "none", None, None, None),
            401,
        ),
        "wrong content type": (
            Submission("ok", True, "valid", "text/plain", "token", None, None, None),
            422,
        ),
        "bad JSON": (
            Submission("ok", True, "cut_short", "application/json", "token", None, None, None),
            422,
        ),
        "unknown id": (
            Submission(UNKNOWN_ID, 1, "valid", "application/json", "token", None, None, None),
            404,
        ),
        "closed": (
            Submission("closed", 1, "valid", "application/json", "token", None, None, None),
            410,
        ),
        "not assigned": (
            Submission("assigned", 1, "valid", "application/json", "token", None, None, None),
            403,
        ),
        "a float with an exponent": (
            Submission("ratio", 1e100, "valid", "application/json", "token", None, None, None),
            200,
        ),
        "text beyond ASCII": (
            Submission("words", "café ✓", "valid", "application/json", "token", None, None, None),
            200,
        ),
        "corrupt, asked by a browser": (
            Submission(
                CORRUPT_ID, 1, "valid", "application/json", "token", None, "text/html", None
            ),
            500,
        ),
    }
    for name, (submission, status) in cases.items():
        body, headers = submission.request(apps)
        fast = apps.fast.post("/submit/json", content=body, headers=headers)
        routed = apps.fastapi.post("/submit/json", content=body, headers=headers)
        assert seen(fast) == seen(routed), name
        assert fast.status_code == status, (name, fast.text)


def test_fast_lane_false_leaves_submit_json_to_fastapi(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with_lane: list[object] = [m.cls for m in create_app(store).user_middleware]
    without: list[object] = [m.cls for m in create_app(store, fast_lane=False).user_middleware]
    assert SubmitJsonLane in with_lane
    assert SubmitJsonLane not in without
    store.close()
