"""Filling in the app's answer form as a browser does: load the page, keep its cookie and fields."""

from __future__ import annotations

import html
import re

import httpx

_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


def form_fields(client: httpx.Client, url: str) -> dict[str, str]:
    """The hidden fields of the form at `url` (request id, form token, link); `client` keeps
    the form-token cookie the page sets."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}
    assert "csrf" in fields, "the page has no answer form"
    return fields


def followed(client: httpx.Client, posted: httpx.Response) -> httpx.Response:
    """The page a form's post leads to: posts that did something answer 303 See Other to the
    event's page (post/redirect/get), which `client` then loads as a browser does."""
    assert posted.status_code == 303, f"{posted.status_code}: {posted.text}"
    location = posted.headers["location"]
    assert re.fullmatch(r"(https?://[^/]+)?(/[\w.-]+)*/form/\w{24}(\?done)?", location), location
    return client.get(posted.url.join(location))
