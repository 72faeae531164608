"""Browser sign-in with an API token: a signed, expiring cookie naming the token's hash.

`POST /login` checks the token, then sets `hitl_session` (HttpOnly, SameSite=Strict,
12 hours) to the token's SHA-256 signed with the app's key. Each page request looks
the hash up in the tokens file again, so deleting a token signs its sessions out.
The cookie is accepted by the HTML pages only; programs send the token itself.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from hitlkit._server._context import set_cookie

__all__ = ["COOKIE", "MAX_AGE_SECONDS", "read_session", "set_session"]

COOKIE = "hitl_session"
MAX_AGE_SECONDS = 12 * 3600
_SALT = "hitlkit.session.v1"


def set_session(request: Request, response: Response, key: bytes, digest: str) -> None:
    """Sign the browser in as the token whose hash is `digest`."""
    value = URLSafeTimedSerializer(key, salt=_SALT).dumps({"h": digest})
    text = value if isinstance(value, str) else value.decode()
    set_cookie(request, response, COOKIE, text, max_age=MAX_AGE_SECONDS)


def read_session(request: Request, key: bytes) -> str | None:
    """The token hash the browser signed in with, if its cookie is authentic and fresh."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    try:
        data: Any = URLSafeTimedSerializer(key, salt=_SALT).loads(cookie, max_age=MAX_AGE_SECONDS)
    except (BadSignature, ValueError, TypeError):
        return None
    digest = data.get("h") if isinstance(data, dict) else None
    return digest if isinstance(digest, str) else None
