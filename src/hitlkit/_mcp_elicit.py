"""Asking the person through the MCP client itself (elicitation), racing the other channels.

When a tool call waits and the client can show a form, the question is also put to
the person in the client: a form for flat answer types (one value, or an object of
text, numbers, booleans and single choices), else a link to the hitlkit form (URL
mode, signed for `HITL_USER` when `HITL_SECRET` is set). An answer given there is
recorded like any other, as `HITL_USER` through channel `mcp`: the first recorded
answer wins, and a later one is told who answered.

Two protocol generations:

- up to 2025-11-25, the server sends `elicitation/create` during the call
  (`LegacyAsker`). The request outlives the call: if the call's wait ends first, it
  returns `pending`, and an answer given afterwards is still recorded if first;
- from 2026-07-28, the call returns `input_required` with the request, and the
  client calls again with the person's response (`input_required`, `take_response`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mcp.types as mt
from mcp.server.session import ServerSession

from hitlkit import _config, _ops, _policy_ops
from hitlkit._exceptions import EventResolvedError, InvalidValueError
from hitlkit._links import answer_url, sign_answer_link
from hitlkit._mcp_desk import Desk
from hitlkit._records import EventRecord, Outcome
from hitlkit._values import adapter_of

__all__ = ["ELICIT_KEY", "Elicitation", "LegacyAsker", "elicitation_for", "take_response"]

log = logging.getLogger("hitlkit.mcp")

ELICIT_KEY = "hitlkit_answer"
"""The key of the elicitation in an `input_required` result."""
ATTEMPTS = 3
"""How often a person is asked again in the client after an answer that does not fit."""

_PRIMITIVE_KEYS = {
    "string": {"title", "description", "default", "enum", "minLength", "maxLength", "format"},
    "number": {"title", "description", "default", "minimum", "maximum"},
    "integer": {"title", "description", "default", "minimum", "maximum"},
    "boolean": {"title", "description", "default"},
}
_FORMATS = {"email", "uri", "date", "date-time"}


@dataclass(frozen=True)
class Elicitation:
    """How to ask for `record`'s answer in the client: a form (`schema`, and `read` to
    turn its content into the answer) or a link (`url`)."""

    record: EventRecord
    message: str
    user: str
    """Who answers in the client, as recorded: `HITL_USER`, or the caller's API token's
    identity over HTTP."""
    schema: dict[str, Any] | None = None
    read: Callable[[dict[str, Any]], Any] | None = None
    url: str | None = None

    def request(self, problem: str | None = None) -> mt.ElicitRequest:
        message = self.message if problem is None else f"{problem}\n\n{self.message}"
        if self.schema is not None:
            params: Any = mt.ElicitRequestFormParams(message=message, requested_schema=self.schema)
        else:
            assert self.url is not None
            params = mt.ElicitRequestURLParams(
                message=message, url=self.url, elicitation_id=self.record.id, mode="url"
            )
        return mt.ElicitRequest(params=params)


def elicitation_for(
    desk: Desk, record: EventRecord, capabilities: mt.ClientCapabilities | None, user: str | None
) -> Elicitation | None:
    """How the client can ask for `record`'s answer, as `user`, or `None` when it cannot
    (no elicitation, no user, or a user who may not answer this question)."""
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or not desk.policy.elicit:
        return None
    if user is None or (record.assignees is not None and user not in record.assignees):
        return None
    if record.policy is not None and user in _policy_ops.barred(record):
        return None  # who asked (under separation of duties) does not answer
    message = record.prompt
    form = flat_form(record)
    # A bare `elicitation: {}` is form support (the only kind before modes existed).
    forms = elicitation.form is not None or elicitation.url is None
    if form is not None and forms:
        schema, read = form
        return Elicitation(record, message, user, schema=schema, read=read)
    if elicitation.url is not None:
        return Elicitation(record, message, user, url=_link(desk, record, user))
    return None


def _link(desk: Desk, record: EventRecord, user: str) -> str:
    secret = _config.secret()
    if secret is None:
        return f"{desk.endpoint}/form/{record.id}"
    token = sign_answer_link(secret, record.id, identity=user, expires_at=record.deadline)
    return answer_url(desk.endpoint, record.id, token)


def flat_form(record: EventRecord) -> tuple[dict[str, Any], Callable[[dict[str, Any]], Any]] | None:
    """The client form for `record`'s answer type when it is flat, and how to read it."""
    schema = adapter_of(record).json_schema
    single = _primitive(schema)
    if single is not None:
        node = {"title": "Answer", **single}
        form = {"type": "object", "properties": {"value": node}, "required": ["value"]}
        return form, lambda content: content.get("value")
    properties = schema.get("properties")
    if schema.get("type") != "object" or not isinstance(properties, dict) or not properties:
        return None
    flat: dict[str, Any] = {}
    for name, node in properties.items():
        primitive = _primitive(node)
        if primitive is None:
            return None
        flat[name] = primitive
    required = [n for n in schema.get("required", []) if n in flat]
    form = {"type": "object", "properties": flat, "required": required}
    return form, lambda content: {k: v for k, v in content.items() if k in flat}


def _primitive(node: Any) -> dict[str, Any] | None:
    """`node` as the client's form can take it (one text, number, boolean or choice), or None."""
    if not isinstance(node, dict):
        return None
    options = node.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        inner = next(o for o in options if o != {"type": "null"})
        merged = {k: v for k, v in node.items() if k != "anyOf"}
        return _primitive({**inner, **merged})
    kind = node.get("type")
    if kind is None and isinstance(node.get("enum"), list):
        kind = "string"
    if kind not in _PRIMITIVE_KEYS:
        return None
    if "enum" in node and not all(isinstance(v, str) for v in node["enum"]):
        return None
    kept = {k: v for k, v in node.items() if k in _PRIMITIVE_KEYS[kind] and v is not None}
    if kept.get("format") not in (None, *_FORMATS):
        kept.pop("format")
    return {"type": kind, **kept}


async def record_answer(
    desk: Desk, elicitation: Elicitation, content: dict[str, Any]
) -> str | None:
    """Record what the person gave in the client; returns what was wrong with it, if
    it did not fit (to ask again), else `None` (recorded, or another answer was first)."""
    assert elicitation.read is not None
    try:
        await _ops.answer_event(
            desk.store,
            elicitation.record.id,
            elicitation.read(content),
            by=elicitation.user,
            via="mcp",
        )
    except InvalidValueError as exc:
        return str(exc)
    except EventResolvedError:
        pass  # another channel was first: the tool's result says who
    return None


async def take_response(
    desk: Desk, elicitation: Elicitation | None, response: object
) -> tuple[str | None, bool]:
    """Act on the client's response to an `input_required` elicitation: returns a problem
    to ask again with (an answer that did not fit), and whether the person declined."""
    if not isinstance(response, mt.ElicitResult) or elicitation is None:
        return None, False
    if response.action != "accept":
        return None, True
    if elicitation.read is None or response.content is None:
        return None, False  # URL mode: the answer comes through the form
    return await record_answer(desk, elicitation, dict(response.content)), False


class LegacyAsker:
    """Elicitations sent during a call (protocol 2025-11-25 and before), one per question,
    outliving the call that started it."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.declined: set[tuple[int, str]] = set()
        """(session, request id): questions declined in a client, not asked there again."""
        self._asking: dict[tuple[int, str], asyncio.Task[None]] = {}

    def start(
        self, session: ServerSession, connection: int, elicitation: Elicitation, related: Any
    ) -> None:
        """Ask in the client, unless already asking or the person declined this question."""
        key = (connection, elicitation.record.id)
        if key in self.declined or key in self._asking:
            return
        task = asyncio.ensure_future(self._ask(session, key, elicitation, related))
        self._asking[key] = task
        task.add_done_callback(lambda _: self._asking.pop(key, None))

    def settled(self, outcome: Outcome | None) -> None:
        """Stop asking in the clients once the question is resolved elsewhere."""
        if outcome is None or outcome.via == "mcp":
            return
        for key, task in list(self._asking.items()):
            if key[1] == outcome.request_id:
                task.cancel()

    async def _ask(
        self,
        session: ServerSession,
        key: tuple[int, str],
        elicitation: Elicitation,
        related: Any,
    ) -> None:
        try:
            if not await self._ask_until_fits(session, elicitation, related):
                self.declined.add(key)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the client went away, or refused: others can still answer
            log.info("could not ask %s in the client: %s", elicitation.record.id, exc)

    async def _ask_until_fits(
        self, session: ServerSession, elicitation: Elicitation, related: Any
    ) -> bool:
        """Ask until an answer fits; `False` when the person declined."""
        problem = None
        for _ in range(ATTEMPTS):
            if elicitation.schema is None:
                assert elicitation.url is not None
                result = await session.elicit_url(
                    elicitation.request().params.message,
                    elicitation.url,
                    elicitation.record.id,
                    related_request_id=related,
                )
                return result.action == "accept"
            params = elicitation.request(problem).params
            assert isinstance(params, mt.ElicitRequestFormParams)
            result = await session.elicit_form(
                params.message, params.requested_schema, related_request_id=related
            )
            if result.action != "accept":
                return False
            problem = await record_answer(self.desk, elicitation, dict(result.content or {}))
            if problem is None:
                return True
        return True

    async def close(self) -> None:
        tasks = list(self._asking.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
