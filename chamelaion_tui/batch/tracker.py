"""The latest known state of every request in one view, and what it adds up to.

A :class:`BatchTracker` belongs to one view of the dashboard: a filtered batch
or the unfiltered list. The UI feeds it whatever it reads (the whole batch,
loaded once with :func:`~chamelaion_tui.batch.loading.load_batch`, then each
refreshed page) and asks it for the answers a person wants at a glance: how
far along, how long still, what is stuck, what changed, what failed and why.
When the filter changes, the UI starts a new tracker; nothing carries over.

Memory is bounded (design invariant 7). A tracker holds at most ``capacity``
requests; beyond that the oldest finished ones are dropped first, and only if
every request is in flight the oldest of those. For a filtered batch this is
the whole batch in any realistic case. For the unfiltered view the UI feeds
only the pages it shows and passes the API's ``total``, so the summary counts
what was seen and reports the rest as not loaded, rather than paging through
an account's whole history.

Times are passed in, never read from a clock, and every duration is computed
from the API's own timestamps where it can be; see :mod:`.estimate` for how a
local clock that disagrees with the server's is handled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chamelaion_tui.api import LipsyncRequest, Status, visible
from chamelaion_tui.batch.estimate import (
    MIN_FINISHED,
    Estimate,
    Timing,
    estimate,
    peak_overlap,
    stuck_threshold,
)

MAX_BATCH = 10_000
"""The most requests a tracker holds, and the most a batch load fetches."""

MAX_SKEW = timedelta(minutes=10)
"""The furthest the API's clock may run ahead of ours and still be corrected.

Timestamps ahead of ``now`` by up to this much are read as clock skew, and
``now`` is moved forward to match, so a request that just started does not
look as if it started in the future. Timestamps further ahead are taken as
garbage and not allowed to move ``now``: one absurd date must not make every
job look stuck.
"""

OTHER = "other"
"""The count key for statuses the API does not document."""

NO_MESSAGE = "(no message)"
"""The failure group of failed requests that carry no error message."""

COUNT_KEYS = (
    Status.QUEUED.value,
    Status.PROCESSING.value,
    Status.COMPLETED.value,
    Status.FAILED.value,
    OTHER,
)
"""The keys of :attr:`BatchSummary.counts`, in the order a summary shows them."""

_EARLIEST = datetime.min.replace(tzinfo=UTC)
"""Sorts requests without a creation time before all others."""

_FINAL = frozenset({Status.COMPLETED.value, Status.FAILED.value})


@dataclass(frozen=True, slots=True)
class Change:
    """A request whose status differs from the one the tracker last held.

    ``at`` is the ``now`` of the update that noticed it, so "what changed
    since 10:42" can be told from the changes alone.
    """

    request: LipsyncRequest
    old_status: str
    new_status: str
    at: datetime

    @property
    def finished(self) -> bool:
        """Whether the request has just left the queued/processing states."""
        return not self.request.in_flight


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """Everything the summary bar shows, at one instant.

    ``counts`` always has the five keys of :data:`COUNT_KEYS`; undocumented
    statuses count as ``other`` and, like the API's model, as finished (they
    are not polled, so a batch holding one can still reach 100%). ``total`` is
    the larger of the requests held and the total the API last reported, so
    for a view that is not fully loaded the counts cover only ``loaded`` of
    them and :attr:`fraction` is a lower bound.
    """

    counts: Mapping[str, int]
    loaded: int
    total: int
    eta: Estimate | None
    stuck: frozenset[str] = field(default_factory=frozenset)

    @property
    def in_flight(self) -> int:
        """Requests held that are queued or processing."""
        return self.counts[Status.QUEUED.value] + self.counts[Status.PROCESSING.value]

    @property
    def finished(self) -> int:
        """Requests held that will not change any more."""
        return self.loaded - self.in_flight

    @property
    def fraction(self) -> float:
        """Finished over total, from 0 to 1; 0 for an empty view."""
        return self.finished / self.total if self.total else 0.0

    @property
    def complete(self) -> bool:
        """Whether every request of the view is held, so counts are exact."""
        return self.loaded >= self.total


def _status_key(status: str) -> str:
    """The count key of a status: itself if documented, else ``other``."""
    return status if status in COUNT_KEYS and status != OTHER else OTHER


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from ``start`` to ``end``, or None if unknown or negative."""
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds()


class BatchTracker:
    """The requests of one view keyed by id, and the answers built from them.

    Answers are computed from the requests held each time they are asked
    for, at a few microseconds per request: well under a millisecond for a
    page, tens of milliseconds for a batch at the cap. Ask once per refresh,
    not once per frame.

    Args:
        capacity: the most requests held; see the module's docstring for
            what is dropped beyond it.
    """

    def __init__(self, capacity: int = MAX_BATCH) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self._capacity = capacity
        self._requests: dict[str, LipsyncRequest] = {}
        self._api_total = 0
        self.dropped = 0
        """How many requests were dropped to stay within ``capacity``."""

    def __len__(self) -> int:
        return len(self._requests)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._requests

    def __iter__(self) -> Iterator[LipsyncRequest]:
        return iter(list(self._requests.values()))

    def get(self, request_id: str) -> LipsyncRequest | None:
        """The latest state of one request, if held."""
        return self._requests.get(request_id)

    def update(
        self,
        requests: Iterable[LipsyncRequest],
        now: datetime,
        *,
        total: int | None = None,
    ) -> list[Change]:
        """Take in what the API just said; return the status changes it shows.

        A request seen for the first time is not a change: opening a batch or
        paging back through history must not announce every finished job.
        A request reported back in flight after being completed or failed is
        taken as a stale answer and ignored, since the API documents those
        statuses as final; this also keeps a finished job from being
        announced twice. ``total`` is the API's count for the whole view,
        when the caller has one.
        """
        changes: list[Change] = []
        for request in requests:
            old = self._requests.get(request.id)
            if old is not None:
                if old.status in _FINAL and request.in_flight:
                    continue
                if old.status != request.status:
                    changes.append(Change(request, old.status, request.status, now))
            self._requests[request.id] = request
        if total is not None:
            self._api_total = max(total, 0)
        self._shrink()
        return changes

    def forget(self, request_ids: Iterable[str]) -> None:
        """Stop tracking some requests, e.g. ones the API says no longer exist."""
        for request_id in request_ids:
            self._requests.pop(request_id, None)

    def summary(
        self, now: datetime, *, ceiling: timedelta | None = None
    ) -> BatchSummary:
        """Counts, total, ETA and stuck requests at ``now``, for the summary bar."""
        counts = Counter({key: 0 for key in COUNT_KEYS})
        for request in self._requests.values():
            counts[_status_key(request.status)] += 1
        current = self._corrected(now)
        timing = self._timing(current)
        return BatchSummary(
            counts=dict(counts),
            loaded=len(self._requests),
            total=max(self._api_total, len(self._requests)),
            eta=estimate(timing) if self._requests else None,
            stuck=self._stuck(current, timing, ceiling),
        )

    def eta(self, now: datetime) -> Estimate | None:
        """The range of time the in-flight requests held still need.

        ``None`` until :data:`~.estimate.MIN_FINISHED` requests have finished
        with usable timestamps; a zero range once nothing is in flight. The
        model is described in :mod:`chamelaion_tui.batch.estimate`. For a
        view that is not fully loaded it covers the in-flight requests held
        only, which for the unfiltered view are those on the pages seen.
        """
        if not self._requests:
            return None
        return estimate(self.timing(now))

    def stuck(self, now: datetime, ceiling: timedelta | None = None) -> frozenset[str]:
        """Ids of in-flight requests far slower than the rest of the view.

        See :mod:`chamelaion_tui.batch.estimate` for the model. ``ceiling``, if
        given, also flags any request in flight for longer than it since it
        was submitted, whatever the others did.
        """
        current = self._corrected(now)
        return self._stuck(current, self._timing(current), ceiling)

    def _stuck(
        self, current: datetime, timing: Timing, ceiling: timedelta | None
    ) -> frozenset[str]:
        """:meth:`stuck`, given the corrected time and the timing at it."""
        processing_limit = stuck_threshold(timing.processing)
        queue_limit = stuck_threshold(timing.queue_waits)
        queue_still = self._queue_still_since()
        stuck: set[str] = set()
        for request in self._requests.values():
            if not request.in_flight:
                continue
            if ceiling is not None:
                since = request.created_at or request.started_at
                age = _seconds(since, current)
                if age is not None and age > ceiling.total_seconds():
                    stuck.add(request.id)
                    continue
            if request.status == Status.PROCESSING:
                elapsed = _seconds(request.started_at, current)
                limit = processing_limit
            elif timing.running:
                continue
            else:
                latest = max(
                    (t for t in (request.created_at, queue_still) if t is not None),
                    default=None,
                )
                elapsed = _seconds(latest, current)
                limit = queue_limit
            if limit is not None and elapsed is not None and elapsed > limit:
                stuck.add(request.id)
        return frozenset(stuck)

    def failure_groups(self) -> dict[str, list[str]]:
        """Failed request ids grouped by error message, largest group first.

        Messages are compared after stripping surrounding whitespace; a
        missing or blank one groups as :data:`NO_MESSAGE`. Keys are made safe
        to show with :func:`~chamelaion_tui.api.visible`; ids are kept as
        they are, since they are what the table is keyed by. Groups of equal
        size are ordered by message, and ids keep the order they were first
        seen in.
        """
        groups: dict[str, list[str]] = {}
        for request in self._requests.values():
            if request.status != Status.FAILED:
                continue
            message = (request.error_message or "").strip()
            key = visible(message) if message else NO_MESSAGE
            groups.setdefault(key, []).append(request.id)
        ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
        return dict(ordered)

    def timing(self, now: datetime) -> Timing:
        """The durations observed in the view at ``now``, for the models."""
        return self._timing(self._corrected(now))

    def _timing(self, current: datetime) -> Timing:
        """:meth:`timing` at ``current``, a time already corrected for skew."""
        waits: list[float] = []
        done: list[float] = []
        running: list[float] = []
        waiting: list[float] = []
        spans: list[tuple[float, float]] = []
        first_start: datetime | None = None
        last_finish: datetime | None = None

        for request in self._requests.values():
            wait = _seconds(request.created_at, request.started_at)
            if wait is not None:
                waits.append(wait)
            if request.status == Status.QUEUED:
                waiting.append(_seconds(request.created_at, current) or 0.0)
                continue
            start = request.started_at
            if request.status == Status.PROCESSING:
                running.append(_seconds(start, current) or 0.0)
                if start is not None and start <= current:
                    spans.append((start.timestamp(), current.timestamp()))
            else:
                took = _seconds(start, request.finished_at)
                if took is None or start is None or request.finished_at is None:
                    continue
                done.append(took)
                spans.append((start.timestamp(), request.finished_at.timestamp()))
                if last_finish is None or request.finished_at > last_finish:
                    last_finish = request.finished_at
            if start is not None and (first_start is None or start < first_start):
                first_start = start

        rate = None
        active = _seconds(first_start, last_finish)
        if active and len(done) >= MIN_FINISHED:
            rate = len(done) / active
        return Timing(
            queue_waits=tuple(waits),
            processing=tuple(done),
            running=tuple(running),
            waiting=tuple(waiting),
            parallelism=max(peak_overlap(spans), len(running), 1),
            finish_rate=rate,
        )

    def _corrected(self, now: datetime) -> datetime:
        """``now``, moved forward to the API's latest timestamp within skew."""
        latest = now
        for request in self._requests.values():
            for stamp in (request.created_at, request.started_at, request.finished_at):
                if stamp is not None and latest < stamp <= now + MAX_SKEW:
                    latest = stamp
        return latest

    def _queue_still_since(self) -> datetime | None:
        """The last time any job of the view started or finished."""
        stamps = [
            stamp
            for request in self._requests.values()
            for stamp in (request.started_at, request.finished_at)
            if stamp is not None
        ]
        return max(stamps, default=None)

    def _shrink(self) -> None:
        """Drop requests beyond capacity: oldest finished first."""
        excess = len(self._requests) - self._capacity
        if excess <= 0:
            return

        def age(request: LipsyncRequest) -> tuple[bool, datetime]:
            return (request.in_flight, request.created_at or _EARLIEST)

        oldest = sorted(self._requests.values(), key=age)[:excess]
        for request in oldest:
            del self._requests[request.id]
        self.dropped += len(oldest)
