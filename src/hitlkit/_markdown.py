"""Prompts as HTML: plain text escaped, or Markdown rendered and sanitized; and a
Markdown prompt's summary in plain text, for a list of events.

Markdown is rendered by markdown-it-py (CommonMark with tables and
strikethrough, raw HTML off) and the result is cleaned by nh3 with a short list
of allowed tags, so nothing a prompt contains can run in the page. Links get
`rel="noopener noreferrer nofollow"`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape

__all__ = ["prompt_summary", "render_prompt"]

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


def prompt_summary(text: str) -> str:
    """A Markdown prompt's first paragraph as plain text, without its markup.

    The question usually comes first and the details after, so the rest is left out
    rather than run together. A prompt that starts with a heading keeps the paragraph
    after it ("Rollout: Deploy now?"); one that starts with a list keeps its items,
    apart ("a; b").

    ```python
    prompt_summary("Deploy **now**?\n\n- canary\n- all")  # "Deploy now?"
    ```
    """
    blocks = _blocks(_md.parse(text))
    if not blocks:
        return ""
    kind, first = blocks[0]
    if kind == "heading" and len(blocks) > 1:
        return f"{first}: {blocks[1][1]}"
    return first


def _blocks(tokens: Sequence[Token]) -> list[tuple[str, str]]:
    """The document's top-level blocks with text: ("paragraph" | "heading" | "list", text).

    A list is one block: the first paragraph of each of its items, joined with "; ". A
    quote's paragraphs count as paragraphs; tables and rules are details, left out.
    """
    blocks: list[tuple[str, str]] = []
    items: list[str] = []
    item_started = False
    for before, token in zip([None, *tokens], tokens, strict=False):
        if token.level == 0 and token.type in ("bullet_list_open", "ordered_list_open"):
            items = []
        elif token.level == 0 and token.type in ("bullet_list_close", "ordered_list_close"):
            blocks.append(("list", "; ".join(items)))
        elif token.level == 1 and token.type == "list_item_open":
            item_started = True
        elif token.type == "inline" and token.level == 3 and item_started:
            items.append(_plain(token))  # the item's first paragraph
            item_started = False
        elif token.type == "inline" and token.level in (1, 2):  # a paragraph, a heading
            heading = before is not None and before.type == "heading_open" and token.level == 1
            blocks.append(("heading" if heading else "paragraph", _plain(token)))
        elif token.type in ("fence", "code_block") and token.level == 0:
            blocks.append(("paragraph", token.content.strip()))
    return [(kind, text) for kind, text in blocks if text]


def _plain(inline: Token) -> str:
    """An inline token's text without its markup: code and image text kept, breaks as spaces."""
    parts = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline", "image"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())
