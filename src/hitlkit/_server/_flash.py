"""What a browser's last post to an event did, kept for the page it is sent to next.

The event page's posts (an answer, a cancel) are answered with 303 See Other to the
event's page (post/redirect/get), so that a reload asks for the page again rather than
sending the post again. That page shows the outcome recorded in the store; this
cookie only says how this browser's post fared with it: its answer was recorded
("Recorded: 5"), came too late ("Already answered", with what it tried), or called
the event off; under a policy, that its vote is recorded while the event waits for
more. The redirect goes to `/form/<id>?done`, the address a reload asks for again:
only there does the page read the cookie (`hitl_done_<id>`, HttpOnly, SameSite=Strict),
so the event's plain address, opened later from the inbox, shows the outcome alone. The
cookie is signed with the app's key, names its event, and counts for `MAX_AGE_SECONDS`; a
planted or stale one is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from starlette.requests import Request
from starlette.responses import RedirectResponse

from hitlkit._records import is_event_id
from hitlkit._server._context import get_signed_cookie, root_of, set_signed_cookie

__all__ = ["MAX_AGE_SECONDS", "Done", "DoneKind", "read_done", "redirect_to_event"]

COOKIE = "hitl_done_"
MARK = "done"
"""The query parameter of the page a post leads to."""
MAX_AGE_SECONDS = 600
MAX_ATTEMPTED_LENGTH = 200
"""How much of an answer that was not recorded the page repeats."""
_SALT = "hitlkit.done.v1"

DoneKind = Literal["recorded", "retry", "late", "cancelled", "voted", "delegated"]
_KINDS: tuple[str, ...] = get_args(DoneKind)


@dataclass(frozen=True)
class Done:
    """How a post to an event fared: `kind`, and the answer not recorded (`late` only).

    Under a policy a vote may decide nothing yet (`voted`, with where the event stands
    in `note`: "1 of 2 approved"), and a question may be handed on (`delegated`, with
    to whom in `note`)."""

    kind: DoneKind
    attempted: str | None = None
    note: str | None = None


def redirect_to_event(
    request: Request, keys: Sequence[bytes], request_id: str, done: Done | None = None
) -> RedirectResponse:
    """303 See Other to the event's page, remembering `done` for it (if given)."""
    if done is None:
        return RedirectResponse(f"{root_of(request)}/form/{request_id}", status_code=303)
    response = RedirectResponse(f"{root_of(request)}/form/{request_id}?{MARK}", status_code=303)
    attempted = done.attempted
    if attempted is not None and len(attempted) > MAX_ATTEMPTED_LENGTH:
        attempted = attempted[: MAX_ATTEMPTED_LENGTH - 1] + "…"
    note = done.note[:MAX_ATTEMPTED_LENGTH] if done.note is not None else None
    data = {"e": request_id, "k": done.kind, "a": attempted, "n": note}
    set_signed_cookie(
        request,
        response,
        COOKIE + request_id,
        data,
        keys=keys,
        salt=_SALT,
        max_age=MAX_AGE_SECONDS,
    )
    return response


def read_done(request: Request, keys: Sequence[bytes], request_id: str) -> Done | None:
    """How this browser's last post to `request_id` fared, on the page a post led to (`?done`)."""
    if MARK not in request.query_params or not is_event_id(request_id):
        return None
    data = get_signed_cookie(
        request, COOKIE + request_id, keys=keys, salt=_SALT, max_age=MAX_AGE_SECONDS
    )
    if data is None or data.get("e") != request_id:
        return None
    kind, attempted, note = data.get("k"), data.get("a"), data.get("n")
    if kind not in _KINDS or not all(v is None or isinstance(v, str) for v in (attempted, note)):
        return None
    return Done(kind, attempted, note)
