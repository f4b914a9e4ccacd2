"""What a headless command talks to: streams, environment and clocks.

Commands get these through a :class:`Runtime` instead of reaching for
``sys.stdout``, ``os.environ`` or ``time.monotonic`` themselves, so a test can
hand them a string buffer, a pretend terminal and a simulated clock. The
:class:`Console` built from it decides, once, whether output is for a person
(colour, a live line) or for a program (plain lines, nothing animated).
"""

from __future__ import annotations

import asyncio
import codecs
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

PROG = "chamelaion-tui"

_STATUS_COLOURS = {
    "queued": "36",
    "processing": "33",
    "completed": "32",
    "failed": "31",
}
"""SGR colour codes of the documented statuses; others are left plain."""


def utc_now() -> datetime:
    """The current time in UTC, the wall clock of the real process."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Runtime:
    """The process a command runs in, injectable as a whole by tests."""

    environ: Mapping[str, str]
    stdout: TextIO
    stderr: TextIO
    clock: Callable[[], float] = time.monotonic
    """Monotonic seconds: what timeouts and the refresh schedule count in."""
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    """Waits that many clock seconds; tests advance a simulated clock instead."""
    wall_clock: Callable[[], datetime] = utc_now
    """The time stamped on output lines."""
    terminal: bool | None = None
    """Whether stdout is a terminal; ``None`` asks the stream itself."""
    width: int | None = None
    """Columns of the terminal; ``None`` asks the operating system."""
    keyboard: bool | None = None
    """Whether stdin is a terminal, which the dashboard reads keys from;
    ``None`` asks ``sys.stdin``."""

    def reads_keys(self) -> bool:
        """Whether keys can be read: stdin is a terminal."""
        if self.keyboard is not None:
            return self.keyboard
        return sys.stdin is not None and sys.stdin.isatty()

    @classmethod
    def from_process(cls) -> Runtime:
        """The real streams and environment of this process.

        Characters the terminal's encoding cannot show are escaped rather
        than raising, since API text may hold any character.
        """
        for stream in (sys.stdout, sys.stderr):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors="backslashreplace")
        return cls(environ=os.environ, stdout=sys.stdout, stderr=sys.stderr)

    def console(self) -> Console:
        """A console for this runtime's streams."""
        tty = self.terminal
        if tty is None:
            isatty = getattr(self.stdout, "isatty", None)
            tty = bool(isatty and isatty())
        plain_term = self.environ.get("TERM", "") == "dumb"
        colour = tty and not self.environ.get("NO_COLOR") and not plain_term
        width = self.width or shutil.get_terminal_size((100, 24)).columns
        encoding = getattr(self.stdout, "encoding", None) or "utf-8"
        try:
            unicode = codecs.lookup(encoding).name.startswith("utf")
        except LookupError:
            unicode = False
        return Console(
            out=self.stdout,
            err=self.stderr,
            tty=tty,
            colour=colour,
            live=tty and not plain_term,
            width=max(width, 20),
            unicode=unicode,
        )


@dataclass
class Console:
    """Writes a command's output, styled for a terminal or plain for a pipe.

    Attributes:
        tty: stdout is a terminal.
        colour: status words may be coloured (a terminal, no ``NO_COLOR``,
            not ``TERM=dumb``).
        live: a line may be redrawn in place with a carriage return.
        width: columns available for one line.
        unicode: stdout can take characters beyond ASCII (spinner, marks).
    """

    out: TextIO
    err: TextIO
    tty: bool = False
    colour: bool = False
    live: bool = False
    width: int = 100
    unicode: bool = True
    _live_shown: bool = False

    def line(self, text: str = "") -> None:
        """Write one line of output, first clearing any live line."""
        self.clear_live()
        self.out.write(text + "\n")

    def warn(self, text: str) -> None:
        """Write one line on stderr, prefixed with the program's name."""
        self.clear_live()
        self.out.flush()
        self.err.write(f"{PROG}: {text}\n")
        self.err.flush()

    def show_live(self, text: str) -> None:
        """Redraw the live line; only on a terminal that supports it."""
        if not self.live:
            return
        if len(text) >= self.width:
            text = text[: self.width - 2] + ("…" if self.unicode else "~")
        self.out.write("\r\x1b[K" + text)
        self.out.flush()
        self._live_shown = True

    def clear_live(self) -> None:
        """Erase the live line so ordinary output starts on a clean line."""
        if self._live_shown:
            self.out.write("\r\x1b[K")
            self._live_shown = False

    def status(self, status: str, text: str | None = None) -> str:
        """``text`` (default: the status) coloured for ``status`` if allowed.

        Both are expected to be safe already (passed through ``visible``).
        """
        shown = status if text is None else text
        code = _STATUS_COLOURS.get(status)
        if not self.colour or code is None:
            return shown
        return f"\x1b[{code}m{shown}\x1b[0m"

    def dim(self, text: str) -> str:
        """``text`` dimmed on a colour terminal, for hints and footers."""
        return f"\x1b[2m{text}\x1b[0m" if self.colour else text

    def bell(self) -> None:
        """Ring the terminal bell, only when stdout is a terminal."""
        if self.tty:
            self.out.write("\a")
            self.out.flush()
