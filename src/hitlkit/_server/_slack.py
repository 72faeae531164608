"""`POST /slack/interact`: answers given in Slack, by a button, a select or a modal.

The route needs no bearer token and no same-origin request: it takes Slack's signature
instead (`HITL_SLACK_SIGNING_SECRET`, verified by slack_sdk's `SignatureVerifier`, the
timestamp within five minutes either way). Unsigned, forged or stale: 401, nothing
read or recorded; no signing secret configured: 503; a body that is not an
interaction: 400.

`handle_payload` acts on a decoded interaction (Socket Mode hands it the same):

- `block_actions`: an answer's button or select records its answer; "Answer…" opens
  the modal (`views.open`); the link button does nothing here;
- `view_submission` (`hitl.answer`): the modal's fields, read as a form post is, answer;
  a value that does not fit comes back as the modal's field errors.

The Slack user answers as an identity: `HITL_SLACK_USERS`, else the local part of the
user's e-mail (`users.info`). Assignees and policies apply as to any answer (proof
"chat"); a refusal, a late answer or a repeat is told to that person alone (an
ephemeral message). The reply to Slack for `block_actions` is an empty 200 at once:
the answer is recorded right after it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hitlkit import _config, _ops, _policy_ops, _reading
from hitlkit._chat import _messages
from hitlkit._chat._slack import INSTALL_HINT, call, identity_of
from hitlkit._chat._slack_blocks import (
    ACTIONS_PREFIX,
    ANSWER_ACTION,
    CALLBACK_ID,
    LINK_ACTION,
    MODAL_ACTION,
    OWN_LINK_ACTION,
    event_blocks,
    form_posted,
    modal_view,
)
from hitlkit._exceptions import (
    ConfigurationError,
    EventNotFoundError,
    EventResolvedError,
    GrantError,
    HitlError,
    IdentityRequiredError,
    InvalidValueError,
    NotAssignedError,
    SeparationOfDutiesError,
    VoteChangedError,
)
from hitlkit._policy import MAX_COMMENT_LENGTH, PolicyState
from hitlkit._records import EventRecord, Outcome, is_approval
from hitlkit._server._context import store_of
from hitlkit._server._templates import shown
from hitlkit._store import Store
from hitlkit._values._forms import error_names

__all__ = ["BadPayload", "decode", "handle_payload", "read_action", "router", "verified"]

router = APIRouter(include_in_schema=False)
_logger = logging.getLogger("hitlkit.slack")

WINDOW_SECONDS = 300
"""How far a request's timestamp may be from now, in the past or the future."""
MAX_EPHEMERAL = 2000
"""Characters of a message told to one person (before escaping)."""


class BadPayload(ValueError):
    """An interaction hitlkit cannot read: a 400 naming what was expected."""


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def verified(secret: str, body: bytes, timestamp: str | None, signature: str | None) -> bool:
    """Whether `body` carries Slack's signature made with `secret`, within the window."""
    from slack_sdk.signature import SignatureVerifier

    if not (timestamp and signature and timestamp.strip().isdigit() and len(timestamp) < 20):
        return False
    if abs(time.time() - int(timestamp)) > WINDOW_SECONDS:
        return False  # stale, or from the future: SignatureVerifier says so too
    try:
        return SignatureVerifier(secret).is_valid(body, timestamp.strip(), signature)
    except (ValueError, TypeError):  # a body that is not UTF-8, a signature that is not ASCII
        return False


@router.post("/slack/interact", response_model=None)
async def interact(request: Request) -> Response:
    """Take an interaction from Slack: a button, a select, or a modal's submission."""
    secret = _config.slack_signing_secret()
    if secret is None:
        message = "Slack answers are not configured here: set HITL_SLACK_SIGNING_SECRET"
        return _error(503, "slack_not_configured", message)
    try:
        import slack_sdk  # noqa: F401
    except ImportError:
        return _error(503, "slack_not_configured", INSTALL_HINT)
    body = await request.body()
    headers = request.headers
    if not verified(
        secret, body, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
    ):
        message = (
            "this request does not carry a valid Slack signature (X-Slack-Signature, made with "
            "the app's signing secret, and X-Slack-Request-Timestamp within 5 minutes)"
        )
        return _error(401, "invalid_signature", message)
    store = store_of(request)
    try:
        payload = decode(body)
        if payload.get("type") == "block_actions":
            action = read_action(payload)  # checked now, carried out after the reply
            return Response(status_code=200, background=BackgroundTask(_act, store, action))
        reply = await handle_payload(store, payload)
    except BadPayload as exc:
        return _error(400, "invalid_payload", str(exc))
    except RecursionError:  # JSON nested past what anything here reads
        return _error(400, "invalid_payload", "the payload is nested too deeply")
    return Response(status_code=200) if reply is None else JSONResponse(reply)


def decode(body: bytes) -> dict[str, Any]:
    """The interaction in a request's body: JSON in its `payload` form field."""
    try:
        fields = parse_qs(body.decode(), strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        fields = {}
    texts = fields.get("payload")
    if not texts:
        raise BadPayload("expected a form with the interaction's JSON in its payload field")
    try:
        payload = json.loads(texts[0])
    except (ValueError, RecursionError):
        raise BadPayload("the payload field must hold the interaction as JSON") from None
    if not isinstance(payload, dict):
        raise BadPayload("the payload must be a JSON object")
    return payload


async def handle_payload(store: Store, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Act on a decoded interaction; the JSON body to reply with, or `None` for an empty
    200. Raises `BadPayload` for an interaction that is not one of hitlkit's."""
    kind = payload.get("type")
    if kind == "block_actions":
        await _act(store, read_action(payload))
        return None
    if kind == "view_submission":
        return await _submitted(store, payload)
    if kind == "view_closed":
        return None
    raise BadPayload(f"expected a block_actions or view_submission interaction, got {kind!r}")


@dataclass(frozen=True)
class Action:
    """A pressed button or chosen option, and who did it where."""

    action_id: str
    request_id: str
    value: Any
    user: str
    channel: str | None
    trigger_id: str | None


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise BadPayload(f"expected {what} as text")
    return value


def _user(payload: dict[str, Any]) -> str:
    user = payload.get("user")
    return _text(user.get("id") if isinstance(user, dict) else None, "the user's id (user.id)")


def read_action(payload: dict[str, Any]) -> Action:
    """The first action of a `block_actions` interaction, or `BadPayload`."""
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise BadPayload("expected the pressed button in actions")
    action = actions[0]
    action_id = _text(action.get("action_id"), "the action's action_id")
    block_id = _text(action.get("block_id"), "the action's block_id")
    if not block_id.startswith(ACTIONS_PREFIX):
        raise BadPayload(f"expected a block_id {ACTIONS_PREFIX}<event id>, got {block_id[:60]!r}")
    value: Any = None
    if action_id.startswith(ANSWER_ACTION):
        option = action.get("selected_option")
        text = option.get("value") if isinstance(option, dict) else action.get("value")
        try:
            value = json.loads(_text(text, "the answer as JSON text"))
        except (ValueError, RecursionError):
            raise BadPayload("the action's value must be the answer as JSON text") from None
    elif action_id not in (MODAL_ACTION, LINK_ACTION, OWN_LINK_ACTION):
        raise BadPayload(f"expected a hitl.answer.<n> or {MODAL_ACTION} action, got {action_id!r}")
    channel = payload.get("channel")
    container = payload.get("container")
    channel_id = channel.get("id") if isinstance(channel, dict) else None
    if channel_id is None and isinstance(container, dict):
        channel_id = container.get("channel_id")
    trigger = payload.get("trigger_id")
    return Action(
        action_id=action_id,
        request_id=block_id.removeprefix(ACTIONS_PREFIX),
        value=value,
        user=_user(payload),
        channel=channel_id if isinstance(channel_id, str) else None,
        trigger_id=trigger if isinstance(trigger, str) else None,
    )


async def _act(store: Store, action: Action) -> None:
    """Carry out a button or select: record its answer, or open the modal."""
    try:
        if action.action_id == LINK_ACTION:
            return
        if action.action_id in (MODAL_ACTION, OWN_LINK_ACTION):
            await _open_modal(store, action)
            return
        _, message = await _answer(store, action.request_id, action.value, action.user)
        await _ephemeral(action, message)
    except ConfigurationError as exc:  # HITL_SLACK_USERS that cannot be read, say
        _logger.error("a Slack answer to %s failed: %s", action.request_id[:40], exc)
        await _ephemeral(action, "Nothing was recorded: hitlkit's Slack settings cannot be used.")
    except HitlError as exc:  # the store failing, say: Slack's user sees nothing recorded
        _logger.warning("a Slack answer to %s failed: %s", action.request_id[:40], exc)
        await _ephemeral(action, "Nothing was recorded: hitlkit could not read or write the event.")


async def _open_modal(store: Store, action: Action) -> None:
    """Open the modal, or send a link of their own to the form, to someone who may answer,
    while the event is open."""
    try:
        record = await _reading.load_event(store, action.request_id)
    except EventNotFoundError:
        await _ephemeral(action, _NOT_FOUND)
        return
    identity = await identity_of(action.user)
    if identity is None:
        await _ephemeral(action, _WHO)
        return
    try:
        # Before anything else: how it ended is not for someone it was never asked of.
        await _ops.refuse_unassigned(store, record, by=identity, via="slack", doing="answer")
    except NotAssignedError as exc:
        await _ephemeral(action, f"This one is not yours to answer: {exc}.")
        return
    ended = await _ended(store, record)
    if ended is not None:
        await _ephemeral(action, ended)
        return
    if action.action_id == OWN_LINK_ACTION:
        from hitlkit._notify import link_for

        url = _escaped(link_for(record, _config.default_endpoint(), identity)).replace("|", "%7C")
        said = f"Your own link to answer, as {_escaped(identity)} (do not share it):"
        await _ephemeral(action, f"{said} <{url}|Open the form>", escaped=True)
        return
    view = modal_view(record)
    if view is None or action.trigger_id is None:
        await _ephemeral(action, "This question cannot be answered in Slack: use its form.")
        return
    await call("views_open", trigger_id=action.trigger_id, view=view)


_WHO = (
    "hitlkit couldn't tell who you are: ask for your Slack user to be mapped "
    "(HITL_SLACK_USERS) or for an e-mail on your Slack profile. Nothing was recorded."
)
_NOT_FOUND = "No such question here: it may have been pruned, or the link is not hitlkit's."


async def _ended(store: Store, record: EventRecord) -> str | None:
    outcome = await _reading.load_outcome(store, record.id)
    if outcome is not None:
        return f"This one has ended: {_how(outcome)}."
    if record.is_expired():
        return "This one has ended: expired: its deadline passed."
    return None


def _how(outcome: Outcome) -> str:
    """How an event ended, in a few words: "already answered by ana: yes (via slack)"."""
    if outcome.status == "answered":
        by = outcome.by or "someone"
        return f"already answered by {by}: {shown(outcome.value)} (via {outcome.via})"
    if outcome.status == "cancelled":
        why = f" ({outcome.reason})" if outcome.reason else ""
        return f"cancelled by {outcome.by or 'someone'}{why}"
    if outcome.status == "defaulted":
        return f"expired: its deadline passed and it took its default, {shown(outcome.value)}"
    return "expired: its deadline passed"


async def _answer(store: Store, request_id: str, value: Any, user: str) -> tuple[bool, str]:
    """Record `user`'s answer: whether it is recorded, and what to tell them."""
    identity = await identity_of(user)
    if identity is None:
        return False, _WHO
    try:
        record = await _reading.load_event(store, request_id)
        answered = await _ops.answer_event(
            store,
            request_id,
            value,
            by=identity,
            via="slack",
            proof="chat",
            **_comment(record, value),
        )
    except (NotAssignedError, SeparationOfDutiesError, IdentityRequiredError) as exc:
        return False, f"This one is not yours to answer: {exc}. Nothing was recorded."
    except EventNotFoundError:
        return False, _NOT_FOUND
    except EventResolvedError as exc:
        return False, f"Not recorded: {_how(exc.outcome)}."
    except VoteChangedError as exc:
        return False, f"Your vote stands: {exc}."
    except (InvalidValueError, GrantError) as exc:
        return False, f"Not recorded: {exc}"
    if answered.already_recorded:
        return True, f"Your answer ({shown(value)}) was already recorded."
    if answered.outcome is None:
        state = await _policy_ops.current_state(store, record)
        await _update_state(store, record, state)
        return True, f"Your vote ({shown(value)}) is recorded: {state.summary}."
    # In the background: a modal's submission is answered within Slack's 3 seconds.
    task = asyncio.create_task(_show_outcome(store, request_id))
    _later.add(task)
    task.add_done_callback(_later.discard)
    return True, f"Recorded: {shown(answered.outcome.value)}, as {identity}."


_later: set[asyncio.Task[None]] = set()
"""Updates under way, held so that they are not collected before they finish."""


async def _show_outcome(store: Store, request_id: str) -> None:
    """Update the event's messages to its outcome now, rather than at the chat driver's
    next turn (whichever comes first makes each update, once)."""
    from hitlkit._chat import _updates

    try:
        await _updates.finish(store, request_id)
    except (HitlError, OSError) as exc:  # the driver's next turn tries again
        _logger.warning("the Slack messages of %s were not updated yet: %s", request_id, exc)


def _comment(record: EventRecord, value: Any) -> dict[str, Any]:
    """An approval's reason, kept as the vote's comment under a policy (as the form does)."""
    if record.policy is None or not is_approval(record) or not isinstance(value, dict):
        return {}
    reason = value.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        return {}
    return {"comment": reason.strip()[:MAX_COMMENT_LENGTH]}


async def _submitted(store: Store, payload: dict[str, Any]) -> dict[str, Any] | None:
    """A modal's submission: the answer it holds, or the modal's errors."""
    view = payload.get("view")
    if not isinstance(view, dict) or view.get("callback_id") != CALLBACK_ID:
        raise BadPayload(f"expected a view_submission of the {CALLBACK_ID} modal")
    request_id = _text(view.get("private_metadata"), "the event id in private_metadata")
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict):
        raise BadPayload("expected the modal's inputs in view.state.values")
    user = _user(payload)
    blocks = [b.get("block_id") for b in view.get("blocks") or () if isinstance(b, dict)]
    first = next((b for b in blocks if isinstance(b, str) and b.startswith("value")), "value")
    try:
        identity = await identity_of(user)
    except ConfigurationError as exc:  # HITL_SLACK_USERS that cannot be read, say
        _logger.error("a Slack answer to %s failed: %s", request_id[:40], exc)
        return _errors({first: "Nothing was recorded: hitlkit's Slack settings cannot be used."})
    if identity is None:
        return _errors({first: _WHO})
    try:
        record = await _reading.load_event(store, request_id)
        # Who may answer first: someone else never makes the app read and check a value.
        await _ops.refuse_unassigned(store, record, by=identity, via="slack", doing="answer")
        value = _ops.answers_of(record).parse_form(form_posted(values))
    except EventNotFoundError:
        return _errors({first: _NOT_FOUND})
    except NotAssignedError as exc:
        return _errors({first: f"This one is not yours to answer: {exc}. Nothing was recorded."})
    except InvalidValueError as exc:
        named = error_names(exc.errors)
        known = {name: msg for name, msg in named.items() if name in blocks}
        rest = "; ".join(msg for name, msg in named.items() if name not in blocks)
        if rest or not known:
            known[first] = f"{known[first]}; {rest}" if first in known else (rest or str(exc))
        return _errors(known)
    recorded, message = await _answer(store, request_id, value, user)
    return None if recorded else _errors({first: message})


def _errors(errors: dict[str, str]) -> dict[str, Any]:
    return {"response_action": "errors", "errors": {k: v[:2000] for k, v in errors.items()}}


async def _ephemeral(action: Action, text: str, *, escaped: bool = False) -> None:
    """Tell the person who acted, and no one else (`text` is escaped unless it `escaped`
    already, keeping its own link)."""
    if action.channel is None:
        return
    shown = text if escaped else _escaped(text)
    await call("chat_postEphemeral", channel=action.channel, user=action.user, text=shown)


def _escaped(text: str) -> str:
    from hitlkit._chat._mrkdwn import escape

    return escape(text if len(text) <= MAX_EPHEMERAL else text[: MAX_EPHEMERAL - 1] + "…")


async def _update_state(store: Store, record: EventRecord, state: PolicyState) -> None:
    """Show a vote that decides nothing yet on the event's messages, inputs kept.

    A decision may come meanwhile, and its final update reach Slack before this one:
    so once this one is made, a message whose final update is claimed gets the outcome
    again, and the last word Slack has is the outcome's."""
    from hitlkit._chat._updates import outcome_blocks, outcome_text
    from hitlkit._notify import shared_link

    link = shared_link(record, _config.default_endpoint())
    blocks = event_blocks(record, link=link, policy=state)
    for posted in await _messages.posted_messages(store, record.id):
        if posted.platform != "slack" or await _messages.final_claimed(
            store, record.id, posted.slot
        ):
            continue
        await call(
            "chat_update", channel=posted.channel, ts=posted.ts, blocks=blocks, text=record.name
        )
        if await _messages.final_claimed(store, record.id, posted.slot):
            outcome = await _reading.load_outcome(store, record.id)
            await call(
                "chat_update",
                channel=posted.channel,
                ts=posted.ts,
                blocks=outcome_blocks(record, outcome),
                text=outcome_text(record, outcome),
            )
