"""`hitl mcp`: hitlkit's durable questions as the tools of an MCP server.

Four tools, over stdio (desktop clients, IDEs) or streamable HTTP:

- `ask_human` puts a question to a person and returns its `request_id` at once, or
  after waiting up to `wait_seconds` (at most 50: clients give up on a request
  after 60 seconds);
- `get_answer` reads (and long-polls) the answer by `request_id`;
- `list_pending` and `cancel_request` see this server's questions only.

The question lives in the store, not in the session: an agent that disconnects,
crashes or restarts asks `get_answer` (or `ask_human` with the same `name` and `run`)
and finds the answer given meanwhile. While a call waits, the person may also be
asked in the client (`_mcp_elicit`).
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import mcp.types as mt
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types.version import is_version_at_least
from pydantic import Field
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from hitlkit import __version__
from hitlkit._config import LOOPBACK_HOSTS
from hitlkit._exceptions import HitlError
from hitlkit._mcp_desk import MAX_WAIT_SECONDS, Desk, DeskError, clamp_wait
from hitlkit._mcp_elicit import (
    ATTEMPTS,
    ELICIT_KEY,
    Elicitation,
    LegacyAsker,
    elicitation_for,
    take_response,
)
from hitlkit._records import EventRecord
from hitlkit._tokens import TOKEN_PREFIX, TokenTable

__all__ = ["build_server", "http_app", "serve_http", "serve_stdio"]

T = TypeVar("T")

ROUND_TRIP_VERSION = "2026-07-28"
"""From this protocol on, a call asks the client through an `input_required` result."""

INSTRUCTIONS = """\
hitlkit asks a person and keeps the question until they answer, for hours if need be.
Call ask_human, then get_answer with its request_id until the status is not "pending"
(wait_seconds up to 50 per call). Questions survive disconnects and restarts: keep the
request_id, or ask again with the same name and run. Never answer a question yourself.
"""

ASK = f"""\
Ask a person a question and get a request_id to read the answer with (get_answer).

- answer_type: "bool", "int", "float", "str", or a JSON Schema object schema
  ({{"type": "object", "properties": ...}}) for a structured answer.
- choices: a list of strings; the person picks one (answer_type "str").
- name and run: asking again with the same name in the same run finds the same
  question and its answer instead of asking twice (after a restart too). Without a
  name, each call asks a new question.
- question: shown to the person as Markdown.
- timeout_seconds: when the question stops taking answers (status "timed_out").
- assignees: who may answer. Only this server's configured approvers can be named,
  and they are the default: you cannot add anyone. notify: names of notification
  targets configured on this server; URLs are refused.
- policy: how the answer is decided, e.g. {{"quorum": {{"count": 2, "of": ["ana",
  "bo", "cy"], "veto": true}}, "separate_duties": true, "escalation": [{{"assignees":
  ["ana"], "after_seconds": 600}}, {{"assignees": ["oncall"]}}], "delegation": true,
  "grant_scope": "db:prod"}}. It names only this server's approvers and takes no URLs;
  you are the requester, so separation of duties bars whoever this server acts for.
- wait_seconds (0 to {MAX_WAIT_SECONDS:g}): wait this long for the answer before
  returning "pending". While waiting, the person may be asked in this client too.

Returns request_id, status, form_url (where the person answers), expires_at; with
value, by, at and channel once answered; under a policy, policy: its state (summary,
votes, who may answer now). A person answers: never answer it yourself."""

GET = f"""\
Read the answer to a question asked with ask_human. status is "pending",
"answered", "timed_out", "defaulted" or "cancelled"; value, by (who answered), at
and channel (form, cli, api, mcp, ...) are set once resolved. Under a policy, policy
holds its state: summary ("1 of 2 approved", "vetoed by cy"), votes, may_answer. wait_seconds (0 to
{MAX_WAIT_SECONDS:g}) waits that long for an answer; call again while pending. Sees this
server's questions only."""

LIST = """\
List this server's open questions (of one run, or of all its runs): request_id,
name, run, question, answer_type, form_url, expires_at. Newest first, at most 100.
Questions of other programs are not shown."""

CANCEL = """\
Call off one of this server's open questions; waiting callers see "cancelled". A
question already answered keeps its answer (returned). Questions of other programs
cannot be cancelled here."""


def build_server(desk: Desk, tokens: TokenTable | None = None) -> MCPServer[Any]:
    """The MCP server of `desk`'s store and policy, with its four tools; `tokens` (over
    HTTP) name who answers in the client."""
    asker = LegacyAsker(desk)

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[None]:
        try:
            yield None
        finally:
            await asker.close()

    server: MCPServer[Any] = MCPServer(
        "hitlkit",
        title="hitlkit: ask a human",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
        lifespan=lifespan,
    )
    settle = _Settle(desk, asker, tokens)

    @server.tool(name="ask_human", description=ASK)
    async def ask_human(
        question: Annotated[str, Field(description="What to ask, in plain words.")],
        ctx: Context,
        answer_type: str | dict[str, Any] = "str",
        choices: list[str] | None = None,
        name: str | None = None,
        run: str | None = None,
        timeout_seconds: float = 3600,
        assignees: list[str] | None = None,
        notify: list[str] | None = None,
        policy: dict[str, Any] | None = None,
        wait_seconds: float = 0,
    ) -> dict[str, Any] | mt.InputRequiredResult:
        async def asking() -> EventRecord:
            asked = _state(ctx.request_state)
            if asked is not None:  # the same call again, with the person's response
                return await desk.find(asked["request_id"])
            record, _ = await desk.ask(
                question,
                answer_type,
                choices,
                name=name,
                run=run,
                timeout_seconds=timeout_seconds,
                assignees=assignees,
                notify=notify,
                policy=policy,
                requested_by=settle.answerer(ctx),
            )
            return record

        return await _tool_errors(settle(asking, wait_seconds, ctx))

    @server.tool(name="get_answer", description=GET)
    async def get_answer(
        request_id: str, ctx: Context, wait_seconds: float = 0
    ) -> dict[str, Any] | mt.InputRequiredResult:
        async def finding() -> EventRecord:
            return await desk.find(request_id)

        return await _tool_errors(settle(finding, wait_seconds, ctx))

    @server.tool(name="list_pending", description=LIST)
    async def list_pending(run: str | None = None) -> dict[str, Any]:
        return await _tool_errors(_listed(desk, run))

    @server.tool(name="cancel_request", description=CANCEL)
    async def cancel_request(request_id: str, reason: str | None = None) -> dict[str, Any]:
        return await _tool_errors(desk.cancel(request_id, reason))

    return server


async def _listed(desk: Desk, run: str | None) -> dict[str, Any]:
    return {"pending": await desk.pending(run)}


async def _tool_errors(work: Awaitable[T]) -> T:
    """`work`'s result; a refusal becomes a tool error that says what was expected."""
    try:
        return await work
    except (DeskError, HitlError) as exc:
        raise ToolError(str(exc)) from None


class _Settle:
    """The common end of `ask_human` and `get_answer`: the outcome, waited for and asked
    in the client as the call allows."""

    def __init__(self, desk: Desk, asker: LegacyAsker, tokens: TokenTable | None) -> None:
        self.desk = desk
        self.asker = asker
        self.tokens = tokens

    def answerer(self, ctx: Context) -> str | None:
        """Who answers in this client: `HITL_USER` over stdio, the identity of the call's
        API token over HTTP with tokens (the person holding it, not the server's user)."""
        if self.tokens is None:
            return self.desk.policy.user
        kind, _, token = (ctx.headers or {}).get("authorization", "").partition(" ")
        return self.tokens.identify(token.strip()) if kind.lower() == "bearer" else None

    async def __call__(
        self,
        find: Callable[[], Awaitable[EventRecord]],
        wait_seconds: float,
        ctx: Context,
    ) -> dict[str, Any] | mt.InputRequiredResult:
        seconds = clamp_wait(wait_seconds)
        record = await find()
        elicitation = elicitation_for(
            self.desk, record, ctx.client_capabilities, self.answerer(ctx)
        )
        session = _connection(ctx)
        round_trips = _round_trips(ctx)
        answered_here = False
        asked = _state(ctx.request_state) if round_trips else None
        # A response counts only with the state of the request it answers, which the SDK
        # seals: a client cannot answer what this server did not ask it.
        response = None
        if asked is not None and asked["request_id"] == record.id:
            response = (ctx.input_responses or {}).get(ELICIT_KEY)
        if response is not None:  # the same call again, with what the person did
            problem, declined = await take_response(self.desk, elicitation, response)
            answered_here = problem is None and not declined
            if declined:
                self.asker.declined.add((session, record.id))
            attempt = int(asked.get("attempt", 1)) if asked is not None else 1
            if problem is not None and elicitation is not None and attempt < ATTEMPTS:
                return _input_required(elicitation, problem, attempt + 1)
        outcome = await self.desk.outcome(record)
        if outcome is None and seconds > 0:
            if elicitation is not None and (session, record.id) not in self.asker.declined:
                if round_trips and response is None:
                    return _input_required(elicitation, None, 1)
                if not round_trips:
                    self.asker.start(ctx.session, session, elicitation, ctx.request_id)
            outcome = await self.desk.wait(record, seconds)
            self.asker.settled(outcome)
        result = await self.desk.result(record, outcome)
        if answered_here and outcome is not None and outcome.via != "mcp":
            result["note"] = (
                f"{outcome.by} answered first (channel {outcome.via}); "
                "the answer given in this client was not recorded"
            )
        return result


def _connection(ctx: Context) -> int:
    """What tells one client's connection from another's, across its calls. The SDK
    makes a session object per request, over the connection it keeps (no public name
    for it yet): without one, each call counts as a connection of its own."""
    return id(getattr(ctx.session, "_connection", ctx.session))


def _round_trips(ctx: Context) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, ROUND_TRIP_VERSION)


def _input_required(
    elicitation: Elicitation, problem: str | None, attempt: int
) -> mt.InputRequiredResult:
    state = json.dumps({"request_id": elicitation.record.id, "attempt": attempt})
    return mt.InputRequiredResult(
        result_type="input_required",
        input_requests={ELICIT_KEY: elicitation.request(problem)},
        request_state=state,
    )


def _state(text: str | None) -> dict[str, Any] | None:
    """The state an `input_required` result carried (sealed by the SDK on the way)."""
    if not text:
        return None
    try:
        state = json.loads(text)
    except ValueError:
        return None
    return state if isinstance(state, dict) and isinstance(state.get("request_id"), str) else None


async def serve_stdio(desk: Desk) -> None:
    """Serve over this process's stdin and stdout until the client closes them."""
    await build_server(desk).run_stdio_async()


def http_app(
    desk: Desk,
    *,
    host: str = "127.0.0.1",
    tokens_file: str | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> ASGIApp:
    """The streamable HTTP app (at `/mcp`), behind the app's bearer tokens when
    `tokens_file` is given, and the Host and Origin checks against DNS rebinding."""
    tokens = TokenTable(Path(tokens_file)) if tokens_file is not None else None
    inner = build_server(desk, tokens).streamable_http_app(
        transport_security=_transport_security(host, allowed_hosts), host=host
    )
    return inner if tokens is None else _Bearer(inner, tokens)


def _transport_security(
    host: str, allowed_hosts: Sequence[str] | None
) -> TransportSecuritySettings:
    names = list(allowed_hosts or ())
    if not names:
        names = ["127.0.0.1", "localhost", "[::1]"] if host in LOOPBACK_HOSTS else [host]
    if "*" in names:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[form for name in names for form in (name, f"{name}:*")],
        allowed_origins=[
            f"{scheme}://{form}"
            for name in names
            for scheme in ("http", "https")
            for form in (name, f"{name}:*")
        ],
    )


class _Bearer:
    """Every request needs `Authorization: Bearer <API token>` from the tokens file."""

    def __init__(self, app: ASGIApp, tokens: TokenTable) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization", "")
        kind, _, token = header.partition(" ")
        token = token.strip()
        if kind.lower() != "bearer" or not token.startswith(TOKEN_PREFIX):
            await _refuse("this server needs an API token: Authorization: Bearer TOKEN")(
                scope, receive, send
            )
            return
        if self.tokens.identify(token) is None:
            await _refuse("the API token is not valid here")(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _refuse(message: str) -> JSONResponse:
    return JSONResponse(
        {"error": "unauthorized", "message": message},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def serve_http(
    desk: Desk,
    sock: socket.socket,
    *,
    host: str,
    tokens_file: str | None,
    allowed_hosts: Sequence[str] | None,
) -> None:
    """Serve streamable HTTP on the listening `sock` (bound to `host`) until stopped."""
    app = http_app(desk, host=host, tokens_file=tokens_file, allowed_hosts=allowed_hosts)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    await uvicorn.Server(config).serve(sockets=[sock])
