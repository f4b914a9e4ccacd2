"""What the dashboard knows about the current view's batch, over time.

A :class:`BatchWatch` owns the tracker and the change log of one view: for a
filtered view the whole batch (loaded once across pages, then kept current by
page refreshes and an occasional re-read), for the unfiltered view just the
visible page. The app feeds it what the API said and asks it what to show.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from chamelaion_tui.api import LipsyncRequest, visible
from chamelaion_tui.batch import BatchSummary, BatchTracker, Change, ChangeLog

RELOAD_SECONDS = 60.0
"""How often a filtered batch is re-read whole while it has requests in flight
off the visible page; page refreshes keep the visible ones current."""


class BatchWatch:
    """The tracker and change log of one view.

    Args:
        reference_id: The batch filtered on, or None for all requests.
        now: When watching starts; the change log counts from here.
        stuck_after: A ceiling beyond which any in-flight request is stuck.
    """

    def __init__(
        self,
        reference_id: str | None,
        now: datetime,
        stuck_after: timedelta | None = None,
    ) -> None:
        self.reference_id = reference_id
        self.tracker = BatchTracker()
        self.log = ChangeLog(now)
        self.stuck_after = stuck_after
        self.loaded_whole = False
        """Whether the whole batch has been read at least once."""
        self.loading: str | None = None
        """Progress of a whole-batch read, while one runs."""

    @property
    def whole_batch(self) -> bool:
        """Whether this view is one batch (so the summary covers all of it)."""
        return self.reference_id is not None

    def observe_page(
        self, requests: Iterable[LipsyncRequest], now: datetime, total: int
    ) -> list[Change]:
        """Take in a page read; for all requests, hold only that page."""
        items = list(requests)
        # For all requests the summary covers the page, so the API's total
        # (the whole history) must not become its denominator.
        changes = self.tracker.update(
            items, now, total=total if self.whole_batch else None
        )
        if not self.whole_batch:
            keep = {item.id for item in items}
            self.tracker.forget([r.id for r in self.tracker if r.id not in keep])
        self.log.record(changes)
        return changes

    def observe(
        self, requests: Iterable[LipsyncRequest], now: datetime
    ) -> list[Change]:
        """Take in requests read some other way (by id, or a whole re-read)."""
        relevant = [
            r
            for r in requests
            if r.id in self.tracker
            or (self.whole_batch and r.reference_id == self.reference_id)
        ]
        changes = self.tracker.update(relevant, now)
        self.log.record(changes)
        return changes

    def loaded(
        self, requests: Iterable[LipsyncRequest], total: int, now: datetime
    ) -> list[Change]:
        """Take in a whole-batch read."""
        self.loaded_whole = True
        self.loading = None
        changes = self.tracker.update(requests, now, total=total)
        self.log.record(changes)
        return changes

    def needs_reload(self, visible: Iterable[str]) -> bool:
        """Whether requests in flight off the visible page call for a re-read."""
        if not self.whole_batch or not self.loaded_whole:
            return False
        shown = set(visible)
        return any(r.in_flight and r.id not in shown for r in self.tracker)

    def summary(self, now: datetime) -> BatchSummary:
        """The counts, progress, ETA and stuck requests at ``now``."""
        return self.tracker.summary(now, ceiling=self.stuck_after)

    def scope(self) -> str:
        """How the summary names what it covers."""
        if self.reference_id is None:
            return "This page"
        return f"Batch {visible(self.reference_id, limit=40)}"
