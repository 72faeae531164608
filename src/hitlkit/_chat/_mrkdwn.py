"""A prompt as Slack mrkdwn: Markdown rendered to Slack's format, everything else escaped.

Slack reads `&`, `<` and `>` as markup (`<!channel>`, `<@U012AB>`, `<url|text>`), so
every character of a prompt's text is escaped (`&amp;`, `&lt;`, `&gt;`): no prompt can
mention a channel, link a user or inject a link. Markdown (`prompt_type="markdown"`)
keeps its meaning in Slack's terms: bold `*x*`, italic `_x_`, strikethrough `~x~`,
code, code blocks, `<url|text>` links (http and https only), lists as `• ` lines.
Slack has no escape for its formatting characters, so a literal `*`, `~` or `` ` ``
(and a `_` at a word's edge) gets a zero-width space on each side, which keeps it from
pairing with another into markup.

The result fits a section block (`MAX_SECTION` characters): a longer prompt is cut
between blocks, the last one as plain text, never inside an entity or a link.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from hitlkit._options import MAX_PROMPT_LENGTH

__all__ = ["MAX_SECTION", "date_token", "escape", "literal", "prompt_mrkdwn"]

MAX_SECTION = 3000
"""Slack's limit on a section block's text."""
_MORE = "…"
_ZWSP = "\u200b"

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)
_FORMATTING = re.compile(r"[*~`]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def date_token(moment: datetime, *, joined: str = " ") -> str:
    """`moment` as Slack's date token, its date and time `joined`: shown in each reader's
    time zone, with UTC text as the fallback."""
    utc = moment.astimezone(timezone.utc)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{math.floor(utc.timestamp())}^{{date_short_pretty}}{joined}{{time}}|{fallback}>"


def escape(text: str) -> str:
    """`text` with Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def literal(text: str) -> str:
    """Text shown as is: escaped, and its formatting characters kept from pairing."""
    return _FORMATTING.sub(lambda m: f"{_ZWSP}{m.group()}{_ZWSP}", escape(text))


def prompt_mrkdwn(text: str, prompt_type: str = "text", *, limit: int = MAX_SECTION) -> str:
    """The prompt `text` as Slack mrkdwn of at most `limit` characters."""
    if prompt_type != "markdown" or len(text) > MAX_PROMPT_LENGTH:
        return _fit([(literal(text), text)], limit)
    root = SyntaxTreeNode(_md.parse(text))
    blocks = [(_block(node, ""), _plain(node)) for node in root.children]
    return _fit([(shown, plain) for shown, plain in blocks if shown], limit)


def _fit(blocks: list[tuple[str, str]], limit: int) -> str:
    """The blocks joined by blank lines; when they do not fit, as many as fit and the
    start of the next one as plain text, then `…`."""
    out = ""
    for shown, plain in blocks:
        joined = f"{out}\n\n{shown}" if out else shown
        if len(joined) <= limit:
            out = joined
            continue
        head = f"{out}\n\n" if out else ""
        room = limit - len(head) - len(_MORE)
        return head + _cut(plain, room) + _MORE
    return out


def _cut(plain: str, room: int) -> str:
    """The longest start of `plain` whose literal form fits in `room` characters."""
    if room <= 0:
        return ""
    end = min(len(plain), room)
    while end > 0 and len(literal(plain[:end])) > room:
        end -= max(1, (len(literal(plain[:end])) - room) // 6)
    return literal(plain[: max(end, 0)])


def _plain(node: SyntaxTreeNode) -> str:
    """A node's text without markup."""
    if node.type in ("text", "code_inline", "code_block", "fence"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return "\n"
    inline = node.type == "inline" or not node.block
    return ("" if inline else "\n").join(_plain(child) for child in node.children)


def _block(node: SyntaxTreeNode, indent: str) -> str:
    """A block node as mrkdwn lines, each starting with `indent`."""
    kind = node.type
    if kind == "paragraph":
        return indent + _inline_of(node).replace("\n", "\n" + indent)
    if kind == "heading":
        return f"{indent}*{_inline_of(node, plain=True)}*"
    if kind in ("fence", "code_block"):
        body = escape(node.content.rstrip("\n"))
        return f"{indent}```\n{body}\n```"
    if kind == "blockquote":
        inner = "\n".join(_block(child, "") for child in node.children)
        return "\n".join(f"{indent}> {line}" for line in inner.split("\n"))
    if kind == "hr":
        return f"{indent}———"
    if kind in ("bullet_list", "ordered_list"):
        return _list(node, indent)
    if kind == "table":
        rows = [child for part in node.children for child in part.children]
        return "\n".join(
            indent + " | ".join(_inline_of(cell) for cell in row.children) for row in rows
        )
    return indent + literal(_plain(node))


def _list(node: SyntaxTreeNode, indent: str) -> str:
    start = int(str(node.attrs.get("start", 1))) if node.type == "ordered_list" else 1
    lines = []
    for number, item in enumerate(node.children, start):
        mark = f"{number}. " if node.type == "ordered_list" else "• "
        parts = [_block(child, indent + "    ") for child in item.children]
        first = parts[0].removeprefix(indent + "    ") if parts else ""
        lines.append("\n".join([f"{indent}{mark}{first}", *parts[1:]]))
    return "\n".join(lines)


def _inline_of(node: SyntaxTreeNode, *, plain: bool = False) -> str:
    """The inline content of a paragraph, heading or table cell."""
    return "".join(_inline(leaf, plain) for inline in node.children for leaf in inline.children)


def _inline(node: SyntaxTreeNode, plain: bool) -> str:
    kind = node.type
    if kind == "text":
        return literal(node.content)
    if kind in ("softbreak", "hardbreak"):
        return "\n"
    if kind == "code_inline":
        code = escape(node.content.replace("`", "'"))
        return f"`{code}`"
    if kind == "image":
        return literal(_plain(node))
    inner = "".join(_inline(child, plain) for child in node.children)
    if plain or not inner.strip():
        return inner
    if kind == "strong":
        return f"*{inner}*"
    if kind == "em":
        return f"_{inner}_"
    if kind == "s":
        return f"~{inner}~"
    if kind == "link":
        href = str(node.attrs.get("href", ""))
        if href.lower().startswith(("http://", "https://")):
            url = escape(href).replace("|", "%7C")
            return f"<{url}|{escape(_plain(node)).replace('|', '¦')}>"
    return inner
