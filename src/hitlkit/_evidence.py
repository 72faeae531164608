"""Evidence of a decision: one JSON document an auditor can check offline.

The document holds the event as recorded, the SHA-256 of what was shown (recomputed
here, and whether the outcome's matches it), the outcome, every vote recorded (counted
or not), the delegations, the escalation steps, the standing approval used, and the
earlier versions of the question. Signed, it travels as

```json
{"document": {...}, "document_sha256": "...", "signature": "<base64 Ed25519>",
 "public_key": "<base64 raw 32 bytes>", "key_id": "<16 hex>"}
```

where the signature is over the canonical JSON (`_values.canonical_json`) of `document`
in UTF-8, and `key_id` is the first 16 hex digits of the SHA-256 of the raw public key.
`verify` checks a file against a public key the auditor trusts, and names what is
wrong: not JSON (or cut short), not evidence, another key, an altered document, or a
signature that does not hold. Signing needs `cryptography` (`pip install
'hitlkit[evidence]'`); the key is an Ed25519 private key in a PEM file
(`HITL_EVIDENCE_KEY`, made by `hitl evidence keygen`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hitlkit import _audit, _config
from hitlkit._exceptions import ConfigurationError, EventNotFoundError, HitlError
from hitlkit._policy_ops import PolicyRecords, read_records
from hitlkit._reading import load_event, load_outcome
from hitlkit._records import EventRecord, Outcome, utcnow
from hitlkit._store import Store
from hitlkit._values import canonical_json

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
    "FORMAT",
    "EvidenceError",
    "Verified",
    "build_document",
    "export",
    "generate_key",
    "key_id",
    "load_public_key",
    "sign",
    "verify",
]

FORMAT = "hitlkit-evidence/1"
MAX_VERSIONS = 100
"""How many earlier versions of a question the document follows back."""
_INSTALL = "signing and checking evidence needs cryptography: pip install 'hitlkit[evidence]'"


class EvidenceError(HitlError):
    """An evidence file that does not verify; the message names what is wrong."""


@dataclass(frozen=True)
class Verified:
    """A signed document that verified, and what it says."""

    key_id: str
    document: dict[str, Any]

    def line(self) -> str:
        """One line for `hitl verify`: who signed, which event, what was decided by whom."""
        event = self.document.get("event") or {}
        outcome = self.document.get("outcome")
        what = f"event {event.get('id')} ({event.get('name')})"
        if not isinstance(outcome, dict):
            return f"valid: signed by key {self.key_id}, {what} had no decision when exported"
        decided = outcome.get("decision") or outcome.get("status")
        value = canonical_json(outcome.get("value"))
        agreeing = [  # with how each identity was known: a token, a link, the store...
            f"{v.get('by')} ({v.get('proof') or '?'})"
            for v in outcome.get("votes") or ()
            if isinstance(v, dict) and canonical_json(v.get("value")) == value
        ]
        by = ", ".join(agreeing) or str(outcome.get("by") or "-")
        shown = "" if self.document.get("shown_matches") else "; the shown prompt hash differs"
        return (
            f"valid: signed by key {self.key_id}, {what} decided {decided} ({value}) by {by}{shown}"
        )


async def build_document(store: Store, request_id: str) -> dict[str, Any]:
    """The evidence document of `request_id`, as JSON data."""
    record = await load_event(store, request_id)
    outcome = await load_outcome(store, record.id)
    records = await read_records(store, record) if record.policy else PolicyRecords()
    shown = _audit.shown_digest(record)
    return {
        "format": FORMAT,
        "exported_at": utcnow().isoformat(),
        "event": record.model_dump(mode="json"),
        "shown_sha256": shown,
        "shown_matches": None if outcome is None else outcome.shown_sha256 == shown,
        "outcome": None if outcome is None else outcome.model_dump(mode="json"),
        "votes": [v.model_dump(mode="json") for v in records.votes],
        "delegations": [d.model_dump(mode="json") for d in records.delegations],
        "steps": [s.model_dump(mode="json") for s in records.steps],
        "grant": None
        if outcome is None or outcome.grant is None
        else outcome.grant.model_dump(mode="json"),
        "versions": await _versions(store, record),
    }


async def _versions(store: Store, record: EventRecord) -> list[dict[str, Any]]:
    """The earlier versions of the question, newest first: each one's id and outcome."""
    earlier: list[dict[str, Any]] = []
    previous = record.previous_id
    seen = {record.id}
    while previous and previous not in seen and len(earlier) < MAX_VERSIONS:
        seen.add(previous)
        try:
            before = await load_event(store, previous)
        except EventNotFoundError:
            earlier.append({"id": previous, "missing": True})
            break
        outcome = await load_outcome(store, before.id)
        earlier.append(
            {
                "id": before.id,
                "version": before.version,
                "prompt": before.prompt,
                "outcome": _outcome_summary(outcome),
            }
        )
        previous = before.previous_id
    return earlier


def _outcome_summary(outcome: Outcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    return {
        "status": outcome.status,
        "decision": outcome.decision,
        "value": outcome.value,
        "by": outcome.by,
        "at": outcome.at.isoformat(),
        "reason": outcome.reason,
    }


async def export(
    store: Store, request_id: str, key_file: str | Path | None = None
) -> dict[str, Any]:
    """The evidence of `request_id`: signed with `key_file` (default `HITL_EVIDENCE_KEY`)
    when there is one, else the document alone with a note saying it is unsigned."""
    document = await build_document(store, request_id)
    key_file = key_file or _config.evidence_key()
    if key_file is None:
        return {
            "document": document,
            "document_sha256": _digest(document),
            "note": "unsigned: no evidence key is set (HITL_EVIDENCE_KEY); "
            "make one with `hitl evidence keygen`",
        }
    return sign(document, load_private_key(key_file))


def sign(document: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """`document` with its Ed25519 signature, public key and key id."""
    raw = _raw_public(key.public_key())
    signature = key.sign(canonical_json(document).encode())
    return {
        "document": document,
        "document_sha256": _digest(document),
        "signature": base64.b64encode(signature).decode(),
        "public_key": base64.b64encode(raw).decode(),
        "key_id": key_id(raw),
    }


def verify(data: bytes, trusted: Ed25519PublicKey) -> Verified:
    """Check signed evidence (the file's bytes) against the `trusted` public key;
    `EvidenceError` naming what is wrong."""
    from cryptography.exceptions import InvalidSignature

    signed = _parsed(data)
    document = signed["document"]
    trusted_raw = _raw_public(trusted)
    given = _b64(signed.get("public_key"), "public_key")
    if given != trusted_raw:
        raise EvidenceError(
            f"wrong key: the file was signed by key {key_id(given) if len(given) == 32 else '?'}"
            f", not by the trusted key {key_id(trusted_raw)}"
        )
    if signed.get("key_id") != key_id(trusted_raw):
        raise EvidenceError("altered document: its key_id is not that of its public key")
    if signed.get("document_sha256") != _digest(document):
        raise EvidenceError(
            "altered document: its content differs from what was signed (document_sha256)"
        )
    try:
        trusted.verify(_b64(signed.get("signature"), "signature"), _canonical(document))
    except InvalidSignature:
        raise EvidenceError("bad signature: it does not hold for this document and key") from None
    event = document.get("event")
    if not isinstance(event, dict) or _shown_of(event) != document.get("shown_sha256"):
        raise EvidenceError("altered document: its shown_sha256 is not that of its event")
    return Verified(key_id(trusted_raw), document)


def _parsed(data: bytes) -> dict[str, Any]:
    try:
        signed = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constant,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise EvidenceError(f"not JSON (cut short, or not an evidence file): {exc}") from None
    except RecursionError:
        raise EvidenceError("not evidence: it is nested too deeply") from None
    if not isinstance(signed, dict) or not isinstance(signed.get("document"), dict):
        raise EvidenceError("not evidence: expected a JSON object with a document")
    try:
        _canonical(signed["document"])
    except (UnicodeError, ValueError, RecursionError):
        raise EvidenceError(
            "not evidence: its document holds what no signed document can (text that is "
            "not Unicode, or nesting too deep)"
        ) from None
    if signed["document"].get("format") != FORMAT:
        raise EvidenceError(f"not evidence: its document's format is not {FORMAT}")
    if signed.get("signature") is None:
        raise EvidenceError("not signed: the file holds an unsigned document")
    return signed


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    made = dict(pairs)
    if len(made) != len(pairs):
        raise ValueError("a key appears twice in one object")
    return made


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _b64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise EvidenceError(f"not evidence: {what} is missing")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = None
    if raw is None or base64.b64encode(raw).decode() != text:  # one spelling only
        raise EvidenceError(f"bad signature: {what} is not base64 as written when signed")
    return raw


def _canonical(document: dict[str, Any]) -> bytes:
    return canonical_json(document).encode()


def _digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(document)).hexdigest()


def _shown_of(event: dict[str, Any]) -> str | None:
    """The shown-prompt hash of an event as exported, recomputed."""
    try:
        return _audit.shown_digest(EventRecord.model_validate(event))
    except ValueError:
        return None


def key_id(raw_public: bytes) -> str:
    """The first 16 hex digits of the SHA-256 of a raw Ed25519 public key."""
    return hashlib.sha256(raw_public).hexdigest()[:16]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _cryptography() -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise ConfigurationError(_INSTALL) from None


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file `path`; `ConfigurationError` naming what is wrong."""
    _cryptography()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the evidence key {path} (HITL_EVIDENCE_KEY): {exc.strerror}"
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"{path} (HITL_EVIDENCE_KEY) is not an unencrypted PEM private key; "
            "make one with `hitl evidence keygen`"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} (HITL_EVIDENCE_KEY) is not an Ed25519 key")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """The Ed25519 public key in `path`: PEM, or the base64 of its raw 32 bytes."""
    _cryptography()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = Path(path).read_bytes()
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_public_key(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data.strip(), validate=True))
    except (ValueError, TypeError, binascii.Error):
        raise ValueError(
            f"{path} is not an Ed25519 public key (PEM, or base64 of 32 bytes)"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def generate_key(path: str | Path) -> tuple[Path, str]:
    """Write a new Ed25519 private key to `path` (PEM, mode 0600, never over a file) and its
    public key to `path.pub`; return the public key's path and its key id."""
    _cryptography()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = Path(path)
    pub = path.with_name(path.name + ".pub")
    if pub.exists():
        raise FileExistsError(f"{pub} exists; choose another --out, or move it away")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags, 0o600)
    except FileExistsError:
        raise FileExistsError(f"{path} exists; choose another --out, or move it away") from None
    with os.fdopen(descriptor, "wb") as out:
        out.write(private)
    pub.write_bytes(public)
    return pub, key_id(_raw_public(key.public_key()))
