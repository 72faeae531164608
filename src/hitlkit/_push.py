"""Answers pushed by the web app, for waiters on stores that cannot notify.

The app streams a run's answers as server-sent events while a client listens:

```
GET {endpoint}/api/changes?prefix=outcomes/<run8>/&since=<epoch seconds>
Authorization: Bearer $HITL_TOKEN

event: outcome
id: <when it was recorded>
data: <request_id>
```

with a comment line now and then to keep the connection open. The watcher
reads one such stream per run prefix, next to its polling: an event only wakes
waiters early, so when the app is down nothing is lost, and polling alone
carries on while the reader reconnects. Each connection asks for the answers
recorded since a little before the last moment the previous one was heard
from (or this one began), so none recorded in between is missed.

An app with a tokens file takes `HITL_TOKEN`; refused (401 or 403), the reader
stops and says once per app why its waiters now only poll.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import httpx

from hitlkit import _config
from hitlkit._config import LOCAL_HOSTS
from hitlkit._records import is_event_id, outcome_key, outcome_prefix
from hitlkit._runtime import Runtime, runtime

__all__ = ["follow_app"]

log = logging.getLogger("hitlkit")

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
SINCE_MARGIN_SECONDS = 5.0
"""How much earlier than the stream was last heard from a new connection starts: covers
an answer written as the connection broke, and clocks a little apart."""
# Three missed keep-alives: the connection is gone even if no error says so.
_TIMEOUT = httpx.Timeout(10.0, read=45.0)


class _Refusals:
    """What apps refused, kept by the runtime: not asked again, and said once."""

    def __init__(self, owner: Runtime) -> None:
        self.refused: set[tuple[str, str | None]] = set()
        """(endpoint, token) pairs an app refused."""
        self.told: set[str] = set()
        """Endpoints whose refusal has been logged."""


async def follow_app(endpoint: str, prefix: str, on_keys: Callable[[set[str]], None]) -> None:
    """Call `on_keys({outcome_key})` for each answer the app at `endpoint` reports under `prefix`.

    Runs until cancelled, or until the app refuses the credential (`HITL_TOKEN`, if
    set). After any other failure it waits 1, 2, 4 … up to 30 seconds and connects again.
    """
    token = _config.client_token()
    if (endpoint, token) in runtime().get(_Refusals).refused:
        return
    delay = FIRST_RETRY_SECONDS
    heard = _Heard()
    # A proxy from the environment must not stand in for a local address.
    local = urlsplit(endpoint).hostname in LOCAL_HOSTS
    url = f"{endpoint}/api/changes"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=_TIMEOUT, trust_env=not local, headers=headers) as client:
        while True:
            params = {"prefix": prefix, "since": heard.cursor()}
            try:
                async with client.stream("GET", url, params=params) as response:
                    if response.status_code in (401, 403):
                        await _refused_by(endpoint, token, response)
                        return
                    if _is_event_stream(response):
                        delay = FIRST_RETRY_SECONDS
                        async for request_id in _outcome_ids(heard.lines(response)):
                            if is_event_id(request_id) and outcome_prefix(request_id) == prefix:
                                on_keys({outcome_key(request_id)})
            except Exception as exc:  # whatever went wrong, polling carries on meanwhile
                log.debug("no answers pushed from %s (%s); retrying", endpoint, exc)
            await asyncio.sleep(delay)
            delay = min(2 * delay, MAX_RETRY_SECONDS)


class _Heard:
    """When the stream was last heard from (at first: when following began)."""

    def __init__(self) -> None:
        self.at = time.time()

    def cursor(self) -> str:
        """`since` for the next connection, in seconds since the epoch."""
        return f"{self.at - SINCE_MARGIN_SECONDS:.3f}"

    async def lines(self, response: httpx.Response) -> AsyncIterator[str]:
        async for line in response.aiter_lines():
            self.at = time.time()
            yield line


async def _refused_by(endpoint: str, token: str | None, response: httpx.Response) -> None:
    """Stop asking `endpoint` with `token`, and say why once per endpoint."""
    refusals = runtime().get(_Refusals)
    refusals.refused.add((endpoint, token))
    if endpoint in refusals.told:
        return
    refusals.told.add(endpoint)
    await response.aread()
    try:
        reason = str(response.json().get("message", ""))
    except ValueError:
        reason = ""
    fix = (
        "HITL_TOKEN was not accepted: set it to a valid API token of that app"
        if token
        else "set HITL_TOKEN to an API token of that app (`hitl token create NAME`)"
    )
    log.warning(
        "hitlkit: the app at %s refused to push answers (%s%s); waiters of this process "
        "learn answers by polling the store every poll_interval_seconds instead. "
        "To be woken at once, %s",
        endpoint,
        response.status_code,
        f": {reason}" if reason else "",
        fix,
    )


def _is_event_stream(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "")
    return response.status_code == 200 and content_type.startswith("text/event-stream")


async def _outcome_ids(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The data of each `outcome` event in a server-sent event stream."""
    event = ""
    data: list[str] = []
    async for line in lines:
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())
        elif not line:
            if event == "outcome" and data:
                yield "\n".join(data)
            event, data = "", []
