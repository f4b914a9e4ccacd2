"""How long something took or has taken, as short text for people.

Shared by the dashboard and the headless commands, so both say "3m 07s" the
same way.
"""

from __future__ import annotations

from datetime import timedelta


def span_text(
    span: timedelta | None,
    *,
    unknown: str = "—",
    seconds_below: timedelta = timedelta(hours=1),
) -> str:
    """A short duration such as ``45s``, ``3m 07s``, ``18m``, ``2h 05m``, ``3d 01h``.

    Args:
        span: The duration; negative counts as zero, ``None`` as unknown.
        unknown: What to show for ``None``.
        seconds_below: Seconds are shown only for spans shorter than this.
    """
    if span is None:
        return unknown
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s" if span < seconds_below else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"
