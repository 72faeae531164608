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
"""

from __future__ import annotations

import getpass
import math
import os
import re
import secrets
import socket
from datetime import datetime, timezone

from hitlkit._exceptions import ConfigurationError

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_STORE",
    "LOCAL_HOSTS",
    "LOOPBACK_HOSTS",
    "autostart",
    "client_token",
    "current_user",
    "default_endpoint",
    "default_run_id",
    "default_store_url",
    "host_and_pid",
    "insecure",
    "notify_targets",
    "previous_secrets",
    "remind_before",
    "secret",
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
