"""Text safe to print on a terminal: every control character shown escaped.

Whoever creates or answers an event chooses text that hitlkit prints (names, prompts,
values, reasons): the CLI, error messages and log lines pass it through `printable`.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

# C0 (newline and tab too), DEL and C1 (ESC and CSI among them), the bidirectional
# controls that make text read in another order than it is stored, and the line and
# paragraph separators.
_OTHER_CONTROLS = r"\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(rf"[\x00-\x1f{_OTHER_CONTROLS}]")
_CONTROL_BUT_LINES = re.compile(rf"[\x00-\x08\x0b-\x1f{_OTHER_CONTROLS}]")
_NAMED = {"\n": r"\n", "\r": r"\r", "\t": r"\t"}


def printable(text: str, *, multiline: bool = False) -> str:
    r"""`text` safe to print on a terminal: every control character shown escaped.

    `ESC ] 52 ;` prints as `\x1b]52;`, a newline as `\n`; with `multiline` (a
    prompt, a description), newlines and tabs are kept.

    ```python
    printable("ana\x1b[2J")   # 'ana\\x1b[2J'
    ```
    """
    pattern = _CONTROL_BUT_LINES if multiline else _CONTROL
    return pattern.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (rf"\x{code:02x}" if code < 0x100 else rf"\u{code:04x}")
