"""Prompts as HTML: plain text escaped, or Markdown rendered and sanitized; and a
Markdown prompt's summary in plain text, for a list of events.

Markdown is rendered by markdown-it-py (CommonMark with tables and
strikethrough, raw HTML off) and the result is cleaned by nh3 with a short list
of allowed tags, so nothing a prompt contains can run in the page. Links get
`rel="noopener noreferrer nofollow"`.

A record is written by whoever can create events, and some texts (20,000 `[`) take
markdown-it a fifth of a second, more as they grow. So the work is bounded and done
once: a prompt is rendered once (cached by its text), a Markdown prompt longer than
hitlkit lets a program write (`MAX_PROMPT_LENGTH`) is shown as plain text, and a
summary reads the prompt's first `SUMMARY_HEAD` characters only (the first paragraph
is all it keeps), cached by that head.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Literal

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape

from hitlkit._options import MAX_PROMPT_LENGTH

__all__ = ["SUMMARY_HEAD", "prompt_summary", "render_prompt"]

SUMMARY_HEAD = 1024
"""How much of a prompt its summary reads: a first paragraph (a page shows 160
characters of it), a heading and the paragraph after it, a list's first items."""

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
    if prompt_type != "markdown" or len(text) > MAX_PROMPT_LENGTH:
        return escape(text)
    return _rendered(text)


@functools.lru_cache(maxsize=64)
def _rendered(text: str) -> Markup:
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

    Only the first `SUMMARY_HEAD` characters are read, cut at a line's end.

    ```python
    prompt_summary("Deploy **now**?\n\n- canary\n- all")  # "Deploy now?"
    ```
    """
    return _summary(summary_head(text))


def summary_head(text: str) -> str:
    """The start of `text` a summary reads: its first `SUMMARY_HEAD` characters, cut
    after the last line break among them (if any), so no line is read half."""
    if len(text) <= SUMMARY_HEAD:
        return text
    head = text[:SUMMARY_HEAD]
    cut = head.rfind("\n")
    return head[: cut + 1] if cut > 0 else head


@functools.lru_cache(maxsize=1024)
def _summary(text: str) -> str:
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
