"""The words of the status line, built from the dashboard's state.

Kept apart from the app so each rule ("loading…", "retry in 7s", "data 2m old")
is a plain function of what the app knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.text import Text

from chamelaion_tui.api import ApiError, visible
from chamelaion_tui.refresh import PauseReason, View
from chamelaion_tui.tui.errors import short_label
from chamelaion_tui.tui.render import compact_duration_seconds


@dataclass(frozen=True, slots=True)
class StatusState:
    """What the status line reports, as of one clock reading ``now``."""

    view: View
    shown_view: View | None
    total: int | None
    rows: int
    in_flight: int
    now: float
    last_success: float | None
    last_error: ApiError | None
    pause_reason: PauseReason | None
    resume_at: float | None
    key_source: str = "CHAMELAION_API_KEY"
    """Where the key came from, named when the API refuses it."""


def status_parts(state: StatusState, theme: Mapping[str, str]) -> list[Text]:
    """Position, filter, in-flight count and freshness, as short texts."""
    parts = [Text(position_text(state))]
    if state.view.reference_id:
        parts.append(Text(f"filter: {visible(state.view.reference_id, limit=40)}"))
    if state.in_flight:
        parts.append(Text(f"{state.in_flight} in flight"))
    parts.append(freshness_text(state, theme))
    return parts


def position_text(state: StatusState) -> str:
    """Such as "21–40 of 237", or "loading…" while a new view is read.

    With the key refused nothing is read until the person acts, so a view
    not yet shown is "not loaded" rather than "loading".
    """
    view = state.view
    if state.shown_view != view or state.total is None:
        span = f"{view.offset + 1}–{view.offset + view.limit}"
        if state.pause_reason is PauseReason.AUTH:
            return f"{span} not loaded"
        return f"loading {span}…"
    if not state.rows:
        return "0 of 0" if not state.total else f"none at {view.offset + 1}"
    return f"{view.offset + 1}–{view.offset + state.rows} of {state.total:,}"


def freshness_text(state: StatusState, theme: Mapping[str, str]) -> Text:
    """When the data was last read, and whether the API answers now."""
    since = None if state.last_success is None else state.now - state.last_success
    age = (
        "no data yet"
        if since is None
        else f"data {compact_duration_seconds(since)} old"
    )
    warning, reason = theme.get("warning", ""), state.pause_reason
    if reason is PauseReason.USER:
        return Text(f"⏸ paused · {age}", style=warning)
    if reason is PauseReason.AUTH:
        return Text(
            f"✘ key refused: check {state.key_source}, press r to retry · " + age,
            style=theme.get("error", ""),
        )
    if reason is not None:
        wait = (
            f"retry in {compact_duration_seconds(state.resume_at - state.now)}"
            if state.resume_at is not None
            else "retrying"
        )
        label = short_label(state.last_error) if state.last_error else "paused"
        return Text(f"⚠ {label} · {wait} · {age}", style=warning)
    if state.last_error is not None:
        return Text(f"⚠ retrying · {age}", style=warning)
    if since is None:
        return Text("connecting…", style="dim")
    return Text(f"● live · updated {ago(since)}", style=theme.get("success", ""))


def ago(seconds: float) -> str:
    """A calm "updated ... ago": "just now", then in steps of 5 s, then 15 s.

    The line then changes a few times between refreshes instead of every
    second, which is most of what an idle dashboard would otherwise draw.
    Steps round down, so the age shown is never more recent than it is.
    """
    if seconds < 5:
        return "just now"
    step = 5 if seconds < 60 else 15
    return f"{compact_duration_seconds(seconds - seconds % step)} ago"
