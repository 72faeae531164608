"""Reading a page's posted form, and the error page for a post that cannot be read.

Forms are URL-encoded only (multipart parsing may spool parts to temporary files), in
UTF-8 (the pages are), with at most `MAX_FORM_FIELDS` fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse

from hitlkit._server._templates import render

__all__ = ["BadForm", "error_page", "first_field", "form_fields"]

MAX_FORM_FIELDS = 500
_URLENCODED = "application/x-www-form-urlencoded"


class BadForm(Exception):
    """A post that is not a form hitlkit reads: its status, a title and what was wrong."""

    def __init__(self, status_code: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.title = title


async def form_fields(request: Request) -> dict[str, list[str]]:
    """The posted fields, each name with its values in order; `BadForm` if unreadable."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != _URLENCODED:
        raise BadForm(415, "Unsupported form", f"The form must be sent as {_URLENCODED}.")
    body = await request.body()
    try:
        pairs = parse_qsl(
            body.decode(), keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError:  # also UnicodeDecodeError: the page is UTF-8, so the form is too
        raise BadForm(400, "Unreadable form", "The form could not be read.") from None
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return fields


def first_field(fields: Mapping[str, Sequence[str]], key: str) -> str:
    """The first value posted for `key`, or "" if none was."""
    values = fields.get(key)
    return values[0] if values else ""


def error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", status_code=status_code, title=title, message=message)
