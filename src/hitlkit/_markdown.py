"""Prompts as HTML: plain text escaped, or Markdown rendered and sanitized.

Markdown is rendered by markdown-it-py (CommonMark with tables and
strikethrough, raw HTML off) and the result is cleaned by nh3 with a short list
of allowed tags, so nothing a prompt contains can run in the page. Links get
`rel="noopener noreferrer nofollow"`.
"""

from __future__ import annotations

from typing import Literal

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

__all__ = ["render_prompt"]

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

_TAGS = {
    "a", "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
_URL_SCHEMES = {"http", "https", "mailto"}


def render_prompt(text: str, prompt_type: Literal["text", "markdown"] | str = "text") -> Markup:
    """`text` as safe HTML: escaped for "text", rendered and sanitized for "markdown".

    ```python
    render_prompt("**Deploy** `v2`?", "markdown")  # Markup('<p><strong>Deploy</strong> ...')
    ```
    """
    if prompt_type != "markdown":
        return escape(text)
    html = _md.render(text)
    cleaned = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(cleaned)  # noqa: S704 - cleaned by nh3 just above
