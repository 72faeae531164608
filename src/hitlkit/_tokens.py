"""API tokens: random bearer tokens, each standing for one identity, kept only as hashes.

The tokens file (`HITL_TOKENS_FILE`) is JSON:

```json
{"tokens": [{"name": "ana", "sha256": "9f86d0...", "created_at": "2026-01-31T14:05:00+00:00"}]}
```

A token is `hitl_` and 43 random URL-safe characters (256 bits), so a plain
SHA-256 of it is as good as a slow password hash: nobody can guess its way back.
Lookups compare the presented token's hash with every stored hash in constant
time, so timing tells nothing about which tokens exist.

```python
token = create_token(Path("tokens.json"), "ana")    # shown once; only the hash is stored
TokenTable(Path("tokens.json")).identify(token)     # "ana"
```
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import tempfile
import threading
from pathlib import Path

from hitlkit._exceptions import ConfigurationError
from hitlkit._records import utcnow

__all__ = ["TOKEN_PREFIX", "TokenTable", "create_token", "revoke_tokens", "token_hash"]

TOKEN_PREFIX = "hitl_"  # noqa: S105 - a marker, not a secret
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
_HASH = re.compile(r"[0-9a-f]{64}")


def token_hash(token: str) -> str:
    """The hex SHA-256 of `token`, as kept in the tokens file."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(path: Path, name: str) -> str:
    """Make a new token for identity `name`, add its hash to `path`, and return the token.

    The file is created (mode 0600) if missing and replaced atomically, keeping its mode.
    Several tokens may share a name (to rotate one, make the new, then revoke the old).
    """
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"a token name is 1-100 letters, digits or ._@- starting with a letter or digit, "
            f"got {name!r}"
        )
    entries = _read(path) if path.exists() else []
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created_at = utcnow().isoformat(timespec="seconds")
    entries.append({"name": name, "sha256": token_hash(token), "created_at": created_at})
    _write(path, entries)
    return token


def revoke_tokens(path: Path, name: str) -> int:
    """Remove every token of identity `name` from `path`; how many there were.

    The file is replaced atomically, keeping its mode; an app reading it stops
    accepting them at its next request.
    """
    entries = _read(path)
    kept = [entry for entry in entries if entry["name"] != name]
    if len(kept) < len(entries):
        _write(path, kept)
    return len(entries) - len(kept)


class TokenTable:
    """The tokens of one file, read again whenever the file changes.

    ```python
    table = TokenTable(Path("tokens.json"))
    table.identify("hitl_...")     # "ana", or None for an unknown token
    ```
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._entries: list[tuple[str, bytes]] = []
        self._reload()

    def identify(self, token: str) -> str | None:
        """The identity `token` stands for, or `None`; compares every entry in constant time."""
        return self.identify_hash(token_hash(token))

    def identify_hash(self, digest: str) -> str | None:
        """The identity of the token whose SHA-256 is `digest` (hex), or `None`."""
        self._reload()
        presented = digest.encode()
        found: str | None = None
        for name, stored in self._entries:
            if hmac.compare_digest(presented, stored) and found is None:
                found = name
        return found

    def _reload(self) -> None:
        try:
            info = self.path.stat()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the tokens file {self.path}: {exc.strerror or exc}; "
                "create it with: hitl token create NAME"
            ) from None
        # A file replaced by one of the same size within a clock tick has another inode.
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        with self._lock:
            if stamp == self._stamp:
                return
            self._entries = [(e["name"], e["sha256"].encode()) for e in _read(self.path)]
            self._stamp = stamp


def _read(path: Path) -> list[dict[str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the tokens file {path}: {exc}") from None
    entries = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(
        isinstance(e, dict)
        and isinstance(e.get("name"), str)
        and isinstance(e.get("sha256"), str)
        and _HASH.fullmatch(e["sha256"])
        for e in entries
    ):
        raise ConfigurationError(
            f'the tokens file {path} must hold {{"tokens": [{{"name": ..., "sha256": ...}}]}}'
        )
    return entries


def _write(path: Path, entries: list[dict[str, str]]) -> None:
    # The file the app reads, through any link to it; it keeps its mode and, where this
    # user may give it, its owner: a file made readable on purpose for an app that runs
    # as another user stays readable by it.
    path = Path(os.path.realpath(path))
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    mode = stat.S_IMODE(info.st_mode) if info is not None else 0o600
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tokens-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump({"tokens": entries}, file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, mode)
        if info is not None and (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
            os.chown(temp, info.st_uid, info.st_gid)  # refused unless allowed: nothing written
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
