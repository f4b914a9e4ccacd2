"""Decides when to ask the API what, without doing any I/O itself.

The policy keeps one backoff schedule per in-flight request (2 s, then x1.5,
capped at 15 s, back to 2 s whenever the status changes) and turns them into a
:class:`Plan`: re-read the visible page when any of its in-flight rows is due,
so one list call refreshes them all; GET by id only the in-flight requests that
are no longer on the page (pushed off by new submissions) or were asked for
explicitly; and, when nothing moves, re-read the page on a slow schedule so new
submissions and a changed total still appear.

A global pause sits above all of this: a 429 waits for its ``Retry-After``,
an outage backs off exponentially, a refused key stops until the person
resumes. Time comes from an injected clock so tests never sleep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from chamelaion_tui.api.errors import ApiError, AuthError, RateLimited
from chamelaion_tui.api.models import LipsyncRequest

Clock = Callable[[], float]
"""Returns monotonic seconds; ``time.monotonic`` in the app, a fake in tests."""


MAX_RETRY_AFTER = 900.0
"""The longest a ``Retry-After`` may pause polling; a larger (or absurd) value
from the API is read as this, so the dashboard never stops for good."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """A per-request polling schedule: ``initial``, times ``factor``, to ``cap``."""

    initial: float = 2.0
    factor: float = 1.5
    cap: float = 15.0

    def after(self, delay: float) -> float:
        """The delay that follows ``delay`` when nothing changed."""
        return min(delay * self.factor, self.cap)


@dataclass(frozen=True, slots=True)
class View:
    """What the person is looking at: one page, perhaps of one batch."""

    reference_id: str | None = None
    offset: int = 0
    limit: int = 20


class PauseReason(StrEnum):
    """Why polling is paused, if it is."""

    RATE_LIMITED = "rate limited"
    OUTAGE = "unreachable"
    AUTH = "key refused"
    USER = "paused"


@dataclass(slots=True)
class _Row:
    """The polling state of one in-flight request."""

    status: str
    delay: float
    due_at: float


@dataclass(frozen=True, slots=True)
class Plan:
    """What to fetch now, and when to look again if nothing else happens."""

    list_page: bool = False
    get_ids: tuple[str, ...] = ()
    wake_at: float | None = None

    @property
    def empty(self) -> bool:
        """True when nothing needs fetching right now."""
        return not self.list_page and not self.get_ids


@dataclass(slots=True)
class RefreshPolicy:
    """The refresh schedule for one view plus a few requests off the page.

    Args:
        clock: Monotonic seconds.
        backoff: The per-request schedule.
        idle_interval: How often the page is re-read when nothing on it is in
            flight (new submissions, changed total).
        slack: A row due within this fraction of its delay is refreshed with
            one that is due now, so rows drift onto a shared beat instead of
            each costing a call of its own.
        outage_cap: The longest wait between attempts while the API is down.
        max_off_page: Most off-page requests followed by GET at once; the
            oldest beyond this are let go, so cost stays bounded by the page.
    """

    clock: Clock
    backoff: Backoff = field(default_factory=Backoff)
    idle_interval: float = 30.0
    slack: float = 0.25
    outage_cap: float = 60.0
    max_off_page: int = 100
    view: View = field(default_factory=View)
    generation: int = 0
    """Bumped on every view change; results for an older generation are stale."""
    _visible: dict[str, _Row] = field(default_factory=dict)
    _off_page: dict[str, _Row] = field(default_factory=dict)
    _pinned: set[str] = field(default_factory=set)
    _page_read_at: float | None = None
    _page_wanted: bool = True
    _paused_until: float | None = None
    _pause_reason: PauseReason | None = None
    _user_paused: bool = False
    _failures: int = 0

    # -- what the person does ------------------------------------------------

    def set_view(self, view: View) -> int:
        """Switch to another page or filter; returns the new generation.

        Rows of the old view are no longer followed: cost follows what is
        visible. Pinned requests stay followed. A page read is wanted at once.
        """
        self.view = view
        self.generation += 1
        self._visible.clear()
        self._off_page = {
            request_id: row
            for request_id, row in self._off_page.items()
            if request_id in self._pinned
        }
        self._page_read_at = None
        self._page_wanted = True
        return self.generation

    def refresh_now(self) -> None:
        """Ask for the page now and lift an outage or auth pause (key ``r``)."""
        self._page_wanted = True
        for row in (*self._visible.values(), *self._off_page.values()):
            row.due_at = min(row.due_at, self.clock())
        if self._pause_reason in (PauseReason.OUTAGE, PauseReason.AUTH):
            self._clear_pause()

    def pin(self, request_id: str) -> None:
        """Follow one request by id even when it is not on the page."""
        self._pinned.add(request_id)
        self._off_page.setdefault(
            request_id, _Row("", self.backoff.initial, self.clock())
        )

    def unpin(self, request_id: str) -> None:
        """Stop following a pinned request that is not on the page."""
        self._pinned.discard(request_id)
        self._off_page.pop(request_id, None)

    def set_user_paused(self, paused: bool) -> None:
        """Pause or resume all polling at the person's request."""
        self._user_paused = paused

    # -- what the API said ---------------------------------------------------

    def page_loaded(self, items: Iterable[LipsyncRequest]) -> None:
        """Record a fresh read of the visible page."""
        now = self.clock()
        self._succeeded()
        self._page_read_at = now
        self._page_wanted = False
        previous = self._visible
        self._visible = {}
        for item in items:
            row = previous.pop(item.id, None) or self._off_page.pop(item.id, None)
            if item.in_flight:
                self._visible[item.id] = self._observe(row, item.status, now)
            elif item.id not in self._pinned:
                self._off_page.pop(item.id, None)
        for request_id, row in previous.items():
            self._follow_off_page(request_id, row)

    def request_loaded(self, item: LipsyncRequest) -> None:
        """Record a fresh GET of one request."""
        now = self.clock()
        self._succeeded()
        if item.id in self._visible:
            row = self._visible[item.id]
            if item.in_flight:
                self._visible[item.id] = self._observe(row, item.status, now)
            else:
                del self._visible[item.id]
            return
        known = self._off_page.pop(item.id, None)
        if item.in_flight:
            self._off_page[item.id] = self._observe(known, item.status, now)
        else:
            self._pinned.discard(item.id)

    def request_gone(self, request_id: str) -> None:
        """Forget a request the API no longer knows (404)."""
        self._succeeded()
        self._off_page.pop(request_id, None)
        self._visible.pop(request_id, None)

    def failed(self, error: ApiError) -> None:
        """Pause polling in the way ``error`` calls for."""
        now = self.clock()
        self._failures += 1
        if isinstance(error, AuthError):
            self._pause(PauseReason.AUTH, None)
        elif isinstance(error, RateLimited):
            wait = error.retry_after
            if wait is None:
                wait = self._outage_wait()
            wait = min(wait, MAX_RETRY_AFTER)
            self._pause(PauseReason.RATE_LIMITED, now + wait)
        else:
            self._pause(PauseReason.OUTAGE, now + self._outage_wait())

    # -- what to do next -----------------------------------------------------

    @property
    def pause_reason(self) -> PauseReason | None:
        """Why polling is paused now, or ``None`` when it runs."""
        if self._user_paused:
            return PauseReason.USER
        if self._paused_until is not None and self._paused_until <= self.clock():
            return None
        return self._pause_reason

    @property
    def resume_at(self) -> float | None:
        """Clock time when a timed pause ends, for a visible countdown.

        ``None`` when not paused, and for pauses with no end of their own: a
        refused key, or the person's pause (even over an earlier rate limit).
        """
        if self.pause_reason in (None, PauseReason.USER):
            return None
        return self._paused_until

    @property
    def in_flight_count(self) -> int:
        """How many requests are being followed (visible and off the page)."""
        return len(self._visible) + len(self._off_page)

    def plan(self) -> Plan:
        """What to fetch now, and when to wake if nothing else happens."""
        now = self.clock()
        reason = self.pause_reason
        if reason is PauseReason.USER and self._page_wanted:
            # Paused means no polling, not a frozen screen: a page, filter or
            # refresh the person asks for is still read, once.
            return Plan(list_page=True, wake_at=now)
        if reason is not None:
            if self._paused_until is None or reason is PauseReason.USER:
                return Plan(wake_at=None)
            return Plan(wake_at=self._paused_until)
        list_page = self._page_wanted or any(
            row.due_at <= now for row in self._visible.values()
        )
        if not list_page and not self._visible and self._page_read_at is not None:
            list_page = now >= self._page_read_at + self.idle_interval
        get_ids: tuple[str, ...] = ()
        if any(row.due_at <= now for row in self._off_page.values()):
            get_ids = tuple(
                request_id
                for request_id, row in self._off_page.items()
                if self._is_due(row, now)
            )
        if list_page or get_ids:
            return Plan(list_page=list_page, get_ids=get_ids, wake_at=now)
        return Plan(wake_at=self._next_wake())

    # -- internals -----------------------------------------------------------

    def _observe(self, row: _Row | None, status: str, now: float) -> _Row:
        """Advance one row's schedule after the API described it at ``now``."""
        if row is None or row.status != status:
            return _Row(status, self.backoff.initial, now + self.backoff.initial)
        if self._is_due(row, now):
            row.delay = self.backoff.after(row.delay)
            row.due_at = now + row.delay
        return row

    def _is_due(self, row: _Row, now: float) -> bool:
        """Due now, or close enough to share a call that happens anyway.

        Only a row whose ``due_at`` has come starts a call (see :meth:`plan`);
        this wider test decides which rows ride along with it.
        """
        return row.due_at - now <= row.delay * self.slack

    def _follow_off_page(self, request_id: str, row: _Row) -> None:
        """Keep polling an in-flight request that left the page, within a bound."""
        self._off_page[request_id] = row
        while len(self._off_page) > self.max_off_page:
            oldest = next(iter(self._off_page))
            self._off_page.pop(oldest)
            self._pinned.discard(oldest)

    def _next_wake(self) -> float | None:
        """The earliest time any schedule needs attention."""
        times = [
            row.due_at for row in (*self._visible.values(), *self._off_page.values())
        ]
        if not self._visible and self._page_read_at is not None:
            times.append(self._page_read_at + self.idle_interval)
        return min(times) if times else None

    def _outage_wait(self) -> float:
        """2 s after the first failure, doubling, capped at ``outage_cap``.

        The exponent is bounded so a days-long outage cannot overflow a float.
        """
        doublings = min(self._failures - 1, 64)
        return float(min(2.0 * 2**doublings, self.outage_cap))

    def _pause(self, reason: PauseReason, until: float | None) -> None:
        self._pause_reason = reason
        self._paused_until = until

    def _clear_pause(self) -> None:
        self._pause_reason = None
        self._paused_until = None
        self._failures = 0

    def _succeeded(self) -> None:
        self._clear_pause()
