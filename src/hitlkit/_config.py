"""Settings read from the environment or the configuration file, each with a default.

Every setting is read through `setting(name)`: the variable `HITL_<NAME>` when it
is set and not empty, else the key `<name>` of the configuration file (`[tool.hitlkit]`
in the nearest `pyproject.toml`, or a `hitl.toml`: see `_config_file`), else the
default below. The command line's flags come first of all. Secrets (`HITL_SECRET`,
`HITL_SECRET_PREVIOUS`, `HITL_TOKEN`, `HITL_NOTIFY`, `HITL_NOTIFY_TARGETS`,
`HITL_SLACK_BOT_TOKEN`, `HITL_SLACK_SIGNING_SECRET`) are read from the environment only.

The store is found as git finds its repository (`store_choice`): `HITL_STORE`, else
`store` in the file, else the nearest `.hitl` folder from the current one up
(`_discovery`), else a new `.hitl` in the current folder.

| variable          | default                  | meaning                                      |
|-------------------|--------------------------|----------------------------------------------|
| `HITL_STORE`      | nearest `.hitl` up, else `./.hitl` | store URL or folder              |
| `HITL_CEILING_DIRECTORIES` | none            | folders the store and file search stop below |
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
| `HITL_APPROVERS`  | none                     | who `hitl mcp`'s questions go to           |
| `HITL_MCP_NAME`   | `mcp`                    | `hitl mcp`'s runs are `<name>.<run>`         |
| `HITL_MCP_RUNS`   | none                     | other runs `hitl mcp`'s tools may see        |
| `HITL_NOTIFY_TARGETS` | none                 | `alias=URL` pairs `hitl mcp`'s `notify` names |
| `HITL_GRANTORS`   | none                     | who may make and revoke standing approvals   |
| `HITL_EVIDENCE_KEY` | none                   | Ed25519 private key file that signs evidence |
| `HITL_EMAIL_IDENTITIES` | none               | `address=identity` pairs for e-mail choice links |
| `HITL_SLACK_BOT_TOKEN` | none                | the Slack app's bot token (`xoxb-...`)       |
| `HITL_SLACK_API_URL` | `https://slack.com/api/` | the Slack Web API the app calls           |
| `HITL_SLACK_APP_TOKEN` | none                | an app-level token (`xapp-...`): Socket Mode |
| `HITL_CHAT_EVERY`  | `2`                     | seconds between looks for chat messages to update |
| `HITL_SLACK_SIGNING_SECRET` | none           | verifies Slack's requests to `/slack/interact` |
| `HITL_SLACK_USERS` | none                    | Slack user id = hitlkit identity pairs       |
| `HITL_SLACK_EMAIL_DOMAINS` | none            | domains whose Slack users answer by e-mail   |
"""

from __future__ import annotations

import getpass
import importlib.metadata
import importlib.util
import math
import os
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from hitlkit._config_file import ConfigFile, find_config_file
from hitlkit._discovery import STORE_FOLDER, find_store
from hitlkit._exceptions import ConfigurationError

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_STORE",
    "LOCAL_HOSTS",
    "LOOPBACK_HOSTS",
    "Setting",
    "StoreChoice",
    "autostart",
    "client_token",
    "count",
    "current_user",
    "default_endpoint",
    "default_run_id",
    "default_store_url",
    "evidence_key",
    "forwarded_allow_ips",
    "host_and_pid",
    "insecure",
    "max_record_bytes",
    "metrics_tokens_file",
    "notify_targets",
    "parse_duration",
    "parse_retention",
    "previous_secrets",
    "remind_before",
    "retention",
    "retention_archive",
    "seconds",
    "secret",
    "setting",
    "slack_api_url",
    "slack_bot_token",
    "slack_email_domains",
    "slack_signing_secret",
    "slack_users",
    "store_choice",
    "store_mode",
    "tokens_file",
]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
"""Loopback names: serving here needs no authentication, and an app here answers
only to these Host names by default (against DNS rebinding)."""
LOCAL_HOSTS = LOOPBACK_HOSTS | {"0.0.0.0"}
"""Hosts that mean "this machine": an app here may be started, and no proxy is used."""

DEFAULT_STORE = STORE_FOLDER
DEFAULT_ENDPOINT = "http://127.0.0.1:8080"

_process_run_id: str | None = None


@dataclass(frozen=True)
class Setting:
    """A setting's text (`None` when unset) and where it came from.

    `source` is `HITL_<NAME>`, the configuration file (`hitl.toml at PATH`), or
    `default`; `label` is how an error names it (`HITL_<NAME>`, or `<name> in FILE`).
    """

    value: str | None
    source: str
    label: str


def setting(name: str) -> Setting:
    """The one lookup: `HITL_<NAME>` if set and not empty, else `<name>` in the file."""
    variable = f"HITL_{name.upper()}"
    file = config_file()  # first: a file that cannot be used is an error, whatever is read
    text = os.environ.get(variable)
    if text:
        return Setting(text, variable, variable)
    if file is not None and name in file.values:
        return Setting(file.values[name], file.label, f"{name} in {file.label}")
    return Setting(None, "default", variable)


def config_file() -> ConfigFile | None:
    """The configuration file that applies in the current folder, if any (re-read when changed)."""
    return find_config_file()


@dataclass(frozen=True)
class StoreChoice:
    """The store to use and why: `HITL_STORE`, the file, a `.hitl` found up, or a new one here."""

    url: str
    why: str


def store_choice() -> StoreChoice:
    """`HITL_STORE`, else `store` in the file, else the nearest `.hitl` up, else `./.hitl`."""
    chosen = setting("store")
    if chosen.value:
        return StoreChoice(chosen.value, chosen.source)
    found = find_store()
    if not found.searched:
        return StoreChoice(DEFAULT_STORE, "the current folder is gone: a new store here")
    start = found.searched[0]
    if found.path is not None:
        return StoreChoice(str(found.path), f"found walking up from {start}")
    here = start / STORE_FOLDER
    if os.path.lexists(here):
        # Refused on the way up (another user's, a link, not a folder): never used by default.
        raise ConfigurationError(
            f"{here} is not a store this user may use (see the warning above); name the "
            "store to use with --store or HITL_STORE, or remove or rename that .hitl"
        )
    end = found.searched[-1]
    looked = f"in {start}" if start == end else f"in {start} .. {end}"
    return StoreChoice(DEFAULT_STORE, f"no {STORE_FOLDER} found {looked}: a new store here")


def default_store_url() -> str:
    """The store named by `store_choice()`: set, found walking up, or `.hitl` here."""
    return store_choice().url


def default_endpoint() -> str:
    """`HITL_ENDPOINT` without a trailing slash, else the local default."""
    given = setting("endpoint")
    endpoint = (given.value or DEFAULT_ENDPOINT).rstrip("/")
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"{given.label} must be an http:// or https:// URL, got {endpoint!r}"
        )
    return endpoint


def default_run_id() -> str:
    """`HITL_RUN_ID`, else an id made once for this process."""
    global _process_run_id
    from_env = setting("run_id").value
    if from_env:
        return from_env
    if _process_run_id is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        _process_run_id = f"local-{stamp}-{secrets.token_hex(3)}"
    return _process_run_id


def autostart() -> bool:
    """Whether `new_event` starts the web app when none answers (`HITL_AUTOSTART`)."""
    given = setting("autostart")
    value = (given.value or "1").strip().lower()
    if value in ("1", "true", "yes", "on", ""):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{given.label} must be 1 or 0, got {value!r}")


# The libraries of the web app, in the `server` extra; a process without them creates,
# waits for and answers events through the store alone.
FASTAPI_AT_LEAST = (0, 142)  # as the extra asks
WEB_APP_MODULES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "python_multipart",
    "prometheus_client",
)


def web_app_missing() -> str:
    """Why the web app cannot run here, or "" when its libraries are installed.

    ```python
    web_app_missing()   # 'the web app needs fastapi, ...: pip install "hitlkit[server]"'
    ```
    """
    try:
        fastapi = importlib.util.find_spec("fastapi") and importlib.metadata.version("fastapi")
    except importlib.metadata.PackageNotFoundError:  # a module with no package: unknown
        fastapi = None
    if fastapi and _release(fastapi) < FASTAPI_AT_LEAST:
        # Beside an engine that pins an older FastAPI (Airflow): the app runs elsewhere.
        least = ".".join(map(str, FASTAPI_AT_LEAST))
        return (
            f"the web app needs FastAPI {least} or newer, and this environment has {fastapi} "
            "(an engine here may pin it); serve it from an environment of its own with pip "
            'install "hitlkit[server]", over the same store'
        )
    missing = [name for name in WEB_APP_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        return f'the web app needs {", ".join(missing)}: pip install "hitlkit[server]"'
    return ""


def _release(version: str) -> tuple[int, ...]:
    """The leading numbers of a version: `_release("0.136.3") == (0, 136, 3)`."""
    numbers = re.findall(r"\d+", version.split("+")[0])[:3]
    return tuple(int(n) for n in numbers)


def current_user() -> str:
    """`HITL_USER`, else the login name of this process."""
    user = setting("user").value
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
    return setting("tokens_file").value or None


def client_token() -> str | None:
    """`HITL_TOKEN`: the API token a client sends to an app that requires one."""
    return os.environ.get("HITL_TOKEN") or None


def insecure() -> bool:
    """`HITL_INSECURE`: serve beyond loopback without authentication (behind a proxy)."""
    value = setting("insecure").value or ""
    return value.strip().lower() in ("1", "true", "yes", "on")


# Apprise URLs may hold commas and spaces in their queries (`?to=a@x.org,b@x.org`): a URL
# ends only where a separator is followed by the next `scheme://`, as Apprise splits them.
_URLS = re.compile(
    r"((?<![a-z0-9+.-])[a-z0-9][a-z0-9+.-]*?://.*?)"
    r"(?=$|[\s,;]{1,32}[a-z0-9][a-z0-9+.-]{0,31}?://)",
    re.I,
)
"""A URL starts at a scheme (letters, digits, `+`, `-`, `.`: `slack-app://`,
`teams-app+https://`) and runs to the next one."""


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
    given = setting("remind_before")
    text = (given.value or "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ConfigurationError(
            f"{given.label} must be a number of seconds (0 for no reminder), got {text!r}"
        )
    return seconds or None


def store_mode() -> str:
    """`HITL_STORE_MODE`: `private` (files 0600, folders 0700) or `group` (0660, 2770)."""
    given = setting("store_mode")
    value = (given.value or "").strip().lower() or "private"
    if value not in ("private", "group"):
        raise ConfigurationError(f"{given.label} must be private or group, got {value!r}")
    return value


DEFAULT_MAX_RECORD_BYTES = 1 << 20


def max_record_bytes() -> int:
    """`HITL_MAX_RECORD_BYTES`: the largest record a local store writes or reads (1 MiB)."""
    given = setting("max_record_bytes")
    text = (given.value or "").strip()
    if not text:
        return DEFAULT_MAX_RECORD_BYTES
    if not text.isdigit() or int(text) < 1024:
        raise ConfigurationError(
            f"{given.label} must be a number of bytes, at least 1024, got {text!r}"
        )
    return int(text)


def forwarded_allow_ips() -> list[str]:
    """`HITL_FORWARDED_ALLOW_IPS` (or uvicorn's `FORWARDED_ALLOW_IPS`): the proxies, by
    address or network, whose `X-Forwarded-For` and `X-Forwarded-Proto` the app believes."""
    text = (
        os.environ.get("HITL_FORWARDED_ALLOW_IPS")
        or os.environ.get("FORWARDED_ALLOW_IPS")
        or setting("forwarded_allow_ips").value
    )
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def seconds(name: str, default: float) -> float:
    """A positive number of seconds from the variable `name` (or its file key), else `default`."""
    given = setting(name.removeprefix("HITL_").lower())
    text = (given.value or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(
            f"{given.label} must be a positive number of seconds, got {text!r}"
        )
    return value


def count(name: str, default: int) -> int:
    """A positive whole number from the variable `name` (or its file key), else `default`."""
    given = setting(name.removeprefix("HITL_").lower())
    text = (given.value or "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError(f"{given.label} must be a positive whole number, got {text!r}")
    return int(text)


def metrics_tokens_file() -> str | None:
    """`HITL_METRICS_TOKEN_FILE`: a tokens file whose tokens may read `/metrics` and nothing
    else (`hitl token create NAME --metrics`)."""
    return setting("metrics_token_file").value or None


MAX_DURATION = timedelta(days=36500)
"""The longest duration `parse_duration` takes: 100 years (dates beyond overflow)."""
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
    try:
        duration = timedelta(**{_UNITS[match[2]]: int(match[1])})
    except OverflowError:
        duration = MAX_DURATION + MAX_DURATION
    if duration > MAX_DURATION:
        raise ValueError(f"{what} must be at most 100 years ({MAX_DURATION.days}d), got {text!r}")
    return duration


def parse_retention(text: str | None, *, what: str = "retention") -> timedelta | None:
    """A retention as `parse_duration` reads it; `None` (keep forever) when empty or `forever`."""
    text = (text or "").strip()
    if not text or text.lower() == "forever":
        return None
    return parse_duration(text, what=what)


def retention() -> timedelta | None:
    """`HITL_RETENTION`: how long the app keeps events after they are resolved (or past
    their deadline with no outcome), such as `30d`; unset (or `forever`) keeps them forever."""
    given = setting("retention")
    try:
        return parse_retention(given.value, what=given.label)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def retention_archive() -> str | None:
    """`HITL_ARCHIVE`: a folder or bucket URL prefix where pruned events are copied first."""
    return (setting("archive").value or "").strip() or None


def setting_list(name: str) -> tuple[str, ...]:
    """A list setting: comma-separated in `HITL_<NAME>`, a list (or one string) in the file."""
    text = setting(name).value or ""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def evidence_key() -> str | None:
    """`HITL_EVIDENCE_KEY`: the Ed25519 private key file (PEM) that signs exported evidence
    (`hitl evidence keygen` makes one); unset, evidence is exported unsigned."""
    return (setting("evidence_key").value or "").strip() or None


def mcp_notify_targets() -> str | None:
    """`HITL_NOTIFY_TARGETS`: `alias=URL` pairs the model may name in `hitl mcp`'s `notify`
    (environment only: the URLs carry credentials)."""
    return os.environ.get("HITL_NOTIFY_TARGETS") or None


# --- Chat: e-mail choice links -----------------------------------------------------------


def email_identities() -> dict[str, str]:
    """`HITL_EMAIL_IDENTITIES`: `address=identity` pairs (separated by spaces or commas) naming
    who an e-mail recipient answers as through its choice links; an address not listed
    answers as its local part, lower-cased. Addresses compare lower-cased."""
    given = setting("email_identities")
    pairs: dict[str, str] = {}
    for part in re.split(r"[\s,]+", (given.value or "").strip()):
        if not part:
            continue
        address, sep, identity = part.partition("=")
        if not (sep and "@" in address and identity.strip()):
            raise ConfigurationError(
                f"{given.label} must hold address=identity pairs such as "
                f"'ana@example.org=ana', got {part!r}"
            )
        pairs[address.strip().lower()] = identity.strip()
    return pairs


# Slack: the app that posts questions and takes answers in Slack (`hitlkit._chat._slack`);
# its tokens and signing secret are read from the environment only.

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


def slack_bot_token() -> str | None:
    """`HITL_SLACK_BOT_TOKEN`: the Slack app's bot token, which posts and updates messages
    (environment only: never logged or stored)."""
    return os.environ.get("HITL_SLACK_BOT_TOKEN", "").strip() or None


def slack_signing_secret() -> str | None:
    """`HITL_SLACK_SIGNING_SECRET`: the Slack app's signing secret, which `/slack/interact`
    verifies every request with (environment only)."""
    return os.environ.get("HITL_SLACK_SIGNING_SECRET", "").strip() or None


def slack_api_url() -> str:
    """`HITL_SLACK_API_URL`: Slack's Web API, ending with a slash (Slack's own by default)."""
    given = setting("slack_api_url")
    url = (given.value or DEFAULT_SLACK_API_URL).strip()
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"{given.label} must be an http:// or https:// URL, got {url!r}")
    return url if url.endswith("/") else url + "/"


def slack_users() -> dict[str, str]:
    """`HITL_SLACK_USERS`: Slack user ids and the hitlkit identities they answer as,
    `U012AB=ana U034CD=bo` (separated by spaces or commas)."""
    given = setting("slack_users")
    users: dict[str, str] = {}
    for pair in re.split(r"[\s,]+", (given.value or "").strip()):
        if not pair:
            continue
        user, sep, identity = pair.partition("=")
        if not (sep and user.strip() and identity.strip()):
            raise ConfigurationError(
                f"{given.label} must hold SLACK_USER_ID=identity pairs separated by spaces "
                f"or commas, such as U012AB=ana U034CD=bo; got {pair!r}"
            )
        users[user.strip()] = identity.strip()
    return users


def slack_email_domains() -> frozenset[str]:
    """`HITL_SLACK_EMAIL_DOMAINS`: the e-mail domains (comma-separated) whose Slack users
    answer as their address's local part when `HITL_SLACK_USERS` does not name them;
    unset, any domain of a full member of the workspace."""
    return frozenset(domain.lower().lstrip("@") for domain in setting_list("slack_email_domains"))


def slack_app_token() -> str | None:
    """`HITL_SLACK_APP_TOKEN`: an app-level token (`xapp-...`); with it, the app takes
    Slack's interactions through Socket Mode rather than at `/slack/interact`."""
    text = os.environ.get("HITL_SLACK_APP_TOKEN", "").strip()
    if text and not text.startswith("xapp-"):
        raise ConfigurationError(
            "HITL_SLACK_APP_TOKEN must be an app-level token starting with xapp- "
            "(Basic Information > App-Level Tokens, scope connections:write)"
        )
    return text or None
