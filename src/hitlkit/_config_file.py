"""The configuration file: `[tool.hitlkit]` in a `pyproject.toml`, or a `hitl.toml`.

The first folder, from the current one up (the boundaries of `_discovery`), that
holds a `hitl.toml` or a `pyproject.toml` with a `[tool.hitlkit]` table has the
file; a `pyproject.toml` without that table does not stop the search. When one
folder holds both, `hitl.toml` is read and `pyproject.toml` ignored: a file made
for hitlkit alone is the more deliberate choice.

```toml
[tool.hitlkit]            # in pyproject.toml; in hitl.toml, the same keys at the top
store = ".hitl"           # relative to this file's folder
endpoint = "http://127.0.0.1:8081"
autostart = false
remind_before = 600
```

Keys are the environment variables' names without `HITL_`, lowercased (`KEYS`).
A value of the wrong type, an unknown key, or a secret (a signing secret, a token,
notification URLs that carry credentials) is a `ConfigurationError` naming the
file and the key: secrets belong in the environment, or in a file named by a path
setting such as `tokens_file`. Relative paths (`store`, `tokens_file`, ...) are
relative to the file's folder, not to the current one. A file owned by another user
(not root) is skipped with a warning, as a `.hitl` of theirs is: whoever can write it
could point this user's programs at their store.

The owner is checked before a byte is read (`_table`), so a file planted by another
user can make no program hang or fail: the file is opened without following a
symbolic link and without blocking (a FIFO), then its descriptor must be a regular
file owned by the user or root, of at most `LIMIT` bytes. A symbolic link is used
when the link and the file it leads to are both the user's or root's; its relative
paths are then relative to the folder of the file it leads to, where its author
meant them (never the link's folder, which another user may have chosen). The
user's own file that is too big, not a regular file, nested too deeply or not TOML
is a `ConfigurationError` naming it; another user's is skipped.
"""

from __future__ import annotations

import difflib
import errno
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hitlkit._discovery import folders_up, skip_file, trusted_file, trusted_owner
from hitlkit._exceptions import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["KEYS", "LIMIT", "SECRETS", "ConfigFile", "find_config_file", "read_config_file"]

Kind = Literal["text", "path", "bool", "seconds", "count", "list"]

KEYS: dict[str, Kind] = {
    "store": "path",
    "endpoint": "text",
    "client_endpoint": "text",
    "run_id": "text",
    "autostart": "bool",
    "user": "text",
    "tokens_file": "path",
    "insecure": "bool",
    "remind_before": "seconds",
    "store_mode": "text",
    "max_record_bytes": "count",
    "forwarded_allow_ips": "list",
    "allowed_hosts": "list",
    "host": "text",
    "port": "count",
    "headers_timeout": "seconds",
    "body_timeout": "seconds",
    "idle_timeout": "seconds",
    "max_concurrency": "count",
    "streams_per_client": "count",
    "streams_total": "count",
    "stream_heartbeat_seconds": "seconds",
    "stream_max_seconds": "seconds",
    "retention": "text",
    "archive": "path",
    "metrics_port": "count",
    "metrics_token_file": "path",
    "approvers": "list",
    "mcp_name": "text",
    "mcp_runs": "list",
    "mcp_elicit": "bool",
    "grantors": "list",
    "evidence_key": "path",
    "slack_users": "text",
    "slack_email_domains": "list",
    "email_identities": "text",
}
"""The keys a configuration file may set, and the kind of value each takes."""

SECRETS = {
    "secret": "HITL_SECRET",
    "secret_previous": "HITL_SECRET_PREVIOUS",
    "token": "HITL_TOKEN",
    "metrics_token": "HITL_METRICS_TOKEN_FILE (a file of scrape token hashes)",
    "notify": "HITL_NOTIFY (its URLs carry credentials)",
    "notify_targets": "HITL_NOTIFY_TARGETS (its URLs carry credentials)",
    "slack_bot_token": "HITL_SLACK_BOT_TOKEN",
    "slack_signing_secret": "HITL_SLACK_SIGNING_SECRET",
    "slack_app_token": "HITL_SLACK_APP_TOKEN",
    "slack_api_url": "HITL_SLACK_API_URL (where the bot token is sent)",
}
"""Settings refused in a file, and where they go instead."""

LIMIT = 1 << 20
"""The largest configuration file read, in bytes (1 MiB): settings take a few hundred."""

_OPEN = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)  # a link swapped in after the check is not followed
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO opens at once, to be refused
    | getattr(os, "O_CLOEXEC", 0)
)

_URL_SCHEMES = ("file://", "memory://", "s3://", "gs://", "az://", "abfs://", "abfss://")


@dataclass(frozen=True)
class ConfigFile:
    """A configuration file read: where it is, and its values as the environment spells them."""

    path: Path
    values: dict[str, str]

    @property
    def label(self) -> str:
        """How messages name it: `hitl.toml at PATH`, `pyproject.toml [tool.hitlkit] at PATH`."""
        table = " [tool.hitlkit]" if self.path.name == "pyproject.toml" else ""
        return f"{self.path.name}{table} at {self.path}"


_parsed: dict[tuple[str, int, int, int, int], dict[str, Any] | None] = {}


def find_config_file(start: Path | None = None) -> ConfigFile | None:
    """The first configuration file from `start` (default: the current folder) up, read."""
    for folder in folders_up(start):
        for name in ("hitl.toml", "pyproject.toml"):
            path = os.path.join(folder, name)  # plain strings: this runs on every setting read
            found = _table(path)
            if found is not None:
                table, real = found
                return read_config_file(Path(path), table, Path(real).parent)
    return None


def _table(path: str) -> tuple[dict[str, Any], str] | None:
    """hitlkit's table in `path` (the whole of a `hitl.toml`) and the file read, else `None`.

    `None` when there is no file, when it has no table, or when another user could
    have put it there (skipped with a warning). A symbolic link is followed only
    when it is the user's or root's; the file read is then the one it leads to.
    """
    try:
        found = os.lstat(path)
    except OSError:
        return None
    linked = stat.S_ISLNK(found.st_mode)
    if linked and not trusted_owner(found.st_uid):
        skip_file(Path(path), f"is a symbolic link owned by another user (uid {found.st_uid})")
        return None
    real = os.path.realpath(path) if linked else path
    try:
        descriptor = os.open(real, _OPEN)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return None  # gone, a link to nothing, or replaced by a link since
        if not trusted_owner(found.st_uid):
            return None
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    try:
        table = _checked(path, real if linked else None, descriptor)
    finally:
        os.close(descriptor)
    return None if table is None else (table, real)


def _checked(path: str, target: str | None, descriptor: int) -> dict[str, Any] | None:
    """The table in the open file, once its owner, kind and size allow reading it.

    Parsed once per version of the file (its device, inode, size and change time,
    from the descriptor), so a file edited between two reads is read again.
    """
    info = os.fstat(descriptor)
    trusted = trusted_owner(info.st_uid)
    if target is not None and not trusted:
        skip_file(
            Path(path), f"is a symbolic link to {target}, owned by another user (uid {info.st_uid})"
        )
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size > LIMIT:
        why = _too_big(info.st_size) if stat.S_ISREG(info.st_mode) else _not_a_file(info.st_mode)
        if trusted:
            raise ConfigurationError(f"{path} {why}")
        skip_file(Path(path), why)
        return None
    key = (path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    if key not in _parsed:
        if len(_parsed) > 256:  # files edited many times over in one process
            _parsed.clear()
        try:
            _parsed[key] = _parse(Path(path), _read(path, descriptor))
        except ConfigurationError:
            if trusted:
                raise
            return None  # another user's broken file is theirs to mend
    table = _parsed[key]
    # Another user's file is told about only when it has settings for hitlkit.
    return table if table is None or trusted_file(Path(path), info.st_uid) else None


def _not_a_file(mode: int) -> str:
    kinds = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}
    kinds |= {stat.S_IFDIR: "a folder", stat.S_IFSOCK: "a socket"}
    return f"is not a regular file ({kinds.get(stat.S_IFMT(mode), 'another kind')})"


def _too_big(size: int) -> str:
    return f"is larger than a configuration file may be ({size} bytes; at most {LIMIT}, 1 MiB)"


def _read(path: str, descriptor: int) -> bytes:
    """At most `LIMIT` bytes of the file; one that has grown past it since is refused."""
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := os.read(descriptor, LIMIT + 1 - size):
            chunks.append(chunk)
            size += len(chunk)
            if size > LIMIT:
                raise ConfigurationError(f"{path} {_too_big(size)}")
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    return b"".join(chunks)


def _parse(path: Path, data: bytes) -> dict[str, Any] | None:
    try:
        parsed: dict[str, Any] = tomllib.loads(data.decode())
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigurationError(
            f"{path} cannot be read: its arrays or tables are nested too deeply"
        ) from None
    except MemoryError:  # pragma: no cover - LIMIT keeps a file far below memory
        raise ConfigurationError(f"{path} cannot be read: not enough memory") from None
    if path.name == "hitl.toml":
        return parsed
    tool = parsed.get("tool")
    table = tool.get("hitlkit") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigurationError(f"[tool.hitlkit] in {path} must be a table of settings")
    return table


def read_config_file(path: Path, table: dict[str, Any], folder: Path | None = None) -> ConfigFile:
    """Check every key and value of `table`, read from `path`; values as strings.

    Relative paths are made absolute from `folder`: the folder of the file read,
    which for a symbolic link is its target's (default: `path`'s folder).
    """
    where = ConfigFile(path, {}).label
    values: dict[str, str] = {}
    for key, value in table.items():
        if key in SECRETS:
            raise ConfigurationError(
                f"{where}: {key} is a secret and is not read from a file that may be shared "
                f"or committed; set {SECRETS[key]} in the environment instead"
            )
        if key not in KEYS:
            raise ConfigurationError(_unknown(where, key))
        values[key] = _text(where, key, KEYS[key], value, folder or path.parent)
    return ConfigFile(path, values)


def _unknown(where: str, key: str) -> str:
    close = difflib.get_close_matches(key, KEYS, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{where}: unknown key {key!r}; {hint}known keys: {', '.join(sorted(KEYS))}"


def _text(where: str, key: str, kind: Kind, value: object, folder: Path) -> str:
    """`value` as the environment variable would spell it; wrong types are errors."""
    expected = {
        "text": "a string",
        "path": "a string (a path or URL)",
        "bool": "true or false",
        "seconds": "a number of seconds",
        "count": "a whole number",
        "list": "a list of strings (or one string)",
    }[kind]
    if kind == "bool" and isinstance(value, bool):
        return "1" if value else "0"
    if kind == "seconds" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if kind == "count" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if kind == "list" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if kind in ("text", "list") and isinstance(value, str):
        return value
    if kind == "path" and isinstance(value, str) and value.strip():
        return _path(value.strip(), folder)
    raise ConfigurationError(f"{where}: {key} must be {expected}, got {value!r} ({_kind(value)})")


def _kind(value: object) -> str:
    names = {"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean"}
    names |= {"list": "a list", "dict": "a table"}
    return names.get(type(value).__name__, type(value).__name__)


def _path(value: str, folder: Path) -> str:
    """A path relative to the file's folder made absolute; URLs kept as they are."""
    if value.lower().startswith(_URL_SCHEMES):
        return value
    return os.path.normpath(folder / Path(value).expanduser())
