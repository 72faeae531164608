"""Settings read from the environment, each with a built-in default.

| variable          | default                  | meaning                                      |
|-------------------|--------------------------|----------------------------------------------|
| `HITL_STORE`      | `.hitl`                  | store URL or folder                          |
| `HITL_ENDPOINT`   | `http://127.0.0.1:8080`  | where the web app answers                    |
| `HITL_RUN_ID`     | one per process          | run id that scopes event names               |
| `HITL_AUTOSTART`  | `1`                      | start the web app on first `new_event`       |
| `HITL_USER`       | the login name           | who answers from this machine (CLI, Python)  |
| `HITL_SECRET`     | none                     | signs answer links and form tokens           |
| `HITL_TOKENS_FILE`| none                     | API tokens (hashes) the app accepts          |
| `HITL_TOKEN`      | none                     | the API token clients send                   |
| `HITL_INSECURE`   | `0`                      | serve beyond loopback without authentication |
| `HITL_NOTIFY`     | none                     | Apprise URLs told when an event opens        |
| `HITL_REMIND_BEFORE` | none                  | seconds before the deadline to remind them   |
| `HITL_STORE_MODE` | `private`                | `group`: a local store's group may use it    |
| `HITL_MAX_RECORD_BYTES` | `1048576`          | the largest record a local store reads       |
| `HITL_FORWARDED_ALLOW_IPS` | none            | proxies whose X-Forwarded-* the app believes |
| `HITL_HEADERS_TIMEOUT` | `10`                | seconds for a request's head to arrive       |
| `HITL_BODY_TIMEOUT` | `30`                   | seconds for a request's body to arrive       |
| `HITL_IDLE_TIMEOUT` | `5`                    | seconds an idle connection stays open        |
| `HITL_MAX_CONCURRENCY` | `1000`              | connections at once; beyond it, 503          |
| `HITL_METRICS_TOKEN_FILE` | none             | scrape tokens (hashes) `/metrics` accepts    |
| `HITL_METRICS_PORT` | none                   | `hitl serve`: also serve `/metrics` on 127.0.0.1 |
| `HITL_RETENTION`  | none (keep forever)      | the app prunes events resolved this long ago |
| `HITL_ARCHIVE`    | none                     | folder or bucket URL pruned events go to first |
"""

from __future__ import annotations

import getpass
import math
import os
import re
import secrets
import socket
from datetime import datetime, timedelta, timezone

from hitlkit._exceptions import ConfigurationError

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_STORE",
    "LOCAL_HOSTS",
    "LOOPBACK_HOSTS",
    "autostart",
    "client_token",
    "count",
    "current_user",
    "default_endpoint",
    "default_run_id",
    "default_store_url",
    "forwarded_allow_ips",
    "host_and_pid",
    "insecure",
    "max_record_bytes",
    "metrics_tokens_file",
    "notify_targets",
    "parse_duration",
    "previous_secrets",
    "remind_before",
    "retention",
    "retention_archive",
    "seconds",
    "secret",
    "store_mode",
    "tokens_file",
]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
"""Loopback names: serving here needs no authentication, and an app here answers
only to these Host names by default (against DNS rebinding)."""
LOCAL_HOSTS = LOOPBACK_HOSTS | {"0.0.0.0"}
"""Hosts that mean "this machine": an app here may be started, and no proxy is used."""

DEFAULT_STORE = ".hitl"
DEFAULT_ENDPOINT = "http://127.0.0.1:8080"

_process_run_id: str | None = None


def default_store_url() -> str:
    """`HITL_STORE`, else `.hitl` in the working directory."""
    return os.environ.get("HITL_STORE") or DEFAULT_STORE


def default_endpoint() -> str:
    """`HITL_ENDPOINT` without a trailing slash, else the local default."""
    endpoint = (os.environ.get("HITL_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"HITL_ENDPOINT must be an http:// or https:// URL, got {endpoint!r}"
        )
    return endpoint


def default_run_id() -> str:
    """`HITL_RUN_ID`, else an id made once for this process."""
    global _process_run_id
    from_env = os.environ.get("HITL_RUN_ID")
    if from_env:
        return from_env
    if _process_run_id is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        _process_run_id = f"local-{stamp}-{secrets.token_hex(3)}"
    return _process_run_id


def autostart() -> bool:
    """Whether `new_event` starts the web app when none answers (`HITL_AUTOSTART`)."""
    value = os.environ.get("HITL_AUTOSTART", "1").strip().lower()
    if value in ("1", "true", "yes", "on", ""):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"HITL_AUTOSTART must be 1 or 0, got {value!r}")


def current_user() -> str:
    """`HITL_USER`, else the login name of this process."""
    user = os.environ.get("HITL_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def host_and_pid() -> str:
    """`host:pid` of this process, recorded with the events it creates."""
    return f"{socket.gethostname()}:{os.getpid()}"


def secret() -> str | None:
    """`HITL_SECRET`: signs answer links and form tokens; every replica needs the same one."""
    return os.environ.get("HITL_SECRET") or None


def previous_secrets() -> tuple[str, ...]:
    """`HITL_SECRET_PREVIOUS`: former secrets (comma-separated) that still verify what they signed.

    Rotate by moving the secret here and setting a new `HITL_SECRET`: links, sign-ins
    and open forms made under the old one keep working until they expire.
    """
    text = os.environ.get("HITL_SECRET_PREVIOUS", "")
    return tuple(part.strip() for part in text.split(",") if part.strip())


def tokens_file() -> str | None:
    """`HITL_TOKENS_FILE`: the file of API token hashes the app accepts."""
    return os.environ.get("HITL_TOKENS_FILE") or None


def client_token() -> str | None:
    """`HITL_TOKEN`: the API token a client sends to an app that requires one."""
    return os.environ.get("HITL_TOKEN") or None


def insecure() -> bool:
    """`HITL_INSECURE`: serve beyond loopback without authentication (behind a proxy)."""
    return os.environ.get("HITL_INSECURE", "").strip().lower() in ("1", "true", "yes", "on")


# Apprise URLs may hold commas and spaces in their queries (`?to=a@x.org,b@x.org`): a URL
# ends only where a separator is followed by the next `scheme://`, as Apprise splits them.
_URLS = re.compile(r"((?<![a-z0-9])[a-z0-9]+?://.*?)(?=$|[\s,;]{1,32}[a-z0-9]{1,32}?://)", re.I)


def notify_targets() -> tuple[str, ...]:
    """`HITL_NOTIFY`: Apprise URLs (separated by whitespace or commas) told when an event opens."""
    text = os.environ.get("HITL_NOTIFY", "").strip()
    if not text:
        return ()
    urls = tuple(url.strip(" \t\r\n,;") for url in _URLS.findall(text))
    if not urls:
        raise ConfigurationError(
            "HITL_NOTIFY must hold Apprise URLs such as json://host/path or "
            "mailto://user:password@example.com, separated by spaces or commas"
        )
    return urls


def remind_before() -> float | None:
    """`HITL_REMIND_BEFORE`: seconds before the deadline to send a reminder; unset or 0: none."""
    text = os.environ.get("HITL_REMIND_BEFORE", "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ConfigurationError(
            f"HITL_REMIND_BEFORE must be a number of seconds (0 for no reminder), got {text!r}"
        )
    return seconds or None


def store_mode() -> str:
    """`HITL_STORE_MODE`: `private` (files 0600, folders 0700) or `group` (0660, 2770)."""
    value = os.environ.get("HITL_STORE_MODE", "").strip().lower() or "private"
    if value not in ("private", "group"):
        raise ConfigurationError(f"HITL_STORE_MODE must be private or group, got {value!r}")
    return value


DEFAULT_MAX_RECORD_BYTES = 1 << 20


def max_record_bytes() -> int:
    """`HITL_MAX_RECORD_BYTES`: the largest record a local store writes or reads (1 MiB)."""
    text = os.environ.get("HITL_MAX_RECORD_BYTES", "").strip()
    if not text:
        return DEFAULT_MAX_RECORD_BYTES
    if not text.isdigit() or int(text) < 1024:
        raise ConfigurationError(
            f"HITL_MAX_RECORD_BYTES must be a number of bytes, at least 1024, got {text!r}"
        )
    return int(text)


def forwarded_allow_ips() -> list[str]:
    """`HITL_FORWARDED_ALLOW_IPS` (or uvicorn's `FORWARDED_ALLOW_IPS`): the proxies, by
    address or network, whose `X-Forwarded-For` and `X-Forwarded-Proto` the app believes."""
    text = os.environ.get("HITL_FORWARDED_ALLOW_IPS") or os.environ.get("FORWARDED_ALLOW_IPS")
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def seconds(name: str, default: float) -> float:
    """A positive number of seconds from the variable `name`, else `default`."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {text!r}")
    return value


def count(name: str, default: int) -> int:
    """A positive whole number from the variable `name`, else `default`."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError(f"{name} must be a positive whole number, got {text!r}")
    return int(text)


def metrics_tokens_file() -> str | None:
    """`HITL_METRICS_TOKEN_FILE`: a tokens file whose tokens may read `/metrics` and nothing
    else (`hitl token create NAME --metrics`)."""
    return os.environ.get("HITL_METRICS_TOKEN_FILE") or None


_DURATION = re.compile(r"([0-9]+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str, *, what: str = "a duration") -> timedelta:
    """`30d`, `12h`, `90m`, `2w` (or `45s`) as a positive `timedelta`, else `ValueError`.

    ```python
    parse_duration("30d")   # timedelta(days=30)
    ```
    """
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or int(match[1]) == 0:
        raise ValueError(
            f"{what} must be a positive whole number with a unit: Nw (weeks), Nd (days), "
            f"Nh (hours), Nm (minutes) or Ns (seconds), such as 30d or 12h; got {text!r}"
        )
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def retention() -> timedelta | None:
    """`HITL_RETENTION`: how long the app keeps events after they are resolved (or past
    their deadline with no outcome), such as `30d`; unset keeps them forever."""
    text = os.environ.get("HITL_RETENTION", "").strip()
    if not text:
        return None
    try:
        return parse_duration(text, what="HITL_RETENTION")
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def retention_archive() -> str | None:
    """`HITL_ARCHIVE`: a folder or bucket URL prefix where pruned events are copied first."""
    return os.environ.get("HITL_ARCHIVE", "").strip() or None
