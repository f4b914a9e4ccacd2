"""The summary bar: how far along the current view is, at a glance."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from rich.text import Text
from textual.widgets import Static

from chamelaion_tui.api import Status
from chamelaion_tui.batch import OTHER, BatchSummary, Estimate
from chamelaion_tui.tui.render import STATUS_LOOK, compact_duration

BAR_WIDTH = 16
"""Cells of the progress bar."""


def progress_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A bar of ``width`` cells, filled to ``fraction`` (0 to 1)."""
    filled = round(max(0.0, min(fraction, 1.0)) * width)
    return "█" * filled + "░" * (width - filled)


def eta_text(estimate: Estimate | None, in_flight: int) -> str:
    """The ETA as a range, "nothing in flight", or "no estimate yet"."""
    if in_flight == 0:
        return "nothing in flight"
    if estimate is None:
        return "ETA: no estimate yet"
    if estimate.high <= timedelta(0):
        return "ETA: any moment"
    low, high = compact_duration(estimate.low), compact_duration(estimate.high)
    span = low if low == high else f"{low}–{high}"
    return f"ETA {span} (from {estimate.samples} finished)"


def summary_text(
    summary: BatchSummary,
    scope: str,
    theme: Mapping[str, str],
    *,
    loading: str | None = None,
) -> Text:
    """One line: scope, counts by status, progress bar, percent and ETA."""
    out = Text()
    out.append(scope, style="bold")
    if not summary.total:
        out.append(f" · {loading or 'no requests yet'}", style="dim")
        return out
    out.append(f" · {summary.total:,} requests ")
    for status in (Status.COMPLETED, Status.FAILED, Status.PROCESSING, Status.QUEUED):
        count = summary.counts.get(status.value, 0)
        symbol, colour = STATUS_LOOK[status]
        out.append(f" {symbol} {count:,} {status.value}", style=theme.get(colour, ""))
    if summary.counts.get(OTHER):
        out.append(f"  ? {summary.counts[OTHER]:,} other", style="dim")
    if summary.stuck:
        out.append(
            f"  ⚠ {len(summary.stuck)} stuck", style=f"bold {theme.get('warning', '')}"
        )
    out.append("  ")
    out.append(
        progress_bar(summary.fraction, BAR_WIDTH), style=theme.get("success", "")
    )
    out.append(f" {summary.fraction:.0%} finished  ")
    out.append(eta_text(summary.eta, summary.in_flight))
    if loading:
        out.append(f"  · {loading}", style="dim")
    elif not summary.complete:
        out.append(f"  · counts cover {summary.loaded:,} loaded", style="dim")
    return out


class SummaryBar(Static):
    """Two lines above the table: the view's progress, and what changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._plain = ""

    def show(self, line: Text, changes: str | None) -> None:
        """Show the summary line and, if any, the "what changed" line."""
        text = line.copy()
        if changes:
            # First, so a summary too long for the width cannot push it out.
            text = Text(f"{changes}  (any key dismisses)\n", style="bold")
            text.append_text(line)
        if text.plain != self._plain:
            self._plain = text.plain
            self.update(text)
