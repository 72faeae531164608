"""Form tokens against cross-site request forgery, without server-side state.

A form's hidden `csrf` field is an HMAC, under the app's key, of what the browser
proved it holds:

- signed in: the session id (`session:<id>`), new at every sign-in;
- through an answer link: the link token (`link:<token>`);
- neither (no tokens file, loopback only): a random value the page sets in the
  `hitl_csrf` cookie (double submit).

Another site can neither read the session or link cookie nor compute the field, and
a cookie/field pair it got from the app for itself (from `/login`, say) and planted
from a sibling subdomain or another port does not match the victim's session. The
double-submit cookie has no such anchor, which is why state changes must also come
from this app's own origin (`hitlkit._server._guards`). The key comes from
`HITL_SECRET`, so every replica sharing it accepts the others' forms, and from former
secrets (`HITL_SECRET_PREVIOUS`) for forms opened before a rotation; without a secret
it is random per app, and a form loaded from a replaced app is shown again with a
fresh token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response

from hitlkit._server._context import get_cookie, set_cookie

__all__ = ["COOKIE", "FIELD", "csrf_field", "csrf_valid", "set_csrf_cookie"]

COOKIE = "hitl_csrf"
FIELD = "csrf"
_VALUE = re.compile(r"[A-Za-z0-9_-]{24,64}")


def csrf_field(request: Request, key: bytes, binding: str | None) -> tuple[str | None, str]:
    """(cookie value to set, field value) for a form page.

    With a `binding` (a session's or link's, see `Caller.binding`) no cookie is
    needed; otherwise the caller's double-submit cookie, or a new one.
    """
    if binding is not None:
        return None, _sign(key, binding)
    cookie = get_cookie(request, COOKIE) or ""
    if not _VALUE.fullmatch(cookie):
        cookie = secrets.token_urlsafe(24)
    return cookie, _sign(key, "cookie:" + cookie)


def set_csrf_cookie(request: Request, response: Response, cookie: str | None) -> None:
    """Give the browser the cookie half of a double-submit form token, if there is one."""
    if cookie is not None:
        set_cookie(request, response, COOKIE, cookie)


def csrf_valid(
    request: Request, keys: Sequence[bytes], binding: str | None, field: str | None
) -> bool:
    """Whether the post's `field` is the form token of its `binding` (else of its cookie)."""
    if not field:
        return False
    if binding is None:
        cookie = get_cookie(request, COOKIE) or ""
        if not _VALUE.fullmatch(cookie):
            return False
        binding = "cookie:" + cookie
    found = False
    for key in keys:  # every key, so timing does not tell which one matched
        found |= hmac.compare_digest(_sign(key, binding), field)
    return found


def _sign(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()
