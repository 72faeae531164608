"""Who is asking: API tokens, signed answer links, or nobody (loopback only).

| configuration  | requests need                              | identity recorded          |
|----------------|--------------------------------------------|----------------------------|
| no tokens file | nothing (serve on 127.0.0.1 only)          | the client's `by`, or link |
| tokens file    | `Authorization: Bearer <token>`, or a link | the token's name, or link  |

A link (a token signed with the secret, see `hitlkit._links`) grants reading and
answering its one event: `?token=` on the form (which the page then keeps in a
cookie of that event, never in the page), or `Authorization: Bearer <link token>`
on the JSON API. An API token grants everything, and is taken only from the
`Authorization` header: one in a URL or a form is refused, since URLs end up in
logs and histories. A presented credential that is not valid is refused even where
none is needed: a caller never silently loses the identity it meant to answer as.
Browsers may sign in with an API token at `/login` (`hitlkit._server._session`);
that cookie counts on the HTML pages only.

`/metrics` takes a scrape token (from the metrics tokens file, `HITL_METRICS_TOKEN_FILE`)
or an API token, whenever the app has either file: a scrape token reads the metrics
and nothing else, since no other route knows it (`authenticate_scrape`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, cast

from starlette.requests import Request

from hitlkit import _config, _errors
from hitlkit._errors import ErrorCode
from hitlkit._exceptions import ConfigurationError, InvalidLinkError
from hitlkit._links import check_secret, verify_answer_link
from hitlkit._policy import Proof
from hitlkit._server._session import read_session
from hitlkit._tokens import TOKEN_PREFIX, TokenTable

__all__ = [
    "AuthFailure",
    "AuthSettings",
    "Caller",
    "auth_settings",
    "authenticate",
    "authenticate_scrape",
    "check_serving",
    "signed_in",
]

LINK_IDENTITY = "link"
"""Recorded as who answered through a link made without an identity."""


@dataclass(frozen=True)
class AuthSettings:
    """How the app tells callers apart; made once per app by `create_app`."""

    tokens: TokenTable | None = None
    secret: str | None = None
    csrf_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    """Signs form tokens and sign-in cookies: derived from the secret, else random per app."""
    previous_secrets: tuple[str, ...] = ()
    """Former secrets: what they signed (links, sign-ins, forms) still verifies."""
    previous_keys: tuple[bytes, ...] = ()
    scrape_tokens: TokenTable | None = None
    """Tokens that may read `/metrics` only."""

    @classmethod
    def build(
        cls,
        *,
        tokens_file: str | Path | None,
        secret: str | None,
        previous_secrets: Sequence[str] = (),
        metrics_tokens_file: str | Path | None = None,
    ) -> AuthSettings:
        """Settings from the app's options; `ConfigurationError` if they cannot be used."""
        tokens = TokenTable(Path(tokens_file)) if tokens_file else None
        scrape = TokenTable(Path(metrics_tokens_file)) if metrics_tokens_file else None
        if not secret:  # an empty variable means "not set"
            return cls(tokens=tokens, scrape_tokens=scrape)
        # Replicas sharing the secret accept each other's form tokens.
        csrf_key = _derive(check_secret(secret))
        previous = tuple(check_secret(s, name="HITL_SECRET_PREVIOUS") for s in previous_secrets)
        return cls(
            tokens=tokens,
            secret=secret,
            csrf_key=csrf_key,
            previous_secrets=previous,
            previous_keys=tuple(_derive(s) for s in previous),
            scrape_tokens=scrape,
        )

    @property
    def keys(self) -> tuple[bytes, ...]:
        """Keys that verify form tokens and sign-in cookies; the last one signs."""
        return (*self.previous_keys, self.csrf_key)

    @property
    def required(self) -> bool:
        """Whether every request must carry a credential."""
        return self.tokens is not None


def _derive(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"hitlkit.csrf.v1", hashlib.sha256).digest()


@dataclass(frozen=True)
class Caller:
    """Who sent a request: `kind` says how they proved it."""

    kind: Literal["nobody", "token", "link"]
    identity: str | None = None
    event: str | None = None
    """The event a link is for (links only)."""
    binding: str | None = None
    """What a browser's form tokens are bound to: `session:<id>` when signed in,
    `link:<token>` through a link; `None` otherwise (`hitlkit._server._csrf`)."""
    expires_at: datetime | None = None
    """When a link stops counting."""

    def by(self, claimed: str | None) -> str:
        """The identity to record: the credential's, or (without one) what the client claims."""
        if self.kind == "nobody":
            return claimed or "anonymous"
        return self.identity or LINK_IDENTITY

    @property
    def proof(self) -> Proof:
        """How the identity recorded is known, for a policy that counts identities: an API
        token, a link made for an identity, or only declared (no credential, or a link
        made for anyone)."""
        if self.kind == "token" and self.identity:
            return "token"
        if self.kind == "link" and self.identity:
            return "link"
        return "declared"


class AuthFailure(Exception):
    """A request refused for want of a valid credential (401) or of permission (403)."""

    def __init__(self, error: ErrorCode, message: str, *, html: bool) -> None:
        super().__init__(message)
        self.error = error
        self.html = html

    @property
    def for_people(self) -> str:
        """The message as a page shows it to a person."""
        return _PAGE_WORDS.get(str(self), str(self))

    @property
    def status_code(self) -> int:
        """401 (no valid credential) or 403 (not allowed), from the error table."""
        return self.error.status


_MISSING = (
    "this app needs a credential: an API token (Authorization: Bearer TOKEN) or an answer link"
)
_INVALID = "the credential is not valid"

_CREDENTIAL_IN_URL = (
    "an API token goes in the Authorization header (Authorization: Bearer TOKEN), "
    "never in a URL or a form; ?token= takes answer links only"
)


_PAGE_WORDS = {
    _MISSING: "Sign in with your API token, or open the answer link you were sent.",
    _CREDENTIAL_IN_URL: "This address holds an API token, which never goes in a link: "
    "sign in with it on the sign-in page instead.",
}
"""What a page says to a person instead of the header a program sends."""


def authenticate(
    request: Request,
    *,
    request_id: str | None = None,
    link: str | None = None,
    needs: Literal["read", "answer", "all"],
    html: bool = False,
    session: bool = False,
) -> Caller:
    """The caller of `request`, if it may do what `needs` says to `request_id`.

    `needs="all"` (listing, cancelling) takes an API token; `read` and `answer` of one
    event also take a link for it. `link` is a link token sent outside the
    `Authorization` header (the form's `?token=`, or the link cookie of its event);
    an API token there is refused.
    A browser's sign-in cookie counts on HTML pages (`html`: refusals come as
    pages) and where `session` says so. Raises `AuthFailure`.
    """
    settings = auth_settings(request)
    if link and link.startswith(TOKEN_PREFIX):
        raise AuthFailure(_errors.UNAUTHORIZED, _CREDENTIAL_IN_URL, html=html)
    presented = _bearer(request, html=html) or link or None
    if presented is None:
        signed_in = _session_caller(request, settings) if html or session else None
        if signed_in is not None:
            return signed_in
        if settings.required:
            raise AuthFailure(_errors.UNAUTHORIZED, _MISSING, html=html)
        return Caller("nobody")
    if presented.startswith(TOKEN_PREFIX):
        identity = settings.tokens.identify(presented) if settings.tokens else None
        if identity is None:
            raise AuthFailure(_errors.UNAUTHORIZED, _INVALID, html=html)
        return Caller("token", identity)
    caller = _link_caller(settings, presented, request_id, html=html)
    if needs == "all":
        message = "an answer link allows answering its event only; this needs an API token"
        raise AuthFailure(_errors.FORBIDDEN, message, html=html)
    return caller


_SCRAPE_MISSING = (
    "the metrics need a scrape token or an API token (Authorization: Bearer TOKEN); "
    "make one with: hitl token create NAME --metrics"
)


def authenticate_scrape(request: Request) -> None:
    """Let `request` read `/metrics`, or raise `AuthFailure` (401).

    Where the app has a tokens file or a metrics tokens file, a scrape token or an API
    token is needed; without either, the metrics are as open as the API. A presented
    token that is not valid is refused either way; links and sign-ins never count.
    """
    settings = auth_settings(request)
    presented = _bearer(request, html=False)
    if presented is None:
        if settings.required or settings.scrape_tokens is not None:
            raise AuthFailure(_errors.UNAUTHORIZED, _SCRAPE_MISSING, html=False)
        return
    known = presented.startswith(TOKEN_PREFIX) and any(
        table.identify(presented) is not None
        for table in (settings.scrape_tokens, settings.tokens)
        if table is not None
    )
    if not known:
        raise AuthFailure(_errors.UNAUTHORIZED, _INVALID, html=False)


def signed_in(request: Request) -> Caller | None:
    """The browser's sign-in, if its cookie is valid and its token still exists."""
    return _session_caller(request, auth_settings(request))


def _session_caller(request: Request, settings: AuthSettings) -> Caller | None:
    # Read once a request: the pages ask first, then `authenticate` (a signature check
    # under every key, and a look at the tokens file, each time).
    known = getattr(request.state, "signed_in", _UNREAD)
    if known is not _UNREAD:
        return cast("Caller | None", known)
    session = read_session(request, settings.keys) if settings.tokens else None
    identity = (
        settings.tokens.identify_hash(session.digest) if settings.tokens and session else None
    )
    caller = None
    if session is not None and identity is not None:
        caller = Caller("token", identity, binding=session.binding)
    request.state.signed_in = caller  # pages offer to sign out
    return caller


_UNREAD = object()


def auth_settings(request: Request) -> AuthSettings:
    """The app's settings; from the environment if its state lost them.

    A host may replace `app.state` after `create_app` (Flyte's app environment does,
    to pickle the app): then `HITL_TOKENS_FILE`, `HITL_SECRET` and
    `HITL_SECRET_PREVIOUS` configure it.
    """
    settings = getattr(request.app.state, "auth", None)
    if not isinstance(settings, AuthSettings):
        settings = AuthSettings.build(
            tokens_file=_config.tokens_file(),
            secret=_config.secret(),
            previous_secrets=_config.previous_secrets(),
            metrics_tokens_file=_config.metrics_tokens_file(),
        )
        request.app.state.auth = settings
    return settings


def _link_caller(
    settings: AuthSettings, token: str, request_id: str | None, *, html: bool
) -> Caller:
    if settings.secret is None:
        raise AuthFailure(_errors.UNAUTHORIZED, _INVALID, html=html)
    try:
        link = verify_answer_link(
            settings.secret, token, request_id=request_id, previous=settings.previous_secrets
        )
    except InvalidLinkError as exc:
        if exc.reason == "expired":
            raise AuthFailure(_errors.LINK_EXPIRED, str(exc), html=html) from None
        if exc.reason == "other_event":
            raise AuthFailure(_errors.WRONG_EVENT, str(exc), html=html) from None
        raise AuthFailure(_errors.UNAUTHORIZED, _INVALID, html=html) from None
    return Caller(
        "link",
        link.identity,
        event=link.request_id,
        binding=f"link:{token}",
        expires_at=link.expires_at,
    )


def _bearer(request: Request, *, html: bool) -> str | None:
    # Read from the raw headers: building `request.headers` costs more than the check.
    raw = next((v for k, v in request.scope["headers"] if k == b"authorization"), None)
    if raw is None:
        return None
    header: str = raw.decode("latin-1")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthFailure(_errors.UNAUTHORIZED, "expected Authorization: Bearer TOKEN", html=html)
    return value.strip()


def check_serving(host: str, *, tokens_file: object, insecure: bool) -> None:
    """Refuse to serve beyond loopback without authentication, unless told it is on purpose."""
    if host in _config.LOOPBACK_HOSTS or tokens_file or insecure:
        return
    raise ConfigurationError(
        f"refusing to serve on {host} without authentication: anyone who reaches it could "
        "answer events; set --tokens-file (HITL_TOKENS_FILE, make tokens with `hitl token "
        "create NAME`), or pass --insecure (HITL_INSECURE=1) behind an authenticating proxy"
    )
