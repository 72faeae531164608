"""Browser sign-in with an API token: a signed, expiring cookie naming the token's hash.

`POST /login` checks the token, then sets `hitl_session` (`__Host-hitl_session` over
HTTPS; HttpOnly, SameSite=Strict, 12 hours) to the token's SHA-256 and a new random
session id, signed (HMAC-SHA256) with the app's key. A new id at every sign-in means
a cookie planted before it (session fixation) is worth nothing after it; form tokens
are bound to the id (`hitlkit._server._csrf`). Each page request looks the hash up
in the tokens file again, so deleting a token signs its sessions out; `POST /logout`
makes the browser forget its cookie. The cookie is accepted by the HTML pages only;
programs send the token itself.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from hitlkit._server._context import delete_cookie, get_signed_cookie, set_signed_cookie

__all__ = ["COOKIE", "MAX_AGE_SECONDS", "Session", "end_session", "read_session", "start_session"]

COOKIE = "hitl_session"
MAX_AGE_SECONDS = 12 * 3600
_SALT = "hitlkit.session.v2"


@dataclass(frozen=True)
class Session:
    """A signed-in browser: the hash of its token, and the id of this sign-in."""

    digest: str
    id: str

    @property
    def binding(self) -> str:
        """What the form tokens of this sign-in are bound to."""
        return f"session:{self.id}"


def start_session(request: Request, response: Response, keys: Sequence[bytes], digest: str) -> None:
    """Sign the browser in as the token whose hash is `digest`, under a new session id.

    `keys` verify, the last one signs (the current key after former ones).
    """
    data = {"h": digest, "s": secrets.token_urlsafe(24)}
    set_signed_cookie(
        request, response, COOKIE, data, keys=keys, salt=_SALT, max_age=MAX_AGE_SECONDS
    )


def read_session(request: Request, keys: Sequence[bytes]) -> Session | None:
    """The browser's sign-in, if its cookie is authentic and fresh."""
    data = get_signed_cookie(request, COOKIE, keys=keys, salt=_SALT, max_age=MAX_AGE_SECONDS)
    if data is None:
        return None
    digest, session_id = data.get("h"), data.get("s")
    if not (isinstance(digest, str) and isinstance(session_id, str) and session_id):
        return None
    return Session(digest, session_id)


def end_session(request: Request, response: Response) -> None:
    """Sign the browser out: it forgets its cookie."""
    delete_cookie(request, response, COOKIE)
