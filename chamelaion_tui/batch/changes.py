"""What changed while the person looked away, in words fit for the screen.

Two consumers of :class:`~chamelaion_tui.batch.tracker.Change` lists live here.
:func:`group_toasts` turns the changes of one refresh into a few notifications,
so a batch finishing fifty jobs at once does not bury the screen in fifty
toasts. :class:`ChangeLog` adds changes up across refreshes into one line,
"+12 completed, 2 failed since 10:42", and remembers which rows changed, until
the person acknowledges them.

Every piece of text taken from the API passes through
:func:`~chamelaion_tui.api.visible` (design invariant 2).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal

from chamelaion_tui.api import LipsyncRequest, Status, visible
from chamelaion_tui.batch.tracker import MAX_BATCH, NO_MESSAGE, Change

REFERENCE_LIMIT = 40
"""Characters of a reference id shown in a toast."""

MESSAGE_LIMIT = 160
"""Characters of an error message shown in a toast."""

Severity = Literal["information", "error"]
"""A toast's kind; the names match the severities Textual's ``notify`` takes."""


@dataclass(frozen=True, slots=True)
class Toast:
    """One notification: its text, how loud it is and the requests it covers.

    ``ids`` lets the UI jump to the rows a toast talks about; ``failures``
    counts the failed requests among them, so the UI knows when to ring the
    bell without parsing the text.
    """

    text: str
    severity: Severity
    ids: tuple[str, ...]
    failures: int = 0


def _label(request: LipsyncRequest) -> str:
    """The reference id (if any) and short id of a request, safe to show."""
    short = visible(request.short_id)
    if request.reference_id:
        return f"{visible(request.reference_id, limit=REFERENCE_LIMIT)} {short}"
    return short


def _message(request: LipsyncRequest) -> str:
    """A failed request's error message, stripped and safe, or a stand-in."""
    message = (request.error_message or "").strip()
    return visible(message, limit=MESSAGE_LIMIT) if message else NO_MESSAGE


def _one(change: Change) -> Toast:
    """The toast for a single finished request."""
    request = change.request
    if change.new_status == Status.FAILED:
        text = f"failed: {_message(request)} ({_label(request)})"
        return Toast(text, "error", (request.id,), failures=1)
    status = visible(change.new_status, limit=REFERENCE_LIMIT)
    return Toast(f"{status}: {_label(request)}", "information", (request.id,))


def tally(counts: Mapping[str, int]) -> str:
    """``"12 completed, 2 failed"``: completed, failed, then others by name.

    Statuses with a count of zero are left out; the result is empty if all
    are. Status names are made safe to show.
    """
    first = [Status.COMPLETED.value, Status.FAILED.value]
    rest = sorted(key for key in counts if key not in first)
    parts = [
        f"{counts[key]} {visible(key, limit=REFERENCE_LIMIT)}"
        for key in (*first, *rest)
        if counts.get(key, 0) > 0
    ]
    return ", ".join(parts)


def group_toasts(changes: Sequence[Change], limit: int = 3) -> list[Toast]:
    """At most ``limit`` toasts announcing the requests that just finished.

    Changes that leave a request in flight (queued to processing) are not
    announced. If every finished request fits, each gets its own toast:
    "completed: <reference> <short id>" or "failed: <message> (<reference>
    <short id>)". Otherwise failures, which matter more, keep toasts of their
    own, one per distinct message ("3 failed: <message>"), as long as one
    slot is left for a single toast counting the rest ("+17 completed"). If
    even that does not fit, one toast counts everything ("+17 completed, 3
    failed").

    Raises:
        ValueError: ``limit`` is below 1.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    finished = [change for change in changes if change.finished]
    if len(finished) <= limit:
        return [_one(change) for change in finished]

    failed = [c for c in finished if c.new_status == Status.FAILED]
    by_message: dict[str, list[str]] = {}
    for change in failed:
        by_message.setdefault(_message(change.request), []).append(change.request.id)
    if len(by_message) + 1 > limit:
        return [_summed(finished)]

    toasts = [
        Toast(
            f"{len(ids)} failed: {message}" if len(ids) > 1 else f"failed: {message}",
            "error",
            tuple(ids),
            failures=len(ids),
        )
        for message, ids in sorted(by_message.items(), key=lambda kv: -len(kv[1]))
    ]
    others = [c for c in finished if c.new_status != Status.FAILED]
    if others:
        toasts.append(_summed(others))
    return toasts


def _summed(changes: Sequence[Change]) -> Toast:
    """One toast counting ``changes`` by their new status."""
    counts = Counter(change.new_status for change in changes)
    failures = counts.get(Status.FAILED.value, 0)
    return Toast(
        "+" + tally(counts),
        "error" if failures else "information",
        tuple(change.request.id for change in changes),
        failures=failures,
    )


class ChangeLog:
    """Changes added up since the person last acknowledged them.

    It counts requests that finished, by their final status, and remembers
    the ids of every request whose status changed (to highlight those rows).
    :meth:`acknowledge` starts over. Memory is bounded: at most
    :data:`~chamelaion_tui.batch.tracker.MAX_BATCH` ids are remembered; the
    counts go on regardless.

    Args:
        since: when counting starts, usually when the view was opened.
    """

    def __init__(self, since: datetime, *, capacity: int = MAX_BATCH) -> None:
        self._since = since
        self._capacity = capacity
        self._finished: Counter[str] = Counter()
        self._changed: set[str] = set()

    @property
    def since(self) -> datetime:
        """When counting started: creation, or the last acknowledgement."""
        return self._since

    @property
    def finished(self) -> Mapping[str, int]:
        """How many requests reached each final status, as sent by the API."""
        return dict(self._finished)

    @property
    def changed_ids(self) -> frozenset[str]:
        """Ids of requests whose status changed since :attr:`since`."""
        return frozenset(self._changed)

    @property
    def pending(self) -> bool:
        """Whether anything changed that was not acknowledged yet."""
        return bool(self._changed) or bool(self._finished)

    def record(self, changes: Iterable[Change]) -> None:
        """Add the changes of one refresh."""
        for change in changes:
            if len(self._changed) < self._capacity:
                self._changed.add(change.request.id)
            if change.finished:
                self._finished[change.new_status] += 1

    def acknowledge(self, now: datetime) -> None:
        """The person has seen it all: forget it and count again from ``now``."""
        self._since = now
        self._finished.clear()
        self._changed.clear()

    def line(self, now: datetime, tz: tzinfo | None = None) -> str | None:
        """``"+12 completed, 2 failed since 10:42"``, or None if none finished.

        The time is shown in ``tz`` (the system's local zone when None), with
        the date too when :attr:`since` falls on another day than ``now``.
        """
        counted = tally(self._finished)
        if not counted:
            return None
        since = self._since.astimezone(tz)
        same_day = since.date() == now.astimezone(tz).date()
        when = since.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")
        return f"+{counted} since {when}"
