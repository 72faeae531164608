"""`hitl mcp` driven by the MCP SDK's own client, over stdio and streamable HTTP.

Each test runs the server as a real process on a real store folder; answers come from
the web form (the app `hitl mcp` starts), the `hitl` CLI, and the client itself
(elicitation).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import mcp.types as mt
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

import hitlkit
from hitlkit import _ops
from tests.acceptance.conftest import HITL, TIMEOUT, Hitl, HitlEnv, free_port, one_error_line
from tests.forms import form_fields

pytestmark = pytest.mark.slow

Elicit = Callable[[Any, Any], Awaitable[mt.ElicitResult]]


@asynccontextmanager
async def stdio_client(
    env: HitlEnv,
    *,
    mode: str = "auto",
    elicit: Elicit | None = None,
    **extra: str,
) -> AsyncIterator[Client]:
    """A client session with a `hitl mcp` started over stdio in the test's environment."""
    server = StdioServerParameters(
        command=sys.executable,
        args=[*HITL[1:], "mcp"],
        env={**env.vars, **extra},
        cwd=env.cwd,
    )
    async with Client(server, mode=mode, elicitation_callback=elicit) as client:  # type: ignore[arg-type]
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool's JSON result; fails the test on a tool error."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


async def refused(client: Client, tool: str, **arguments: Any) -> str:
    """The message of a tool error."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    content = result.content[0]
    assert isinstance(content, mt.TextContent)
    return content.text


def answer_in_form(env: HitlEnv, request_id: str, value: str) -> httpx.Response:
    """Answer through the web form, as a browser does."""
    with httpx.Client(timeout=TIMEOUT) as browser:
        url = f"{env.endpoint}/form/{request_id}"
        fields = form_fields(browser, url)
        posted = browser.post(f"{env.endpoint}/submit", data={**fields, "value": value})
        if posted.status_code == 303:
            return browser.get(posted.url.join(posted.headers["location"]))
        return posted


def test_a_question_asked_over_stdio_is_answered_in_the_form_and_from_the_cli(
    hitl_env: HitlEnv, hitl: Hitl
) -> None:
    async def main() -> None:
        async with stdio_client(hitl_env) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert tools == {"ask_human", "get_answer", "list_pending", "cancel_request"}
            asked = await call(
                client, "ask_human", question="How many replicas?", answer_type="int"
            )
            assert asked["status"] == "pending"
            assert asked["form_url"] == f"{hitl_env.endpoint}/form/{asked['request_id']}"
            assert asked["expires_at"].endswith("Z")
            listed = await call(client, "list_pending")
            assert [p["request_id"] for p in listed["pending"]] == [asked["request_id"]]

            page = await asyncio.to_thread(answer_in_form, hitl_env, asked["request_id"], "3")
            assert page.status_code == 200
            got = await call(client, "get_answer", request_id=asked["request_id"])
            assert (got["status"], got["value"], got["channel"]) == ("answered", 3, "form")
            assert got["at"] is not None

            choice = await call(
                client, "ask_human", question="Ship?", choices=["ship", "hold"], name="ship"
            )
            done = await asyncio.to_thread(hitl, "answer", choice["request_id"], "hold")
            assert done.code == 0, done.stderr
            got = await call(client, "get_answer", request_id=choice["request_id"])
            assert (got["value"], got["by"], got["channel"]) == ("hold", "tester", "cli")
            assert (await call(client, "list_pending"))["pending"] == []

    asyncio.run(main())


def test_a_long_poll_wakes_when_the_answer_lands_and_ends_pending_otherwise(
    hitl_env: HitlEnv, hitl: Hitl
) -> None:
    async def main() -> None:
        async with stdio_client(hitl_env) as client:
            asked = await call(client, "ask_human", question="Go?", answer_type="bool")
            request_id = asked["request_id"]

            started = time.monotonic()
            quiet = await call(client, "get_answer", request_id=request_id, wait_seconds=1)
            assert quiet["status"] == "pending"
            assert 0.9 <= time.monotonic() - started < 10

            def answer_soon() -> None:
                time.sleep(0.5)
                assert hitl("answer", request_id, "yes").code == 0

            answering = threading.Thread(target=answer_soon)
            started = time.monotonic()
            answering.start()
            woken = await call(client, "get_answer", request_id=request_id, wait_seconds=40)
            took = time.monotonic() - started
            answering.join()
            assert (woken["status"], woken["value"]) == ("answered", True)
            assert took < 20, f"the long poll returned after {took:.1f}s, not at the answer"

    asyncio.run(main())


def test_the_question_outlives_the_session(hitl_env: HitlEnv, hitl: Hitl) -> None:
    async def ask() -> dict[str, Any]:
        async with stdio_client(hitl_env) as client:
            return await call(
                client,
                "ask_human",
                question="Merge #42?",
                answer_type="bool",
                name="merge-42",
                run="chat-7",
            )

    first = asyncio.run(ask())  # the client disconnects; the server exits with it
    assert hitl("answer", first["request_id"], "no").code == 0

    async def come_back() -> None:
        async with stdio_client(hitl_env) as client:
            again = await call(
                client,
                "ask_human",
                question="Merge #42?",
                answer_type="bool",
                name="merge-42",
                run="chat-7",
            )
            assert again["request_id"] == first["request_id"]
            assert (again["status"], again["value"], again["by"]) == ("answered", False, "tester")
            got = await call(client, "get_answer", request_id=first["request_id"])
            assert got == again

    asyncio.run(come_back())
    listed = json.loads(hitl("ls", "--status", "all", "--json").stdout)
    assert len(listed) == 1


def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(hitl_env: HitlEnv) -> None:
    async def main() -> None:
        async with stdio_client(hitl_env) as client:
            assert "answer_type must be" in await refused(
                client, "ask_human", question="?", answer_type="decimal"
            )
            assert "object schema" in await refused(
                client, "ask_human", question="?", answer_type={"type": "array"}
            )
            assert 'needs "properties"' in await refused(
                client, "ask_human", question="?", answer_type={"type": "object"}
            )
            await call(client, "ask_human", question="How many?", answer_type="int", name="n")
            assert "asks for another answer_type; give this one another name" in await refused(
                client, "ask_human", question="How many?", answer_type="str", name="n"
            )
            # The answer to one question is never passed off as the answer to another.
            assert "was asked before with other words" in await refused(
                client,
                "ask_human",
                question="How many servers to delete?",
                answer_type="int",
                name="n",
            )
            assert "schema cannot be asked:" in await refused(
                client,
                "ask_human",
                question="?",
                answer_type={"type": "object", "properties": {"x": {"type": "array"}}},
            )
            assert 'choices take answer_type "str"' in await refused(
                client, "ask_human", question="?", answer_type="int", choices=["1", "2"]
            )
            assert "different, non-empty strings" in await refused(
                client, "ask_human", question="?", choices=["a", "a"]
            )
            assert "question must be non-empty" in await refused(client, "ask_human", question="  ")
            assert "timeout_seconds must be a positive number" in await refused(
                client, "ask_human", question="?", timeout_seconds=-1
            )
            assert "run must be" in await refused(client, "ask_human", question="?", run="../x")
            # A dot would let run "team.prod" of server "mcp" be run "prod" of "mcp.team".
            assert "run must be" in await refused(
                client, "ask_human", question="?", run="team.prod"
            )
            assert "no question with request_id" in await refused(
                client, "get_answer", request_id="0" * 24
            )
            assert "no question with request_id" in await refused(
                client, "cancel_request", request_id="nonsense"
            )
            assert "lets no one be named as assignee" in await refused(
                client, "ask_human", question="?", assignees=["mallory"]
            )
            assert "unknown notify target 'https://evil.example'" in await refused(
                client, "ask_human", question="?", notify=["https://evil.example"]
            )
            asked = await call(
                client,
                "ask_human",
                question="Deploy window?",
                answer_type={
                    "type": "object",
                    "properties": {"day": {"type": "string"}, "hours": {"type": "integer"}},
                    "required": ["day"],
                },
            )
            assert asked["status"] == "pending"

    asyncio.run(main())


def test_the_model_sees_and_assigns_only_what_the_server_allows(
    hitl_env: HitlEnv, hitl: Hitl, tmp_path: Path
) -> None:
    # An event of another program, in a run this server was not given.
    script = (
        "import hitlkit\n"
        "e = hitlkit.new_event('payroll', data_type=int, run_id='finance', serve=False)\n"
        "print(e.request_id)\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", script],
        env=hitl_env.vars,
        cwd=hitl_env.cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=TIMEOUT,
    ).stdout.strip()

    async def main() -> None:
        async with stdio_client(
            hitl_env, HITL_APPROVERS="ana,ben", HITL_NOTIFY_TARGETS="ops=json://127.0.0.1:9/x"
        ) as client:
            assert (await call(client, "list_pending"))["pending"] == []
            assert "no question with request_id" in await refused(
                client, "get_answer", request_id=other
            )
            assert "no question with request_id" in await refused(
                client, "cancel_request", request_id=other
            )
            assert "not allowed: mallory" in await refused(
                client, "ask_human", question="?", assignees=["ana", "mallory"]
            )
            assert "this server's targets: ops" in await refused(
                client, "ask_human", question="?", notify=["pager"]
            )
            narrowed = await call(
                client,
                "ask_human",
                question="Pay?",
                answer_type="bool",
                assignees=["ben"],
                notify=["ops"],
            )
            by_default = await call(client, "ask_human", question="Pay more?", answer_type="bool")
        shown = json.loads(hitl("show", narrowed["request_id"], "--json").stdout)
        assert shown["assignees"] == ["ben"]
        shown = json.loads(hitl("show", by_default["request_id"], "--json").stdout)
        assert shown["assignees"] == ["ana", "ben"]
        assert shown["run_id"] == "mcp.default"

        async with stdio_client(hitl_env, HITL_MCP_RUNS="finance") as client:
            seen = await call(client, "get_answer", request_id=other)
            assert seen["status"] == "pending"
            cancelled = await call(client, "cancel_request", request_id=other, reason="dup")
            assert cancelled["status"] == "cancelled"

    asyncio.run(main())
    assert json.loads(hitl("show", other, "--json").stdout)["status"] == "cancelled"


def accept(value: Any, before: Callable[[], object] | None = None) -> Elicit:
    """An elicitation callback: runs `before` (another channel's answer), then accepts `value`."""

    async def answer(_: Any, params: Any) -> mt.ElicitResult:
        if before is not None:
            await asyncio.to_thread(before)
        return mt.ElicitResult(action="accept", content={"value": value})

    return answer


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_an_answer_given_in_the_client_is_recorded_as_hitl_user(
    hitl_env: HitlEnv, hitl: Hitl, mode: str
) -> None:
    async def main() -> None:
        async with stdio_client(hitl_env, mode=mode, elicit=accept(4)) as client:
            asked = await call(
                client, "ask_human", question="How many?", answer_type="int", wait_seconds=20
            )
            assert (asked["status"], asked["value"]) == ("answered", 4)
            assert (asked["by"], asked["channel"]) == ("tester", "mcp")
            # The form's page says who answered, and takes no other answer.
            page = await asyncio.to_thread(httpx.get, asked["form_url"])
            assert "tester" in page.text
            assert 'name="csrf"' not in page.text

    asyncio.run(main())
    (shown,) = json.loads(hitl("ls", "--status", "all", "--json").stdout)
    assert shown["outcome"]["value"] == 4


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_a_web_answer_racing_the_client_wins_once(hitl_env: HitlEnv, hitl: Hitl, mode: str) -> None:
    asked_ids: list[str] = []

    def web_first() -> None:
        (request_id,) = asked_ids
        assert answer_in_form(hitl_env, request_id, "5").status_code == 200

    async def main() -> None:
        async with stdio_client(hitl_env, mode=mode, elicit=accept(9, web_first)) as client:
            asked = await call(client, "ask_human", question="How many?", answer_type="int")
            asked_ids.append(asked["request_id"])
            got = await call(client, "get_answer", request_id=asked["request_id"], wait_seconds=20)
            assert (got["status"], got["value"], got["channel"]) == ("answered", 5, "form")
            if mode != "legacy":  # the answer given in the client came back in this call
                assert "not recorded" in got["note"]

    asyncio.run(main())
    (shown,) = json.loads(hitl("ls", "--status", "all", "--json").stdout)
    assert shown["outcome"]["value"] == 5
    audit = json.loads(hitl("show", asked_ids[0], "--json").stdout)
    assert audit["outcome"]["via"] == "form"


def test_a_structured_answer_is_asked_in_the_client_by_link(hitl_env: HitlEnv) -> None:
    seen: list[Any] = []

    async def follow(_: Any, params: Any) -> mt.ElicitResult:
        seen.append(params)
        return mt.ElicitResult(action="decline")

    schema = {
        "type": "object",
        "properties": {
            "files": {"type": "array", "items": {"enum": ["a.py", "b.py"]}, "uniqueItems": True}
        },
        "required": ["files"],
    }

    async def main() -> None:
        async with stdio_client(hitl_env, mode="legacy", elicit=follow) as client:
            asked = await call(
                client, "ask_human", question="Which files?", answer_type=schema, wait_seconds=1
            )
            assert asked["status"] == "pending"
            # Declined once: not asked again in this client.
            again = await call(client, "get_answer", request_id=asked["request_id"], wait_seconds=1)
            assert again["status"] == "pending"

    asyncio.run(main())
    assert len(seen) == 1
    assert seen[0].mode == "url"
    assert seen[0].url.endswith("/form/" + seen[0].elicitation_id)


class HttpServer:
    """`hitl mcp --http` as a process of its own, which the test may kill."""

    def __init__(self, env: HitlEnv, *args: str) -> None:
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.args = [*HITL, "mcp", "--http", "--port", str(self.port), *args]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.args,
            env=self.env.vars,
            cwd=self.env.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                httpx.get(self.url, timeout=1)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    pytest.fail("hitl mcp --http did not start")
                time.sleep(0.1)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(TIMEOUT)

    @asynccontextmanager
    async def client(
        self, token: str | None = None, *, elicit: Elicit | None = None
    ) -> AsyncIterator[Client]:
        """A client session; its HTTP client, which the SDK leaves to its maker, closed after."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        async with (
            create_mcp_http_client(headers) as http,
            Client(
                streamable_http_client(self.url, http_client=http),
                elicitation_callback=elicit,  # type: ignore[arg-type]
            ) as client,
        ):
            yield client


@pytest.fixture
def http_server(hitl_env: HitlEnv) -> Any:
    servers: list[HttpServer] = []

    def make(*args: str) -> HttpServer:
        server = HttpServer(hitl_env, *args)
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.kill()


def test_over_http_a_killed_server_started_again_finds_the_answer(
    hitl_env: HitlEnv, hitl: Hitl, http_server: Callable[..., HttpServer]
) -> None:
    server = http_server()
    asked: list[str] = []

    async def ask_then_die() -> None:
        async with server.client() as client:
            question = await call(
                client,
                "ask_human",
                question="Rotate keys?",
                answer_type="bool",
                name="rotate",
                run="ops",
            )
            asked.append(question["request_id"])
            waiting = asyncio.ensure_future(
                client.call_tool(
                    "get_answer", {"request_id": question["request_id"], "wait_seconds": 40}
                )
            )
            waiting.add_done_callback(ended.append)
            await asyncio.sleep(0.5)
            server.kill()  # SIGKILL while the question is pending and a call waits on it
            # The session ends with the transport's error, which cancels this wait.
            await asyncio.wait({waiting}, timeout=TIMEOUT)

    ended: list[asyncio.Future[Any]] = []
    with contextlib.suppress(Exception):  # the transport's errors, as the session ends
        asyncio.run(ask_then_die())
    (request_id,) = asked
    (cut,) = ended  # the waiting call ended, with no answer
    assert cut.cancelled() or isinstance(cut.exception(), Exception)
    assert hitl("answer", request_id, "yes").code == 0
    server.start()

    async def come_back() -> None:
        async with server.client() as client:
            got = await call(client, "get_answer", request_id=request_id)
            assert (got["status"], got["value"], got["channel"]) == ("answered", True, "cli")
            again = await call(
                client,
                "ask_human",
                question="Rotate keys?",
                answer_type="bool",
                name="rotate",
                run="ops",
            )
            assert again["request_id"] == request_id

    asyncio.run(come_back())


def test_over_http_tokens_and_origin_are_checked(
    hitl_env: HitlEnv, hitl: Hitl, http_server: Callable[..., HttpServer], tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens.json"
    token = hitl("token", "create", "agent", "--tokens-file", str(tokens)).stdout.strip()
    server = http_server("--tokens-file", str(tokens))
    hello = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    bare = httpx.post(server.url, json=hello, headers=headers)
    assert bare.status_code == 401
    assert bare.headers["www-authenticate"] == "Bearer"
    wrong = httpx.post(
        server.url, json=hello, headers={**headers, "Authorization": "Bearer hitl_x"}
    )
    assert wrong.status_code == 401
    authorized = {**headers, "Authorization": f"Bearer {token}"}
    rebound = httpx.post(
        server.url, json=hello, headers={**authorized, "Origin": "http://evil.example"}
    )
    assert rebound.status_code == 403
    foreign_host = httpx.post(
        server.url, json=hello, headers={**authorized, "Host": "evil.example"}
    )
    assert foreign_host.status_code == 421

    async def main() -> None:
        async with server.client(token) as client:
            asked = await call(client, "ask_human", question="Token works?", answer_type="bool")
            assert asked["status"] == "pending"
        # Answered in the client: recorded as the token's identity, not as HITL_USER.
        async with server.client(token, elicit=accept(True)) as client:
            got = await call(client, "get_answer", request_id=asked["request_id"], wait_seconds=20)
            assert (got["value"], got["by"], got["channel"]) == (True, "agent", "mcp")

    asyncio.run(main())
    # The app this server started for the forms takes the same tokens.
    events = f"{hitl_env.endpoint}/api/events"
    assert httpx.get(events).status_code == 401
    assert httpx.get(events, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_http_beyond_loopback_needs_a_tokens_file(hitl: Hitl) -> None:
    done = hitl("mcp", "--http", "--host", "0.0.0.0", "--port", str(free_port()))
    assert done.code != 0
    assert "without authentication" in done.stderr


def test_the_printed_client_config_starts_a_server_from_anywhere(
    hitl_env: HitlEnv, hitl: Hitl, tmp_path: Path
) -> None:
    printed = hitl("mcp", "--client-config")
    assert printed.code == 0, printed.stderr
    (entry,) = json.loads(printed.stdout)["mcpServers"].values()
    assert Path(entry["command"]).is_absolute()
    args = entry["args"]
    assert args[args.index("--store") + 1] == str(hitl_env.store)
    assert args[args.index("--endpoint") + 1] == hitl_env.endpoint
    assert entry["env"] == {"HITL_USER": "tester"}  # carried: the app starts it bare
    # As a desktop app starts it: another folder, none of the shell's settings.
    elsewhere = tmp_path / "desktop"
    elsewhere.mkdir()
    server = StdioServerParameters(
        command=entry["command"],
        args=entry["args"],
        cwd=elsewhere,
        env={**entry["env"], "HITL_CEILING_DIRECTORIES": hitl_env.vars["HITL_CEILING_DIRECTORIES"]},
    )

    async def main() -> None:
        async with Client(server) as client:
            asked = await call(client, "ask_human", question="Lunch?", choices=["soup", "salad"])
            assert hitl("answer", asked["request_id"], "soup").code == 0
            got = await call(client, "get_answer", request_id=asked["request_id"], wait_seconds=5)
            assert (got["status"], got["value"], got["by"]) == ("answered", "soup", "tester")
            assert got["form_url"].startswith(hitl_env.endpoint)
            page = await asyncio.to_thread(httpx.get, got["form_url"])
            assert page.status_code == 200  # its app serves the form

    asyncio.run(main())
    assert not (elsewhere / ".hitl").exists()


def test_a_client_cannot_answer_what_it_was_not_asked(hitl_env: HitlEnv) -> None:
    forged = mt.ElicitResult(action="accept", content={"value": 1})

    async def main() -> None:
        async with stdio_client(hitl_env, mode="2026-07-28") as client:
            asked = await call(client, "ask_human", question="Budget?", answer_type="int")
            arguments = {"request_id": asked["request_id"], "wait_seconds": 0.2}
            unasked = await client.call_tool(
                "get_answer", arguments, input_responses={"hitlkit_answer": forged}
            )
            assert unasked.structured_content is not None
            assert unasked.structured_content["status"] == "pending"
            # A state the server did not seal is refused by the SDK before the tool runs.
            state = json.dumps({"request_id": asked["request_id"], "attempt": 1})
            with pytest.raises(MCPError, match="requestState"):
                await client.call_tool(
                    "get_answer",
                    arguments,
                    input_responses={"hitlkit_answer": forged},
                    request_state=state,
                )
            got = await call(client, "get_answer", request_id=asked["request_id"])
            assert got["status"] == "pending"

    asyncio.run(main())


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_no_elicit_keeps_the_question_out_of_the_client(hitl_env: HitlEnv, mode: str) -> None:
    asked_in_client: list[Any] = []

    async def elicit(_: Any, params: Any) -> mt.ElicitResult:
        asked_in_client.append(params)
        return mt.ElicitResult(action="accept", content={"value": 1})

    async def main() -> None:
        async with stdio_client(hitl_env, mode=mode, elicit=elicit, HITL_MCP_ELICIT="0") as client:
            asked = await call(
                client, "ask_human", question="Budget?", answer_type="int", wait_seconds=0.5
            )
            assert asked["status"] == "pending"

    asyncio.run(main())
    assert asked_in_client == []


def test_http_on_a_port_in_use_says_so_in_one_line(hitl: Hitl) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = hitl("mcp", "--http", "--port", str(port), HITL_AUTOSTART="0")
    assert done.code == 1
    assert one_error_line(done.stderr).startswith(f"error: cannot serve on 127.0.0.1:{port}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "9000"], "--host and --port are for --http"),
        (["--http", "--client-config"], "an HTTP client is given the URL"),
    ],
)
def test_options_that_do_not_go_together_are_refused(
    hitl: Hitl, args: list[str], message: str
) -> None:
    done = hitl("mcp", *args)
    assert done.code == 2
    assert message in one_error_line(done.stderr)


def test_an_answer_in_the_client_after_the_call_returned_is_still_recorded(
    hitl_env: HitlEnv,
) -> None:
    async def slow(_: Any, params: Any) -> mt.ElicitResult:
        await asyncio.sleep(1.5)  # the person takes longer than the call waits
        return mt.ElicitResult(action="accept", content={"value": 8})

    async def main() -> None:
        async with stdio_client(hitl_env, mode="legacy", elicit=slow) as client:
            asked = await call(
                client, "ask_human", question="How many?", answer_type="int", wait_seconds=0.3
            )
            assert asked["status"] == "pending"
            got = await call(client, "get_answer", request_id=asked["request_id"], wait_seconds=10)
            assert (got["status"], got["value"], got["channel"]) == ("answered", 8, "mcp")

    asyncio.run(main())


def test_over_http_without_tokens_the_client_is_not_asked(
    http_server: Callable[..., HttpServer],
) -> None:
    server = http_server()
    asked_in_client: list[Any] = []

    async def elicit(_: Any, params: Any) -> mt.ElicitResult:
        asked_in_client.append(params)
        return mt.ElicitResult(action="accept", content={"value": True})

    async def main() -> None:
        async with server.client(elicit=elicit) as client:
            got = await call(
                client, "ask_human", question="Ship?", answer_type="bool", wait_seconds=0.5
            )
            assert got["status"] == "pending"  # nobody can tell who would have answered

    asyncio.run(main())
    assert asked_in_client == []


def test_the_client_config_names_the_tokens_file_by_its_whole_path(
    hitl: Hitl, hitl_env: HitlEnv
) -> None:
    printed = hitl("mcp", "--client-config", "--tokens-file", "tokens.json")
    (entry,) = json.loads(printed.stdout)["mcpServers"].values()
    assert entry["env"]["HITL_TOKENS_FILE"] == str(hitl_env.cwd / "tokens.json")


def test_a_policy_names_only_approvers_takes_no_urls_and_its_state_comes_back(
    hitl_env: HitlEnv,
) -> None:
    board = {"count": 2, "of": ["ana", "ben", "cy"]}

    def vote(who: str, request_id: str) -> None:
        hitlkit.Client(store=str(hitl_env.store), user=who).answer(request_id, True)

    async def main() -> None:
        async with stdio_client(hitl_env, HITL_APPROVERS="ana,ben,cy") as client:
            refusals = {
                "not allowed: mallory": {"quorum": {"count": 1, "of": ["ana", "mallory"]}},
                "not allowed: oncall": {
                    "escalation": [
                        {"assignees": ["ana"], "after_seconds": 60},
                        {"assignees": ["oncall"]},
                    ]
                },
                "notify takes no URLs here": {
                    "escalation": [{"assignees": ["ana"], "notify": ["json://127.0.0.1:9/x"]}]
                },
                "not: escalate_to": {"on_timeout": "escalate", "escalate_to": ["json://x"]},
                "between 1 and the number of members (2), got 3": {
                    "quorum": {"count": 3, "of": ["ana", "ben"]}
                },
                "policy.separate_duties: Input should be a valid boolean": {
                    "separate_duties": "maybe"
                },
            }
            for message, policy in refusals.items():
                text = await refused(
                    client, "ask_human", question="Ship?", answer_type="bool", policy=policy
                )
                assert message in text, text
            asked = await call(
                client,
                "ask_human",
                question="Ship 4.2?",
                answer_type="bool",
                policy={"quorum": board, "separate_duties": True},
            )
            state = asked["policy"]
            assert (state["summary"], state["requested_by"], state["votes"]) == (
                "0 of 2 approved",
                "tester",
                [],
            )
            assert state["may_answer"] == ["ana", "ben", "cy"]
            await asyncio.to_thread(vote, "ana", asked["request_id"])
            got = await call(client, "get_answer", request_id=asked["request_id"])
            assert got["status"] == "pending"
            assert got["policy"]["summary"] == "1 of 2 approved"
            assert [v["by"] for v in got["policy"]["votes"]] == ["ana"]
            await asyncio.to_thread(vote, "cy", asked["request_id"])
            got = await call(client, "get_answer", request_id=asked["request_id"])
            assert (got["status"], got["value"], got["by"]) == ("answered", True, "cy")
            assert got["policy"]["summary"] == "approved by 2 of 2 votes (2 needed)"
            assert [(v["by"], v["value"]) for v in got["policy"]["votes"]] == [
                ("ana", True),
                ("cy", True),
            ]

    asyncio.run(main())


def test_a_standing_approval_stands_only_for_the_same_question(
    hitl_env: HitlEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HITL_GRANTORS", "ana")
    rotate = "Rotate the staging keys?"

    def grant(request_id: str) -> None:
        store = hitlkit.open_store(str(hitl_env.store))
        coroutine = _ops.answer_event(
            store, request_id, True, by="ana", via="python", grant_seconds=3600
        )
        asyncio.run(coroutine)

    async def ask(client: Client, question: str, run: str) -> dict[str, Any]:
        return await call(
            client,
            "ask_human",
            question=question,
            answer_type="bool",
            name="rotate",
            run=run,
            policy={"grant_scope": "keys"},
        )

    async def main() -> None:
        async with stdio_client(hitl_env, HITL_APPROVERS="ana,ben") as client:
            first = await ask(client, rotate, "r1")
            await asyncio.to_thread(grant, first["request_id"])
            same = await ask(client, rotate, "r2")
            assert (same["status"], same["value"], same["by"]) == ("answered", True, "ana")
            assert same["policy"]["grant"]["by"] == "ana"
            other = await ask(client, "Rotate the production keys?", "r3")
            assert other["status"] == "pending"

    asyncio.run(main())
    # Nor for a program's events of that name and scope.
    program = hitlkit.new_event(
        "rotate",
        bool,
        prompt=rotate,
        store=str(hitl_env.store),
        serve=False,
        policy=hitlkit.Policy(grant_scope="keys"),
    )
    assert program.outcome() is None


def test_who_asked_is_not_asked_in_the_client_under_separation_of_duties(
    hitl_env: HitlEnv,
) -> None:
    asked_in_client: list[Any] = []

    async def elicit(_: Any, params: Any) -> mt.ElicitResult:
        asked_in_client.append(params)
        return mt.ElicitResult(action="accept", content={"value": True})

    async def main() -> None:
        async with stdio_client(hitl_env, elicit=elicit, HITL_APPROVERS="tester,ana") as client:
            asked = await call(
                client,
                "ask_human",
                question="Merge my change?",
                answer_type="bool",
                policy={"quorum": {"count": 1, "of": ["tester", "ana"]}, "separate_duties": True},
                wait_seconds=1,
            )
            assert asked["status"] == "pending"
            assert asked["policy"]["may_answer"] == ["ana"]

    asyncio.run(main())
    assert asked_in_client == []


def test_over_http_the_requester_is_the_tokens_identity(
    hitl_env: HitlEnv, hitl: Hitl, http_server: Callable[..., HttpServer], tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens.json"
    token = hitl("token", "create", "agent", "--tokens-file", str(tokens)).stdout.strip()
    hitl_env.vars["HITL_APPROVERS"] = "agent,ben"
    server = http_server("--tokens-file", str(tokens))

    async def main() -> None:
        async with server.client(token) as client:
            impossible = await refused(
                client,
                "ask_human",
                question="Ship?",
                answer_type="bool",
                policy={"quorum": {"count": 2, "of": ["agent", "ben"]}, "separate_duties": True},
            )
            assert "only 1 of its members may answer (agent asked" in impossible
            asked = await call(
                client,
                "ask_human",
                question="Ship?",
                answer_type="bool",
                policy={"quorum": {"count": 1, "of": ["agent", "ben"]}, "separate_duties": True},
            )
            assert asked["policy"]["requested_by"] == "agent"
            assert asked["policy"]["may_answer"] == ["ben"]

    asyncio.run(main())
