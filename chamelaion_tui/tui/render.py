"""Turns requests into the text the table and the detail pane show.

Everything here returns ``rich.text.Text`` built from :func:`visible` output,
so API strings are never read as markup and never reach the terminal raw.
Colours come from the app's theme variables, passed in as a mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import humanize
from rich.text import Text

from chamelaion_tui.api import LipsyncRequest, Status, visible
from chamelaion_tui.api.spans import span_text
from chamelaion_tui.api.text import ELLIPSIS

STATUS_LOOK: dict[str, tuple[str, str]] = {
    Status.QUEUED: ("◷", "warning"),
    Status.PROCESSING: ("◐", "accent"),
    Status.COMPLETED: ("✔", "success"),
    Status.FAILED: ("✘", "error"),
}
"""Symbol and theme colour per documented status; others get ``?``, neutral."""

ID_WIDTH = 8
REFERENCE_WIDTH = 20
OUTCOME_WIDTH = 60
STATUS_WIDTH = 12


def cell(text: str, style: str = "") -> Text:
    """One table cell: a single line of plain text, cut with an ellipsis."""
    return Text(text, style=style, end="", no_wrap=True, overflow="ellipsis")


def tail(text: str, limit: int) -> str:
    """The end of ``text`` made visible, at most ``limit`` characters.

    For URLs, whose end (the file name) says more than their start.
    """
    shown = visible(text[-limit * 2 :])
    if len(text) <= limit and len(shown) <= limit:
        return shown
    return ELLIPSIS + shown[-(limit - 1) :]


def status_text(status: str, theme: Mapping[str, str]) -> Text:
    """The status cell: symbol and word, coloured by meaning."""
    symbol, colour = STATUS_LOOK.get(status, ("?", ""))
    style = theme.get(colour, "") if colour else "dim"
    return cell(f"{symbol} {visible(status, limit=STATUS_WIDTH - 2)}", style)


def compact_duration(span: timedelta | None) -> str:
    """A short duration such as ``45s``, ``1m 20s``, ``18m`` or ``2h 03m``.

    Seconds are shown only under ten minutes, where they still tell
    something; beyond, a running clock would only redraw the table.
    """
    return span_text(span, seconds_below=timedelta(minutes=10))


def compact_duration_seconds(seconds: float) -> str:
    """:func:`compact_duration` for a number of seconds."""
    return compact_duration(timedelta(seconds=max(seconds, 0.0)))


COARSE_AFTER = timedelta(minutes=2)
"""Relative times older than this move on a shared beat (see :func:`relative`)."""

COARSE_STEP = 15
"""Seconds between the beats on which older relative times move."""


def relative(when: datetime | None, now: datetime) -> str:
    """``when`` as "3 minutes ago" (or "in 5 seconds" if the clocks disagree).

    Past two minutes, ``now`` is rounded down to a 15-second beat, so "5
    minutes ago" turns into "6 minutes ago" up to 15 s late. Every row then
    changes on the same beat: Textual's table redraws every cell whenever
    one changes, so twenty rows each changing at their own second would cost
    twenty redraws a minute on an idle dashboard instead of four.
    """
    if when is None:
        return "—"
    if now - when > COARSE_AFTER:
        now -= timedelta(seconds=now.timestamp() % COARSE_STEP)
    return humanize.naturaltime(when, when=now)


def absolute(when: datetime | None) -> str:
    """``when`` in UTC, to the second, such as ``2026-04-07 10:00:05 UTC``."""
    if when is None:
        return "—"
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def elapsed_text(request: LipsyncRequest, now: datetime) -> str:
    """The "time so far" cell: waiting, running, or how long it took."""
    if request.status == Status.QUEUED:
        return f"waiting {compact_duration(request.queue_wait(now))}"
    if request.status == Status.PROCESSING:
        return f"running {compact_duration(request.processing_time(now))}"
    took = request.processing_time(now)
    return f"took {compact_duration(took)}" if took is not None else "—"


def outcome_text(
    request: LipsyncRequest, theme: Mapping[str, str], width: int = OUTCOME_WIDTH
) -> Text:
    """The error message, or the end of the output URL, cut to ``width``."""
    if request.error_message:
        return cell(visible(request.error_message, limit=width), theme.get("error", ""))
    if request.output_url:
        return cell(tail(request.output_url, width))
    return cell("")


@dataclass(frozen=True, slots=True)
class RowCells:
    """The cells of one table row, in column order; compared to skip repaints."""

    status: Text
    reference: Text
    short_id: Text
    created: Text
    elapsed: Text
    outcome: Text

    @classmethod
    def of(
        cls,
        request: LipsyncRequest,
        now: datetime,
        theme: Mapping[str, str],
        outcome_width: int = OUTCOME_WIDTH,
        *,
        changed: bool = False,
        stuck: bool = False,
    ) -> RowCells:
        """Render ``request`` as it should look at ``now``.

        ``changed`` marks a status that changed since the person last
        interacted; ``stuck`` a request far slower than the rest of its batch.
        """
        status = status_text(request.status, theme)
        if changed:
            status = cell(f"{status.plain} ●", f"{status.style} bold")
        elapsed = cell(elapsed_text(request, now))
        if stuck:
            elapsed = cell(f"⚠ {elapsed.plain}", f"{theme.get('warning', '')} bold")
        return cls(
            status=status,
            reference=cell(visible(request.reference_id or "—", limit=REFERENCE_WIDTH)),
            short_id=cell(visible(request.short_id, limit=ID_WIDTH)),
            created=cell(relative(request.created_at, now)),
            elapsed=elapsed,
            outcome=outcome_text(request, theme, outcome_width),
        )

    def as_tuple(self) -> tuple[Text, ...]:
        """The cells in column order."""
        return (
            self.status,
            self.reference,
            self.short_id,
            self.created,
            self.elapsed,
            self.outcome,
        )


COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("status", "Status", STATUS_WIDTH + 2),
    ("reference", "Reference", REFERENCE_WIDTH),
    ("id", "ID", ID_WIDTH),
    ("created", "Created", 14),
    ("elapsed", "Time", 15),
    ("outcome", "Output / error", 20),
)
"""Column key, label and width; the last column grows to fill the line."""

DETAIL_LIMIT = 10_000
"""The most characters of one field the detail pane shows."""


def detail_text(
    request: LipsyncRequest, now: datetime, theme: Mapping[str, str]
) -> Text:
    """Every field of ``request``, labelled, for the detail pane."""
    out = Text()

    def line(label: str, value: str | Text, style: str = "") -> None:
        out.append(f"{label:<14}", style="bold")
        if isinstance(value, Text):
            out.append_text(value)
        else:
            out.append(value, style=style)
        out.append("\n")

    def long(label: str, value: str | None, style: str = "") -> None:
        if value is None:
            return
        text = visible(value, limit=DETAIL_LIMIT, keep_newlines=True)
        out.append(f"{label}\n", style="bold")
        out.append(text + "\n", style=style)
        if len(value) > DETAIL_LIMIT:
            out.append(f"({len(value) - DETAIL_LIMIT:,} more characters)\n", "dim")

    line("Status", status_text(request.status, theme))
    if request.known_status is None:
        line("", "not a documented status; treated as final", "dim")
    long("ID", request.id)
    long("Reference ID", request.reference_id or "—")
    out.append("\n")
    for label, when in (
        ("Created", request.created_at),
        ("Started", request.started_at),
        ("Finished", request.finished_at),
    ):
        line(label, absolute(when))
        if when is not None:
            line("", relative(when, now), "dim")
    line("Queue wait", compact_duration(request.queue_wait(now)))
    line("Processing", compact_duration(request.processing_time(now)))
    out.append("\n")
    long("Output URL", request.output_url)
    long("Error", request.error_message, theme.get("error", ""))
    for name, value in sorted(request.extra.items()):
        long(visible(name, limit=40), visible(value, limit=DETAIL_LIMIT), "dim")
    out.rstrip()
    return out
