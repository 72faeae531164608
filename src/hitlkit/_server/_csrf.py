"""Form tokens against cross-site request forgery, without server-side state.

The form page sets a random value in the `hitl_csrf` cookie (HttpOnly,
SameSite=Strict) and puts HMAC(key, value) in the form's hidden `csrf` field;
the post must carry both, matching. Another site can neither read the cookie
nor compute the field, and a cookie planted by a sibling domain does not match
a field it cannot sign. The key comes from `HITL_SECRET`, so every replica
sharing it accepts the others' forms; without a secret it is random per app,
and a form loaded from a replaced app is shown again with a fresh token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

from hitlkit._server._context import set_cookie

__all__ = ["COOKIE", "FIELD", "csrf_field", "csrf_valid", "set_csrf_cookie"]

COOKIE = "hitl_csrf"
FIELD = "csrf"
_VALUE = re.compile(r"[A-Za-z0-9_-]{24,64}")


def csrf_field(request: Request, key: bytes) -> tuple[str, str]:
    """(cookie value, field value) for a form page: the caller's cookie if it has one."""
    cookie = request.cookies.get(COOKIE, "")
    if not _VALUE.fullmatch(cookie):
        cookie = secrets.token_urlsafe(24)
    return cookie, _sign(key, cookie)


def set_csrf_cookie(request: Request, response: Response, cookie: str) -> None:
    """Give the browser the cookie half of the form token."""
    set_cookie(request, response, COOKIE, cookie)


def csrf_valid(request: Request, key: bytes, field: str | None) -> bool:
    """Whether the post carries a cookie and a field that belong together."""
    cookie = request.cookies.get(COOKIE, "")
    if not field or not _VALUE.fullmatch(cookie):
        return False
    return hmac.compare_digest(_sign(key, cookie), field)


def _sign(key: bytes, cookie: str) -> str:
    return hmac.new(key, cookie.encode(), hashlib.sha256).hexdigest()
