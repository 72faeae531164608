"""Signed answer links: a URL that lets its holder answer one event, until it expires.

A link's token is the event id, the intended responder's identity and the expiry,
signed with HMAC-SHA256 (itsdangerous) under a secret from configuration
(`HITL_SECRET`). Changing any part breaks the signature; a token made for one
event is refused for every other; an expired token is refused; and once the event
is resolved, the app refuses the answer like any other (409/410), so a link cannot
be replayed. Every replica of the app, and every process that makes links, must
share the secret.

Secrets rotate: new links are signed with the current secret, and links signed with
a former one (`HITL_SECRET_PREVIOUS`) verify until they expire. So do links signed
with HMAC-SHA1 by earlier versions of hitlkit.

```python
token = sign_answer_link(secret, event.request_id, identity="ana", expires_at=deadline)
url = answer_url("https://hitl.example.com", event.request_id, token)
link = verify_answer_link(secret, token, request_id=event.request_id)   # AnswerLink
verify_answer_link(new_secret, token, previous=[secret])                 # after a rotation
```

A choice link is the same, for one answer chosen in advance (Approve, Reject, a
choice): it opens a confirmation page (`/choose/<id>?token=...`) whose one button
records that answer. Its token also carries the answer and the channel the link was
sent through, under another salt, so an answer link is never a choice link nor the
other way round.

```python
token = sign_choice_link(secret, event.request_id, True, identity="ana",
                         expires_at=deadline, channel="email")
url = choice_url("https://hitl.example.com", event.request_id, token)
verify_choice_link(secret, token, request_id=event.request_id).value       # True
```
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

from hitlkit._exceptions import ConfigurationError, InvalidLinkError
from hitlkit._records import is_event_id, utcnow

__all__ = [
    "MIN_SECRET_LENGTH",
    "AnswerLink",
    "ChoiceLink",
    "answer_url",
    "choice_url",
    "sign_answer_link",
    "sign_choice_link",
    "verify_answer_link",
    "verify_choice_link",
]

MIN_SECRET_LENGTH = 16
"""Shorter secrets are refused: a guessable secret lets anyone forge links."""

_SALT = "hitlkit.answer-link.v1"
_CHOICE_SALT = "hitlkit.choice-link.v1"
_CHANNEL = re.compile(r"[a-z][a-z0-9_+-]{0,31}")


@dataclass(frozen=True)
class AnswerLink:
    """What a verified link allows: answering `request_id` as `identity` until `expires_at`."""

    request_id: str
    identity: str | None
    expires_at: datetime


def sign_answer_link(
    secret: str, request_id: str, *, identity: str | None, expires_at: datetime
) -> str:
    """A link token: its holder may answer `request_id`, as `identity`, until `expires_at`.

    `expires_at` must be timezone-aware. The token is URL-safe.

    ```python
    token = sign_answer_link(secret, "5f0c1a2b3c4d5e6f7a8b9c0d", identity="ana",
                             expires_at=utcnow() + timedelta(hours=1))
    ```
    """
    if not is_event_id(request_id):
        raise ValueError(f"expected an event id of 24 hex digits, got {request_id!r}")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware (UTC)")
    payload = {"r": request_id, "i": identity, "e": int(expires_at.timestamp())}
    token = _serializer(secret).dumps(payload)
    return token if isinstance(token, str) else token.decode()


def answer_url(base_url: str, request_id: str, token: str) -> str:
    """The form URL of `request_id` carrying the link `token`.

    ```python
    answer_url("http://127.0.0.1:8080", request_id, token)
    # 'http://127.0.0.1:8080/form/5f0c...?token=eyJy...'
    ```
    """
    return f"{base_url.rstrip('/')}/form/{quote(request_id, safe='')}?token={quote(token, safe='')}"


def verify_answer_link(
    secret: str,
    token: str,
    *,
    request_id: str | None = None,
    now: datetime | None = None,
    previous: Sequence[str] = (),
) -> AnswerLink:
    """The link `token` stands for, if it is authentic, unexpired, and (given `request_id`) for it.

    `previous` are former secrets: links they signed still verify. Raises
    `InvalidLinkError` with `reason` `invalid` (forged, altered, not a link),
    `expired` or `other_event`.
    """
    payload, expires_at = _verified(
        "answer", secret, token, request_id=request_id, now=now, previous=previous
    )
    return AnswerLink(request_id=payload["r"], identity=payload["i"], expires_at=expires_at)


@dataclass(frozen=True)
class ChoiceLink:
    """What a verified choice link allows: recording `value` on `request_id` as
    `identity` (`None`: whoever holds it) until `expires_at`; sent through `channel`."""

    request_id: str
    identity: str | None
    expires_at: datetime
    value: Any
    channel: str


def sign_choice_link(
    secret: str,
    request_id: str,
    value: Any,
    *,
    identity: str | None,
    expires_at: datetime,
    channel: str,
) -> str:
    """A choice link token: its holder may record `value` (a JSON value) on `request_id`,
    as `identity`, until `expires_at`; `channel` ("email", "teams") is recorded with it."""
    if not is_event_id(request_id):
        raise ValueError(f"expected an event id of 24 hex digits, got {request_id!r}")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware (UTC)")
    if not _CHANNEL.fullmatch(channel):
        raise ValueError(f"expected a channel name such as 'email', got {channel!r}")
    payload = {
        "r": request_id,
        "i": identity,
        "e": int(expires_at.timestamp()),
        "v": value,
        "c": channel,
    }
    token = _serializer(secret, salt=_CHOICE_SALT).dumps(payload)
    return token if isinstance(token, str) else token.decode()


def choice_url(base_url: str, request_id: str, token: str) -> str:
    """The confirmation page of `request_id` for the choice link `token`."""
    return (
        f"{base_url.rstrip('/')}/choose/{quote(request_id, safe='')}?token={quote(token, safe='')}"
    )


def verify_choice_link(
    secret: str,
    token: str,
    *,
    request_id: str | None = None,
    now: datetime | None = None,
    previous: Sequence[str] = (),
) -> ChoiceLink:
    """The choice link `token` stands for, checked as `verify_answer_link` checks an answer
    link (same `reason`s: `invalid`, `expired`, `other_event`)."""
    payload, expires_at = _verified(
        "choice", secret, token, request_id=request_id, now=now, previous=previous
    )
    if not (
        "v" in payload and isinstance(payload.get("c"), str) and _CHANNEL.fullmatch(payload["c"])
    ):
        raise InvalidLinkError("the choice link is not valid; ask for a new one", reason="invalid")
    return ChoiceLink(
        request_id=payload["r"],
        identity=payload["i"],
        expires_at=expires_at,
        value=payload["v"],
        channel=payload["c"],
    )


def _verified(
    kind: str,
    secret: str,
    token: str,
    *,
    request_id: str | None,
    now: datetime | None,
    previous: Sequence[str],
) -> tuple[dict[str, Any], datetime]:
    """The payload of a `kind` ("answer", "choice") link and its expiry, if it is authentic,
    unexpired, and (given `request_id`) for that event; else `InvalidLinkError`."""
    salt = _CHOICE_SALT if kind == "choice" else _SALT
    invalid = f"the {kind} link is not valid; ask for a new one"
    try:
        payload: Any = _serializer(secret, previous, salt=salt).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise InvalidLinkError(invalid, reason="invalid") from None
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get("r"), str)
        and is_event_id(payload["r"])
        and isinstance(payload.get("e"), int)
        and (payload.get("i") is None or isinstance(payload.get("i"), str))
    ):
        raise InvalidLinkError(invalid, reason="invalid")
    expires_at = datetime.fromtimestamp(payload["e"], timezone.utc)
    if (now or utcnow()) >= expires_at:
        raise InvalidLinkError(f"the {kind} link has expired; ask for a new one", reason="expired")
    if request_id is not None and payload["r"] != request_id:
        raise InvalidLinkError(f"the {kind} link is for another event", reason="other_event")
    return payload, expires_at


def check_secret(secret: str, *, name: str = "HITL_SECRET") -> str:
    """Return `secret` if it is long enough to sign links, else raise `ConfigurationError`."""
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"{name} must be at least {MIN_SECRET_LENGTH} characters, got {len(secret)}; "
            'make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    return secret


def _serializer(
    secret: str, previous: Sequence[str] = (), *, salt: str = _SALT
) -> URLSafeSerializer:
    # itsdangerous signs with the last key and verifies with any; links made before
    # SHA-256 (itsdangerous' default, SHA-1) verify through the fallback signer.
    keys = [check_secret(key, name="HITL_SECRET_PREVIOUS") for key in previous]
    return URLSafeSerializer(
        [*keys, check_secret(secret)],
        salt=salt,
        signer_kwargs={"digest_method": hashlib.sha256},
        fallback_signers=[{"digest_method": hashlib.sha1}],
    )
