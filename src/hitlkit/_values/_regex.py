"""A schema's `pattern` as a browser's `pattern` attribute, where both mean the same.

The app checks a `pattern` as Python's `re.search` reads it (in linear time, with the
Rust engine that reads the common patterns alike: see `_patterns`); a browser
checks an input's `pattern` attribute as `^(?:P)$`, a JavaScript regex with the `v` flag.
The two languages agree on a common core only, so `browser_pattern` reads the pattern
with Python's own parser and writes it out again node by node, in JavaScript that
matches exactly the same texts. Anything outside that core (lookarounds, backreferences,
flags, possessive repeats, atomic groups, `\\b`, `\\w`, `\\s`) gives no attribute: the
app still checks the answer, only the browser does not check it first.

Inputs hold one line (a browser strips line breaks from an `<input>`'s value), so
Python's `$` (end, or before a final newline) and `\\Z` both mean JavaScript's `$`.
"""

from __future__ import annotations

import functools
import re
import sys
from typing import Any

# Python's own regex parser: the one `re.search` uses, so the same reading.
if sys.version_info >= (3, 11):
    from re import _constants as ops
    from re import _parser as parser
else:  # pragma: no cover - Python 3.10
    import sre_constants as ops
    import sre_parse as parser

__all__ = ["browser_pattern"]

MAX_LENGTH = 2000
"""Longer translations are left out: a page should not carry a wall of character ranges."""

_SYNTAX = frozenset("^$\\.*+?()[]{}|/")
"""Characters a `v`-flag regex reads as syntax outside a class; escaped there."""


class _Untranslatable(Exception):
    """A pattern node with no JavaScript equal."""


def browser_pattern(pattern: str) -> str | None:
    """`pattern` (a schema's, read by `re.search`) as an HTML `pattern` attribute, or
    None when no attribute would mean exactly the same.

    ```python
    browser_pattern(r"^v[0-9]+$")  # "v[0-9]+"
    browser_pattern(r"(?<=a)b")  # None: JavaScript reads lookbehinds otherwise
    ```
    """
    return _translate(pattern)


@functools.lru_cache(maxsize=256)
def _translate(pattern: str) -> str | None:
    try:
        parsed = parser.parse(pattern)
        if parsed.state.flags & ~ops.SRE_FLAG_UNICODE:
            return None  # (?i), (?x), (?s), ...: flags the attribute cannot carry
        nodes: list[tuple[Any, Any]] = list(parsed.data)
        head, tail = "[\\s\\S]*", "[\\s\\S]*"  # re.search finds the pattern anywhere
        if nodes and nodes[0] in ((ops.AT, ops.AT_BEGINNING), (ops.AT, ops.AT_BEGINNING_STRING)):
            head, nodes = "", nodes[1:]
        if nodes and nodes[-1] in ((ops.AT, ops.AT_END), (ops.AT, ops.AT_END_STRING)):
            tail, nodes = "", nodes[:-1]
        body = _sequence(nodes)
    except (re.error, _Untranslatable, RecursionError):
        return None
    if not body:
        body = head or tail
    elif head or tail:
        body = f"{head}(?:{body}){tail}"
    return body if len(body) <= MAX_LENGTH else None


def _sequence(nodes: list[tuple[Any, Any]]) -> str:
    return "".join(_node(op, arg) for op, arg in nodes)


def _node(op: Any, arg: Any) -> str:
    if op is ops.LITERAL:
        return _char(arg)
    if op is ops.NOT_LITERAL:
        return f"[^{_class_char(arg)}]"
    if op is ops.ANY:
        return "[^\\n]"  # Python's `.` passes every character but \n; JavaScript's fewer
    if op is ops.IN:
        return _class(arg)
    if op is ops.BRANCH:
        return "(?:" + "|".join(_sequence(list(b)) for b in arg[1]) + ")"
    if op is ops.SUBPATTERN:
        _group, add_flags, del_flags, inner = arg
        if add_flags or del_flags:
            raise _Untranslatable("flags in a group")
        return f"(?:{_sequence(list(inner))})"
    if op in (ops.MAX_REPEAT, ops.MIN_REPEAT):
        # Lazy or greedy, a repeat passes the same whole texts.
        low, high, inner = arg
        if high != 1 and _may_backtrack(list(inner)):
            # A browser matches with backtracking: `(a+)+`, `(a|a)*` take exponential time
            # on a near miss and freeze the page. The app checks those in linear time.
            raise _Untranslatable("a repeat of a repeat or of alternatives")
        return _one(list(inner)) + _count(low, high)
    if op is ops.AT and arg in (ops.AT_BEGINNING, ops.AT_BEGINNING_STRING):
        return "^"
    if op is ops.AT and arg in (ops.AT_END, ops.AT_END_STRING):
        return "$"
    raise _Untranslatable(str(op))


def _may_backtrack(nodes: list[tuple[Any, Any]]) -> bool:
    """Whether `nodes` hold a repeat, or alternatives a matcher cannot tell apart by their
    first character (`a|ab`), at any depth."""
    for op, arg in nodes:
        if op in (ops.MAX_REPEAT, ops.MIN_REPEAT):
            return True
        if op is ops.SUBPATTERN and _may_backtrack(list(arg[3])):
            return True
        if op is ops.BRANCH:
            branches = [list(branch) for branch in arg[1]]
            firsts = [b[0][1] if b and b[0][0] is ops.LITERAL else None for b in branches]
            if None in firsts or len(set(firsts)) < len(firsts):
                return True
            if any(_may_backtrack(branch) for branch in branches):
                return True
    return False


def _one(nodes: list[tuple[Any, Any]]) -> str:
    """`nodes` as one unit a count can follow: a group unless it is one character."""
    text = _sequence(nodes)
    units = (ops.LITERAL, ops.NOT_LITERAL, ops.ANY, ops.IN, ops.BRANCH, ops.SUBPATTERN)
    single = len(nodes) == 1 and nodes[0][0] in units
    return text if single else f"(?:{text})"


def _count(low: int, high: Any) -> str:
    if high is ops.MAXREPEAT:
        return {0: "*", 1: "+"}.get(low, f"{{{low},}}")
    if (low, high) == (0, 1):
        return "?"
    return f"{{{low}}}" if low == high else f"{{{low},{high}}}"


def _char(code: int) -> str:
    char = chr(code)
    if char in _SYNTAX:
        return "\\" + char
    return char if char.isalnum() or char in " -_'\"," else _escaped(code)


def _escaped(code: int) -> str:
    return f"\\u{{{code:x}}}"


def _class_char(code: int) -> str:
    # Inside a `v`-flag class many punctuation marks are syntax: escape all but letters
    # and digits.
    return chr(code) if chr(code).isalnum() and code < 128 else _escaped(code)


def _class(items: list[tuple[Any, Any]]) -> str:
    negate = bool(items) and items[0][0] is ops.NEGATE
    parts = []
    for op, arg in items[1:] if negate else items:
        if op is ops.LITERAL:
            parts.append(_class_char(arg))
        elif op is ops.RANGE:
            parts.append(f"{_class_char(arg[0])}-{_class_char(arg[1])}")
        elif op is ops.CATEGORY and arg is ops.CATEGORY_DIGIT:
            parts.append(_digits())
        else:
            raise _Untranslatable(str(op))
    return f"[{'^' if negate else ''}{''.join(parts)}]"


@functools.cache
def _digits() -> str:
    """Python's `\\d` (every decimal digit this Python knows) as ranges of a class."""
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if chr(code).isdecimal():
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(f"{_class_char(a)}-{_class_char(b)}" for a, b in ranges)
