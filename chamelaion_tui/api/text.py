"""Turns untrusted text from the API into something safe to put on a terminal.

Every string the API sends (ids, reference ids, error messages, URLs, unknown
statuses) may hold anything: Rich markup, escape sequences that would move the
cursor, set the window title or write the clipboard, C1 control bytes, bidi
overrides that reorder what is shown, or tens of thousands of characters.
:func:`visible` is the one function every layer uses before such text reaches
a screen, a log line, a notification or the clipboard. It never interprets the
text; it only replaces what a terminal would act on with a printable stand-in.

Markup is not this module's concern: callers render the result as plain
``rich.text.Text`` (never as markup), so brackets stay brackets.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"

_C0_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)}
"""C0 controls map to the Unicode "control pictures" block (NUL becomes ␀)."""

_BIDI_CONTROLS = frozenset(
    [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
"""Marks and overrides that reorder how the rest of a line is displayed."""


def _stand_in(char: str, keep_newlines: bool) -> str:
    """Return a printable replacement for one character, or the character."""
    code = ord(char)
    if code < 0x20:
        if char == "\n" and keep_newlines:
            return char
        return _C0_PICTURES[code]
    if code == 0x7F:
        return "␡"
    if 0x80 <= code <= 0x9F or code in _BIDI_CONTROLS:
        return f"<U+{code:04X}>"
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return char


_NEEDS_WORK = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
"""Any character :func:`_stand_in` would replace; most text has none."""


def _needs_work(text: str) -> bool:
    """Tell whether any character of ``text`` needs a stand-in (fast path)."""
    return _NEEDS_WORK.search(text) is not None


def visible(
    value: object, *, limit: int | None = None, keep_newlines: bool = False
) -> str:
    """Return ``value`` as text that a terminal shows literally.

    Args:
        value: Anything; ``None`` becomes the empty string, other non-strings
            are converted with ``str``.
        limit: If given, the result holds at most this many characters, the
            last of them an ellipsis when text was cut (a limit of 0 or less
            gives the empty string). Cutting happens before replacement, so a
            huge string costs little.
        keep_newlines: Keep ``\\n`` as a line break (for wrapped detail text)
            instead of showing it as ``␊``.
    """
    if limit is not None and limit <= 0:
        return ""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    cut = False
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)]
        cut = True
    if _needs_work(text):
        text = "".join(_stand_in(c, keep_newlines) for c in text)
        if limit is not None and len(text) > limit:
            text = text[: max(limit - 1, 0)]
            cut = True
    return text + ELLIPSIS if cut else text
