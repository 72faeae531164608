"""`require_approval`, `ask_approval` and `redact`: asking before a call runs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import hitlkit
from hitlkit import Approval, ApprovalRejected, ApprovalTimeout, MemoryStore
from hitlkit._reading import EventInfo


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


class Answerer:
    """Answers each approval that opens in `store` with `decide(info)` (`None`: leave
    it), from a thread."""

    def __init__(self, store: MemoryStore, decide: Callable[[EventInfo], Any]) -> None:
        self.store = store
        self.decide = decide
        self.asked: list[EventInfo] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            for info in hitlkit.list_events(store=self.store):
                self.asked.append(info)
                value = self.decide(info)
                if value is not None:
                    hitlkit.answer(info.request_id, value, store=self.store)

    def __enter__(self) -> Answerer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def approve(store: MemoryStore) -> Iterator[Answerer]:
    with Answerer(store, lambda info: {"approved": True}) as answerer:
        yield answerer


def test_an_approved_call_runs_once_and_a_retry_finds_its_answer(
    store: MemoryStore, approve: Answerer
) -> None:
    runs: list[str] = []

    @hitlkit.require_approval("Ship it?", store=store, run_id="r1")
    def ship(version: str) -> str:
        runs.append(version)
        return f"shipped {version}"

    assert ship("2.1") == "shipped 2.1"
    assert ship("2.1") == "shipped 2.1"  # the same call: no second question
    assert ship(version="2.2") == "shipped 2.2"
    assert runs == ["2.1", "2.1", "2.2"]
    assert len(approve.asked) == 2
    assert approve.asked[0].prompt.startswith("Ship it?")
    assert '"2.1"' in approve.asked[0].prompt


def test_a_no_raises_with_the_persons_reason_and_the_call_does_not_run(
    store: MemoryStore,
) -> None:
    runs: list[int] = []

    @hitlkit.require_approval(store=store, run_id="r1")
    def drop_table(rows: int) -> None:
        runs.append(rows)

    no = {"approved": False, "reason": "not on a Friday"}
    with Answerer(store, lambda info: no), pytest.raises(ApprovalRejected) as caught:
        drop_table(10)
    assert runs == []
    assert caught.value.reason == "not on a Friday"
    assert not isinstance(caught.value, ApprovalTimeout)
    assert caught.value.outcome is not None
    assert caught.value.outcome.status == "answered"


def test_async_functions_are_asked_without_blocking_the_loop(
    store: MemoryStore, approve: Answerer
) -> None:
    @hitlkit.require_approval(store=store, run_id="r1")
    async def pay(amount: float) -> float:
        await asyncio.sleep(0)
        return amount

    async def main() -> tuple[float, float]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        ticker = asyncio.create_task(tick())
        paid = await asyncio.gather(pay(5.0), pay(7.5))
        ticker.cancel()
        assert ticks > 1
        return paid[0], paid[1]

    assert asyncio.run(main()) == (5.0, 7.5)


def test_no_answer_in_time_raises_approval_timeout_unless_a_default_decides(
    store: MemoryStore,
) -> None:
    @hitlkit.require_approval(store=store, run_id="r1", timeout_seconds=0.2)
    def strict() -> str:
        return "ran"

    @hitlkit.require_approval(store=store, run_id="r1", timeout_seconds=0.2, default=True)
    def lenient() -> str:
        return "ran"

    @hitlkit.require_approval(store=store, run_id="r1", timeout_seconds=0.2, default=False)
    def cautious() -> str:
        return "ran"

    with pytest.raises(ApprovalTimeout) as caught:
        strict()
    assert isinstance(caught.value, TimeoutError)
    assert lenient() == "ran"
    with pytest.raises(ApprovalRejected, match="by default") as refused:
        cautious()
    assert not isinstance(refused.value, ApprovalTimeout)


def test_a_cancelled_approval_rejects_with_the_cancel_reason(store: MemoryStore) -> None:
    def cancel_each(info: EventInfo) -> None:
        hitlkit.cancel(info.request_id, reason="superseded", store=store)

    @hitlkit.require_approval(store=store, run_id="r1")
    def migrate() -> None:
        raise AssertionError("must not run")

    with Answerer(store, cancel_each), pytest.raises(ApprovalRejected) as caught:
        migrate()
    assert caught.value.reason == "superseded"
    assert caught.value.outcome is not None
    assert caught.value.outcome.status == "cancelled"


def test_secrets_are_hidden_from_the_prompt_and_the_name(store: MemoryStore) -> None:
    secret = "sk-live-1234567890"
    event = hitlkit.ask_approval(
        "connect",
        {"host": "db1", "password": secret, "options": {"authToken": secret, "port": 5432}},
        store=store,
        serve=False,
    )
    record = event.record
    assert secret not in record.prompt
    assert secret not in event.name
    assert "[redacted]" in record.prompt
    assert "5432" in record.prompt
    # Another secret is another call, and its name tells nothing of either secret.
    again = hitlkit.ask_approval(
        "connect",
        {"host": "db1", "password": "other", "options": {"authToken": "x", "port": 5432}},
        store=store,
        serve=False,
    )
    assert again.request_id != event.request_id
    assert again.record.prompt == record.prompt
    assert (
        event.name
        == hitlkit.ask_approval(
            "connect",
            {"host": "db1", "password": secret, "options": {"authToken": secret, "port": 5432}},
            store=store,
            serve=False,
        ).name
    )


def test_long_values_are_shortened_in_the_prompt_but_still_tell_calls_apart(
    store: MemoryStore,
) -> None:
    first = "a" * 500 + "1"
    second = "a" * 500 + "2"
    one = hitlkit.ask_approval("post", {"body": first}, store=store, serve=False)
    two = hitlkit.ask_approval("post", {"body": second}, store=store, serve=False)
    assert one.request_id != two.request_id
    assert first not in one.record.prompt
    assert "more characters" in one.record.prompt


def test_argument_text_cannot_close_the_code_block(store: MemoryStore) -> None:
    hostile = "```\n\n[click me](https://evil.example)\n```"
    event = hitlkit.ask_approval("run", {"command": hostile}, store=store, serve=False)
    prompt = event.record.prompt
    fence = prompt.splitlines()[-1]
    assert set(fence) == {"`"}
    assert len(fence) > 3
    body = prompt.split(fence)[1]
    assert "[click me]" in body


def test_an_instance_without_data_is_told_apart_by_identity(
    store: MemoryStore, approve: Answerer
) -> None:
    class Mailer:
        @hitlkit.require_approval(store=store, run_id="r1")
        def send(self, to: str) -> str:
            return to

    mailer = Mailer()
    assert mailer.send("ana") == "ana"
    assert mailer.send("ana") == "ana"  # the same call: answered already
    assert Mailer().send("ana") == "ana"  # another object: never another's approval
    assert len(approve.asked) == 2
    assert '"self": "<Mailer 0x' in approve.asked[0].prompt
    assert approve.asked[0].name.startswith(f"{__name__}.")


def test_the_decorator_without_parentheses(store: MemoryStore, monkeypatch: Any) -> None:
    monkeypatch.setenv("HITL_STORE", "memory://approvals-bare")
    bare_store = hitlkit.open_store("memory://approvals-bare")
    assert isinstance(bare_store, MemoryStore)

    @hitlkit.require_approval
    def tidy() -> str:
        return "tidied"

    with Answerer(bare_store, lambda info: {"approved": True}):
        assert tidy() == "tidied"


def test_an_approval_is_answered_with_its_model_or_its_json(store: MemoryStore) -> None:
    event = hitlkit.ask_approval("x", {}, store=store, serve=False)
    outcome = hitlkit.answer(event.request_id, Approval(approved=True, reason="fine"), store=store)
    assert outcome is not None
    assert hitlkit.check_approval(event, outcome) == Approval(approved=True, reason="fine")
    with pytest.raises(hitlkit.InvalidValueError, match="approved"):
        hitlkit.answer(
            hitlkit.ask_approval("y", {}, store=store, serve=False).request_id,
            {"reason": "no decision"},
            store=store,
        )


@pytest.mark.parametrize(
    ("name", "hidden"),
    [
        ("api_key", True),
        ("apiKey", True),
        ("GITHUB_TOKEN", True),
        ("client_secret", True),
        ("db-password", True),
        ("authorization", True),
        ("card_number", True),
        ("cvv", True),
        ("sessionId", True),
        ("keyword", False),
        ("key", False),
        ("sort_key", False),
        ("private", False),
        ("privateKey", True),
        ("secret_key", True),
        ("monkey", False),
        ("to", False),
        ("span", False),
        ("company", False),
        ("tokens_used", False),
    ],
)
def test_redact_hides_names_that_look_secret(name: str, hidden: bool) -> None:
    assert (hitlkit.redact({name: "v"})[name] == "[redacted]") is hidden


@pytest.mark.parametrize(
    "text",
    [
        "Bearer abc.defghijk",
        "basic dXNlcjpwYXNzd29yZA==",
        "sk_live_51H8xyz",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=",
    ],
)
def test_redact_hides_text_that_looks_like_a_credential(text: str) -> None:
    assert hitlkit.redact({"note": text, "nested": [{"x": text}]}) == {
        "note": "[redacted]",
        "nested": [{"x": "[redacted]"}],
    }


def test_the_rejection_says_why(store: MemoryStore) -> None:
    @hitlkit.require_approval(store=store, run_id="r1")
    def deploy() -> None:
        raise AssertionError("must not run")

    no = {"approved": False, "reason": "freeze\x1b[31m until Monday"}
    with Answerer(store, lambda info: no), pytest.raises(ApprovalRejected) as caught:
        deploy()
    message = str(caught.value)
    assert " was rejected by " in message
    assert message.endswith(": freeze\\x1b[31m until Monday")  # escaped for a terminal
    assert caught.value.reason == "freeze\x1b[31m until Monday"  # kept as given


def test_a_waiting_call_says_where_to_answer(
    store: MemoryStore, approve: Answerer, capsys: pytest.CaptureFixture[str]
) -> None:
    @hitlkit.require_approval(store=store, run_id="r1")
    def tidy() -> None:
        pass

    tidy()
    (line,) = capsys.readouterr().err.splitlines()
    (asked,) = approve.asked
    assert f"/form/{asked.request_id}" in line
    assert line.endswith(f"answer {asked.request_id} yes)")
    tidy()  # answered already: nothing to say
    assert capsys.readouterr().err == ""


def test_on_ask_replaces_the_line(store: MemoryStore, approve: Answerer) -> None:
    told: list[str] = []

    @hitlkit.require_approval(store=store, run_id="r1", on_ask=lambda e: told.append(e.form_url))
    async def tidy() -> None:
        pass

    asyncio.run(tidy())
    asyncio.run(tidy())
    (url,) = told
    assert url.endswith(f"/form/{approve.asked[0].request_id}")


def test_redact_keeps_what_only_looks_like_a_credential_and_masks_url_passwords() -> None:
    assert hitlkit.redact(
        {"text": "Basic maintenance tonight", "dsn": "postgres://app:hunter2@db:5432/x"}
    ) == {"text": "Basic maintenance tonight", "dsn": "postgres://app:[redacted]@db:5432/x"}


def test_a_method_of_an_instance_with_data_is_asked_per_instance(
    store: MemoryStore, approve: Answerer
) -> None:
    class Account:
        def __init__(self, owner: str) -> None:
            self.owner = owner
            self._pin = "1234"

        @hitlkit.require_approval(store=store, run_id="r1")
        def withdraw(self, amount: int) -> str:
            return f"{self.owner} -{amount}"

    assert Account("alice").withdraw(10) == "alice -10"
    assert Account("bob").withdraw(10) == "bob -10"
    assert len(approve.asked) == 2
    assert '"owner": "bob"' in approve.asked[1].prompt
    assert "1234" not in approve.asked[1].prompt


def test_calls_that_differ_in_a_hidden_value_are_asked_apart(
    store: MemoryStore, approve: Answerer
) -> None:
    @hitlkit.require_approval(store=store, run_id="r1")
    def transfer(iban: str, amount: int) -> str:
        return iban

    assert transfer("DE89370400440532013000", 100) == "DE89370400440532013000"
    assert transfer("GB00EVIL00000000000000", 100) == "GB00EVIL00000000000000"
    assert len(approve.asked) == 2
    for asked in approve.asked:
        assert "DE89" not in asked.prompt + asked.name
        assert "GB00" not in asked.prompt + asked.name
    key = store.get(hitlkit._approval.NAME_KEY)
    assert key is not None
    assert len(key) == 64


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "curl -H 'Authorization: Bearer ghp_16C7e42F292c6912E7710c838347Ae178B4a' api",
            "curl -H 'Authorization: [redacted]' api",
        ),
        ("key sk-proj-abcdefghijklmnopqrstuvwxyz here", "key [redacted] here"),
        ("AKIAIOSFODNN7EXAMPLE", "[redacted]"),
        ("xoxb-1234-5678-abcdef", "[redacted]"),
        (
            "https://ana:p@ss@host/x?token=abc&page=2",
            "https://ana:[redacted]@host/x?token=[redacted]&page=2",
        ),
    ],
)
def test_redact_hides_credentials_inside_text(text: str, shown: str) -> None:
    assert hitlkit.redact({"note": text}) == {"note": shown}


def test_an_argument_that_is_not_json_never_makes_two_calls_one(
    store: MemoryStore, approve: Answerer
) -> None:
    class Connection:
        pass

    @hitlkit.require_approval(store=store, run_id="r1")
    def pay(conn: Connection, to: str, amount: int) -> str:
        return f"{to} {amount}"

    conn = Connection()
    assert pay(conn, "bob", 1) == "bob 1"
    assert pay(conn, "mallory", 1_000_000) == "mallory 1000000"
    assert pay(conn, "bob", 1) == "bob 1"  # the same call again: answered already
    assert len(approve.asked) == 2


@pytest.mark.parametrize(
    "text",
    ["a" * 100_000, "QUFB" * 25_000, "a://:" + "b" * 100_000, "a-" * 50_000, "bearer " * 20_000],
)
def test_redact_takes_linear_time_on_long_text(text: str) -> None:
    started = time.perf_counter()
    hitlkit.redact({"x": text})
    hitlkit.approval_name("f", {"x": text})
    assert time.perf_counter() - started < 2  # quadratic patterns took seconds here


def test_redact_shows_bytes_and_hides_credentials_in_keys_and_assignments() -> None:
    assert hitlkit.redact(
        {
            "png": bytes([0x89, 0x50, 0xFF, 0xFE]),
            "cfg": {"sk_live_abc123": 1},
            "env": "PASSWORD=hunter2 USER=ana",
            "dsn": "Server=db;Password=hunter2;",
            "json": '{"password": "hunter2"}',
            "argv": ["--token=abc"],
            "text": "we meet at the token ring",
        }
    ) == {
        "png": "<bytes>",
        "cfg": {"[redacted]": 1},
        "env": "PASSWORD=[redacted] USER=ana",
        "dsn": "Server=db;Password=[redacted];",
        "json": '{"password": "[redacted]"}',
        "argv": ["--token=[redacted]"],
        "text": "we meet at the token ring",
    }
