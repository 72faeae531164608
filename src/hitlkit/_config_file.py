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
"""

from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hitlkit._discovery import folders_up, trusted_file
from hitlkit._exceptions import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["KEYS", "SECRETS", "ConfigFile", "find_config_file", "read_config_file"]

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
}
"""The keys a configuration file may set, and the kind of value each takes."""

SECRETS = {
    "secret": "HITL_SECRET",
    "secret_previous": "HITL_SECRET_PREVIOUS",
    "token": "HITL_TOKEN",
    "metrics_token": "HITL_METRICS_TOKEN_FILE (a file of scrape token hashes)",
    "notify": "HITL_NOTIFY (its URLs carry credentials)",
}
"""Settings refused in a file, and where they go instead."""

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


_parsed: dict[tuple[str, int, int, int], dict[str, Any] | None] = {}


def find_config_file(start: Path | None = None) -> ConfigFile | None:
    """The first configuration file from `start` (default: the current folder) up, read."""
    for folder in folders_up(start):
        for name in ("hitl.toml", "pyproject.toml"):
            path = os.path.join(folder, name)  # plain strings: this runs on every setting read
            table = _table(path)
            if table is not None:
                return read_config_file(Path(path), table)
    return None


def _table(path: str) -> dict[str, Any] | None:
    """hitlkit's table in `path` (the whole of a `hitl.toml`), or `None` when it has none.

    Parsed once per version of the file (its inode, size and change time), so a
    file edited between two reads is read again.
    """
    try:
        info = os.stat(path)
    except OSError:
        return None
    key = (path, info.st_ino, info.st_size, info.st_mtime_ns)
    if key not in _parsed:
        if len(_parsed) > 256:  # files edited many times over in one process
            _parsed.clear()
        try:
            _parsed[key] = _parse(Path(path))
        except ConfigurationError:
            if trusted_file(Path(path), info.st_uid):
                raise
            return None  # another user's broken file is theirs to mend
    table = _parsed[key]
    # Another user's file is told about only when it has settings for hitlkit.
    return table if table is None or trusted_file(Path(path), info.st_uid) else None


def _parse(path: Path) -> dict[str, Any] | None:
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from None
    if path.name == "hitl.toml":
        return data
    table = data.get("tool", {}).get("hitlkit") if isinstance(data.get("tool"), dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigurationError(f"[tool.hitlkit] in {path} must be a table of settings")
    return table


def read_config_file(path: Path, table: dict[str, Any]) -> ConfigFile:
    """Check every key and value of `table`, read from `path`; values as strings."""
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
        values[key] = _text(where, key, KEYS[key], value, path.parent)
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
