"""Tests for :func:`chamelaion_tui.api.text.visible`, the guard on untrusted text.

Every string the API sends reaches a terminal through ``visible`` (invariant 2
of the design). These tests feed it what a hostile or broken server could send
and check that nothing a terminal would act on survives, that markup stays
literal, and that the ``limit`` holds even for huge inputs.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chamelaion_tui.api.text import ELLIPSIS, visible

BIDI_CONTROLS = frozenset(
    chr(code)
    for code in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
)
"""The bidi marks, embeddings, overrides and isolates that reorder a line."""


def is_forbidden(char: str, *, keep_newlines: bool) -> bool:
    """Tell whether ``char`` must never reach a terminal unchanged."""
    code = ord(char)
    if char == "\n" and keep_newlines:
        return False
    return (
        code < 0x20
        or 0x7F <= code <= 0x9F
        or char in BIDI_CONTROLS
        or 0xD800 <= code <= 0xDFFF
    )


def test_plain_text_is_unchanged() -> None:
    """Ordinary text, including non-Latin scripts and emoji, passes untouched."""
    text = "batch-2026-04 ✓ 日本語 ключ 🎬 café"
    assert visible(text) == text


def test_none_is_empty_and_other_values_are_converted() -> None:
    """``None`` shows as nothing; numbers and other objects as their ``str``."""
    assert visible(None) == ""
    assert visible(42) == "42"
    assert visible(1.5) == "1.5"


@pytest.mark.parametrize(
    "markup",
    [
        "[bold red]alert[/]",
        "[link=https://evil.test]click[/link]",
        "[/]",
        "\\[escaped]",
        "[@click=app.quit]x[/]",
    ],
)
def test_rich_markup_is_kept_as_literal_characters(markup: str) -> None:
    """Brackets are not this layer's business: markup comes back character for
    character, so a caller rendering plain text shows it literally."""
    assert visible(markup) == markup


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[2J\x1b[H", "␛[2J␛[H"),
        ("\x1b[31mred\x1b[0m", "␛[31mred␛[0m"),
        ("\x1b]0;pwned\x07", "␛]0;pwned␇"),
        ("\x1b]2;title\x1b\\", "␛]2;title␛\\"),
        ("\x1b]52;c;ZWNobyBwd25lZA==\x07", "␛]52;c;ZWNobyBwd25lZA==␇"),
        ("ding\x07", "ding␇"),
        ("a\x00b", "a␀b"),
        ("over\rwrite", "over␍write"),
        ("back\x08space", "back␈space"),
        ("col\tumn", "col␉umn"),
        ("del\x7f", "del␡"),
    ],
)
def test_c0_escape_sequences_and_del_become_control_pictures(
    raw: str, expected: str
) -> None:
    """CSI, OSC (window title, OSC 52 clipboard writes), BEL, NUL, CR, BS, tab and
    DEL are shown as their Unicode control pictures, so the terminal receives no
    control character and the person still sees that something odd was sent."""
    assert visible(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x9b2J", "<U+009B>2J"),
        ("\x9d0;title\x9c", "<U+009D>0;title<U+009C>"),
        ("next\x85line", "next<U+0085>line"),
        ("\x80\x9f", "<U+0080><U+009F>"),
    ],
)
def test_c1_controls_become_code_point_stand_ins(raw: str, expected: str) -> None:
    """C1 bytes (8-bit CSI, OSC, ST, NEL) act like ESC sequences on some
    terminals, so each is replaced by a printable ``<U+XXXX>`` label."""
    assert visible(raw) == expected


@pytest.mark.parametrize("char", sorted(BIDI_CONTROLS))
def test_bidi_controls_become_code_point_stand_ins(char: str) -> None:
    """A right-to-left override could make an id or URL read as something else
    ("Trojan source"), so every bidi control is shown as a label instead."""
    assert visible(f"abc{char}def") == f"abc<U+{ord(char):04X}>def"


def test_newlines_are_shown_unless_kept() -> None:
    """In a table cell a newline would break the row, so it becomes ``␊``; the
    detail pane asks to keep it as a real line break. ``\\r`` is never kept."""
    assert visible("one\ntwo") == "one␊two"
    assert visible("one\ntwo", keep_newlines=True) == "one\ntwo"
    assert visible("one\r\ntwo", keep_newlines=True) == "one␍\ntwo"


def test_lone_surrogates_become_replacement_characters() -> None:
    """JSON may carry unpaired surrogates (``"\\ud800"``); they cannot be encoded
    for a terminal, so each becomes U+FFFD instead of raising later."""
    result = visible("a\ud800b\udfffc")
    assert result == "a\ufffdb\ufffdc"
    result.encode("utf-8")


def test_limit_cuts_with_an_ellipsis() -> None:
    """A cut string holds exactly ``limit`` characters, the last an ellipsis;
    one that fits is left alone."""
    assert visible("abcdef", limit=4) == "abc" + ELLIPSIS
    assert visible("abcd", limit=4) == "abcd"
    assert visible("abcde", limit=1) == ELLIPSIS


def test_limit_counts_the_stand_ins() -> None:
    """Stand-ins are longer than what they replace; the limit applies to what is
    shown, not to what was sent."""
    result = visible("\x9b\x9b\x9b", limit=10)
    assert len(result) == 10
    assert result.endswith(ELLIPSIS)


def test_limit_zero_gives_nothing() -> None:
    """Regression: ``limit=0`` used to return a lone ellipsis, one character
    over the limit a caller asked for."""
    assert visible("abc", limit=0) == ""
    assert visible("", limit=0) == ""
    assert len(visible("abc", limit=-3)) == 0


def test_huge_strings_are_cheap() -> None:
    """A 100,000-character error message must not stall the screen: with a limit
    only the kept part is examined, and without one the whole string is still
    processed quickly. Measured, not slept: no wall-clock wait happens."""
    hostile = "\x1b[2J\x9b\u202e" * 25_000
    started = time.perf_counter()
    short = visible(hostile, limit=80)
    whole = visible(hostile)
    elapsed = time.perf_counter() - started
    assert len(short) == 80
    assert short.endswith(ELLIPSIS)
    assert "\x1b" not in whole
    assert elapsed < 2.0


@settings(database=None, max_examples=400)
@given(
    text=st.text(),
    limit=st.none() | st.integers(min_value=0, max_value=64),
    keep_newlines=st.booleans(),
)
def test_output_never_holds_terminal_controls_nor_exceeds_the_limit(
    text: str, limit: int | None, keep_newlines: bool
) -> None:
    """For any text: no C0 control (but a kept newline), DEL, C1, bidi control or
    lone surrogate comes out, and the result is never longer than ``limit``."""
    result = visible(text, limit=limit, keep_newlines=keep_newlines)
    assert not any(is_forbidden(c, keep_newlines=keep_newlines) for c in result)
    if limit is not None:
        assert len(result) <= limit


@settings(database=None, max_examples=200)
@given(text=st.text(alphabet=st.characters(codec="utf-8")))
def test_printable_text_passes_through(text: str) -> None:
    """Nothing is replaced that did not need it: text free of controls comes
    back exactly as it went in."""
    if any(is_forbidden(c, keep_newlines=False) for c in text):
        return
    assert visible(text) == text
