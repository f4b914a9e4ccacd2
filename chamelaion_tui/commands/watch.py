"""``watch``: wait until some requests, or a whole batch, have finished.

It replaces the polling snippet of the API's documentation with the
dashboard's own engine. A :class:`RefreshPolicy` decides what to read when
(each in-flight request on its own backoff, 2 s then x1.5 up to 15 s; one list
call refreshes every due request of a batch page; a 429 waits for its
``Retry-After``; an outage backs off) and a :class:`Refresher` carries the
plans out. The watch calls :meth:`Refresher.run_once` itself and sleeps
through an injected clock, so the timeout and a test's simulated time are the
same thing and a finished watch returns at once.

What is followed:

* ``watch ID...``: each id is pinned in the policy and read by id. Nothing
  else is read (the policy's page is marked read and never re-read).
* ``watch --reference-id REF``: the batch is the policy's view, its newest
  100 requests read as one page. A batch larger than that is read through to
  its end once, at the start; its older requests still in flight are then
  pinned and read by id. Requests that join the batch while it is watched
  appear on the first page and are watched too.

The watch ends when every watched request is final: exit 0 when all
completed, 1 when any did not (failed, an undocumented final status, or
vanished from the API), 3 when the timeout passed first, 2 for a refused key,
an unknown id or an empty batch.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from chamelaion_tui.api import (
    MAX_PAGE_SIZE,
    ApiError,
    AuthError,
    ChamelaionClient,
    LipsyncRequest,
    NotFound,
    RequestRejected,
    Status,
    visible,
)
from chamelaion_tui.commands import exits
from chamelaion_tui.commands.records import (
    duration,
    json_line,
    outcome_text,
    stamp,
)
from chamelaion_tui.commands.runtime import Console
from chamelaion_tui.refresh import (
    PageLoaded,
    Refresher,
    RefreshEvent,
    RefreshFailed,
    RefreshPolicy,
    RequestGone,
    RequestLoaded,
    View,
)

BATCH_PAGE = MAX_PAGE_SIZE
"""How many requests of a batch are re-read with one list call."""

LIVE_TICK = 1.0
"""Seconds between redraws of the live line on a terminal."""

CYCLE_GUARD = 1.0
"""The least time a refresh cycle is given when the timeout is near, so a
hung API cannot hold the watch far past its timeout."""

NOT_SEEN = "waiting"
"""The tally's name for ids that have not been read yet."""

GONE = "gone"
"""The tally's name for requests the API stopped knowing while watched."""

TALLY_ORDER = (NOT_SEEN, *(status.value for status in Status), GONE)


class Outcome(StrEnum):
    """How a watch ended."""

    COMPLETED = "completed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    ERROR = "error"

    @property
    def exit_status(self) -> int:
        """The process exit status for this outcome."""
        return {
            Outcome.COMPLETED: exits.OK,
            Outcome.FAILED: exits.FAILED,
            Outcome.TIMEOUT: exits.TIMEOUT,
            Outcome.ERROR: exits.USAGE,
        }[self]


@dataclass(frozen=True, slots=True)
class WatchTarget:
    """What to watch: explicit ids, or every request of one batch."""

    ids: tuple[str, ...] = ()
    reference_id: str | None = None

    def describe(self) -> str:
        """A short label for the live line."""
        if self.reference_id is not None:
            return f"batch {visible(self.reference_id, limit=40)}"
        count = len(self.ids)
        return f"{count} request{'s' if count != 1 else ''}"


@dataclass(frozen=True, slots=True)
class Summary:
    """The end of a watch, as every reporter writes it."""

    outcome: Outcome
    tally: dict[str, int]
    unfinished: tuple[LipsyncRequest, ...]
    """Requests that ended in anything but ``completed``."""
    elapsed: float
    message: str | None = None
    """Why the watch stopped with an error (exit 2)."""


class Reporter(Protocol):
    """Writes what the watch sees, for a person or for a program."""

    animated: bool
    """Wants :meth:`progress` about once a second, to redraw a live line."""

    def changed(self, item: LipsyncRequest, previous: str | None) -> None:
        """A request was seen for the first time, or its status changed."""

    def progress(self, tally: dict[str, int], elapsed: float) -> None:
        """The counts now; called after each cycle and each tick."""

    def problem(self, error: ApiError, wait: float | None) -> None:
        """Reading failed; the watch tries again after ``wait`` seconds."""

    def finished(self, summary: Summary) -> None:
        """The watch is over."""


class Watch:
    """Follows the target until every request is final, or time runs out.

    Args:
        client: Where to read from.
        target: Ids or a batch.
        reporter: Where to tell what happens.
        clock: Monotonic seconds, shared with the refresh policy.
        sleep: Waits that many clock seconds.
        timeout: Clock seconds from the start after which the watch gives up.
    """

    def __init__(
        self,
        client: ChamelaionClient,
        target: WatchTarget,
        reporter: Reporter,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        timeout: float | None = None,
    ) -> None:
        self._client = client
        self._target = target
        self._reporter = reporter
        self._clock = clock
        self._sleep = sleep
        self._timeout = timeout
        if target.reference_id is not None:
            view = View(reference_id=target.reference_id, limit=BATCH_PAGE)
            self._policy = RefreshPolicy(clock=clock, view=view)
        else:
            # No page belongs to an id watch: the policy's page is marked as
            # read with nothing on it, and never due again.
            self._policy = RefreshPolicy(clock=clock, idle_interval=math.inf)
            self._policy.page_loaded([])
            self._policy.max_off_page = max(len(target.ids), BATCH_PAGE)
        self._refresher = Refresher(client, self._policy, self._on_event)
        self._records: dict[str, LipsyncRequest | None] = dict.fromkeys(target.ids)
        self._gone: set[str] = set()
        self._fatal: str | None = None
        self._page_seen = False
        self._older_total = 0
        """For a batch beyond one page: its total, until the rest is read."""

    async def run(self) -> Outcome:
        """Watch until the end; report it and return how it ended."""
        start = self._clock()
        deadline = None if self._timeout is None else start + self._timeout
        for request_id in self._target.ids:
            self._policy.pin(request_id)
        while True:
            in_time = await self._cycle(deadline)
            now = self._clock()
            if self._fatal is not None:
                return self._end(Outcome.ERROR, now - start)
            if self._finished():
                failed = bool(self._not_completed())
                outcome = Outcome.FAILED if failed else Outcome.COMPLETED
                return self._end(outcome, now - start)
            if not in_time or (deadline is not None and now >= deadline):
                return self._end(Outcome.TIMEOUT, now - start)
            self._reporter.progress(self.tally(), now - start)
            await self._sleep(self._wait(now, deadline))

    def tally(self) -> dict[str, int]:
        """How many watched requests are in each status, in a fixed order."""
        counts = Counter(
            NOT_SEEN if item is None else visible(item.status, limit=30)
            for request_id, item in self._records.items()
            if request_id not in self._gone
        )
        counts[GONE] = len(self._gone)
        known = {name: counts[name] for name in TALLY_ORDER if counts[name]}
        others = {name: n for name, n in counts.items() if name not in TALLY_ORDER}
        return known | dict(sorted(others.items()))

    # -- one step ------------------------------------------------------------

    async def _cycle(self, deadline: float | None) -> bool:
        """Run one refresh cycle; False if the deadline passed during it."""
        work = self._refresh()
        if deadline is None:
            await work
            return True
        guard = max(deadline - self._clock(), CYCLE_GUARD)
        try:
            await asyncio.wait_for(work, guard)
        except TimeoutError:
            return False
        return True

    async def _refresh(self) -> None:
        """What the refresher plans, then (once) the rest of a large batch."""
        await self._refresher.run_once()
        paused = self._policy.pause_reason is not None
        if self._older_total and self._fatal is None and not paused:
            await self._read_older()

    async def _read_older(self) -> None:
        """Read a large batch beyond its first page once; pin what is in flight.

        A failure pauses the policy as a refresh failure would; the next cycle
        after the pause tries again.
        """
        assert self._target.reference_id is not None
        offset, total = BATCH_PAGE, self._older_total
        try:
            while offset < total:
                page = await self._client.list_requests(
                    limit=BATCH_PAGE,
                    offset=offset,
                    reference_id=self._target.reference_id,
                )
                for item in page.items:
                    if item.id not in self._records:
                        self._observe(item)
                        if item.in_flight:
                            self._policy.max_off_page += 1
                            self._policy.pin(item.id)
                if not page.items:
                    break
                offset += BATCH_PAGE
                total = page.pagination.total
        except ApiError as error:
            self._policy.failed(error)
            self._on_event(
                RefreshFailed(error, self._policy.pause_reason, self._policy.resume_at)
            )
            return
        self._older_total = 0

    def _wait(self, now: float, deadline: float | None) -> float:
        """Seconds until the policy wants to read again, the deadline or a tick."""
        wake = self._policy.plan().wake_at
        if wake is None or not math.isfinite(wake):
            wake = now + self._policy.backoff.cap
        if deadline is not None:
            wake = min(wake, deadline)
        if self._reporter.animated:
            wake = min(wake, now + LIVE_TICK)
        return max(wake - now, 0.0)

    # -- what the refresher saw ----------------------------------------------

    def _on_event(self, event: RefreshEvent) -> None:
        """Record what one refresh brought."""
        if isinstance(event, PageLoaded):
            self._page_loaded(event)
        elif isinstance(event, RequestLoaded):
            self._request_loaded(event.request)
        elif isinstance(event, RequestGone):
            self._request_gone(event.request_id)
        elif isinstance(event.error, AuthError):
            self._fatal = event.error.message
        elif isinstance(event.error, NotFound | RequestRejected):
            # Only a list call fails like this (a GET's 404 is RequestGone):
            # a wrong base URL or a refused query, the same on every try.
            self._fatal = f"{event.error.message}; is the base URL right?"
        else:
            wait = None
            if event.resume_at is not None:
                wait = max(event.resume_at - self._clock(), 0.0)
            self._reporter.problem(event.error, wait)

    def _page_loaded(self, event: PageLoaded) -> None:
        """The batch page: every request on it is watched."""
        first = not self._page_seen
        self._page_seen = True
        for item in event.page.items:
            self._observe(item)
        total = event.page.pagination.total
        if first and not event.page.items and total == 0:
            reference = visible(self._target.reference_id, limit=100)
            self._fatal = f"no requests have reference_id {reference!r}"
        elif first and total > BATCH_PAGE:
            self._older_total = total

    def _request_loaded(self, item: LipsyncRequest) -> None:
        """A request read by id: watched, or the answer to a mistaken id."""
        if item.id in self._records:
            self._observe(item)
            return
        waiting = {key for key, seen in self._records.items() if seen is None}
        if item.reference_id in waiting:
            reference = visible(item.reference_id, limit=100)
            self._fatal = (
                f"{reference!r} is a reference_id, not a request id; to watch "
                f"its batch use: watch --reference-id {reference}"
            )
        else:
            self._fatal = (
                f"asked for one request by id, the API answered with another "
                f"({visible(item.id, limit=100)!r})"
            )

    def _request_gone(self, request_id: str) -> None:
        """The API does not know a watched request (404, or refused the id)."""
        if request_id not in self._records:
            return
        if self._records[request_id] is None:
            self._fatal = f"no request has id {visible(request_id, limit=100)!r}"
        else:
            self._gone.add(request_id)

    def _observe(self, item: LipsyncRequest) -> None:
        """Keep the latest state of a request and report a change of status."""
        previous = self._records.get(item.id)
        self._records[item.id] = item
        self._gone.discard(item.id)
        if previous is None or previous.status != item.status:
            self._reporter.changed(item, None if previous is None else previous.status)

    # -- the end -------------------------------------------------------------

    def _finished(self) -> bool:
        """Whether every watched request is final (and all of them are known)."""
        batch = self._target.reference_id is not None
        if batch and (not self._page_seen or self._older_total):
            return False
        return bool(self._records) and all(
            request_id in self._gone or (item is not None and not item.in_flight)
            for request_id, item in self._records.items()
        )

    def _not_completed(self) -> tuple[LipsyncRequest, ...]:
        """Watched requests that ended in anything but ``completed``, so far.

        One the API stopped knowing counts too: nobody can fetch its output.
        """
        return tuple(
            item
            for request_id, item in self._records.items()
            if item is not None
            and (
                request_id in self._gone
                or (not item.in_flight and item.status != Status.COMPLETED)
            )
        )

    def _end(self, outcome: Outcome, elapsed: float) -> Outcome:
        """Report the end and return ``outcome``."""
        self._reporter.finished(
            Summary(
                outcome=outcome,
                tally=self.tally(),
                unfinished=self._not_completed(),
                elapsed=elapsed,
                message=self._fatal,
            )
        )
        return outcome


# -- reporters -----------------------------------------------------------------


def _counts(tally: dict[str, int]) -> str:
    """``3 queued · 2 processing · 7 completed``."""
    return " · ".join(f"{count} {name}" for name, count in tally.items()) or "nothing"


def _ending(summary: Summary) -> str:
    """The last line of a watch, for a person."""
    took = duration_seconds(summary.elapsed)
    total = sum(summary.tally.values())
    noun = "request" if total == 1 else "requests"
    if summary.outcome is Outcome.COMPLETED:
        return f"all {total} {noun} completed in {took}"
    if summary.outcome is Outcome.FAILED:
        bad = len(summary.unfinished)
        return f"{bad} of {total} {noun} did not complete ({_counts(summary.tally)})"
    if summary.outcome is Outcome.TIMEOUT:
        return f"timed out after {took}: {_counts(summary.tally)}"
    return f"stopped: {summary.message}"


def duration_seconds(seconds: float) -> str:
    """Clock seconds as the short form used in output."""
    return duration(timedelta(seconds=max(seconds, 0.0)))


@dataclass
class LinesReporter:
    """One plain line per change, for a pipe or a log file."""

    console: Console
    wall_clock: Callable[[], datetime]
    animated: bool = False

    def changed(self, item: LipsyncRequest, previous: str | None) -> None:
        """``<time>  <status>  <id>  <reference>  <output or error>``."""
        parts = [
            stamp(self.wall_clock()) or "",
            self.console.status(item.status, visible(item.status, limit=30).ljust(10)),
            visible(item.id, limit=100),
            visible(item.reference_id or "-", limit=100),
        ]
        if not item.in_flight:
            parts.append(outcome_text(item))
        self.console.line("  ".join(parts).rstrip())

    def progress(self, tally: dict[str, int], elapsed: float) -> None:
        """Nothing between changes: a pipe gets no animation."""

    def problem(self, error: ApiError, wait: float | None) -> None:
        """One line on stderr."""
        self.console.warn(_problem_text(error, wait))

    def finished(self, summary: Summary) -> None:
        """The summary line (on stderr when stopped by an error)."""
        if summary.outcome is Outcome.ERROR:
            self.console.warn(summary.message or "stopped")
        else:
            self.console.line(_ending(summary))


@dataclass
class LiveReporter:
    """A terminal: one line redrawn in place, finished requests above it.

    With ``bell``, a request that fails rings the terminal bell, as it does
    in the dashboard.
    """

    console: Console
    label: str
    bell: bool = False
    animated: bool = True
    _frame: int = 0
    _frames: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        """Pick spinner frames the terminal's encoding can show."""
        self._frames = tuple("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏" if self.console.unicode else "|/-\\")

    def changed(self, item: LipsyncRequest, previous: str | None) -> None:
        """Print a line for a request that just finished."""
        if item.in_flight:
            return
        mark = {"completed": "✓", "failed": "✗"}.get(item.status, "•")
        if not self.console.unicode:
            mark = {"completed": "+", "failed": "x"}.get(item.status, "*")
        status = f"{mark} {visible(item.status, limit=30).ljust(10)}"
        words = [
            visible(item.id, limit=100),
            visible(item.reference_id or "-", limit=40),
        ]
        # Whatever room the line has left goes to the output URL or error,
        # so a line never wraps (counted without the colour codes).
        room = self.console.width - len(status) - sum(len(w) + 1 for w in words) - 2
        if room >= 12:
            words.append(outcome_text(item, limit=room))
        text = " ".join((self.console.status(item.status, status), *words))
        self.console.line(text.rstrip())
        if self.bell and item.status == Status.FAILED:
            self.console.bell()

    def progress(self, tally: dict[str, int], elapsed: float) -> None:
        """Redraw the live line with the counts and the time so far."""
        spinner = self._frames[self._frame % len(self._frames)]
        self._frame += 1
        took = duration_seconds(elapsed)
        self.console.show_live(f"{spinner} {self.label} · {_counts(tally)} · {took}")

    def problem(self, error: ApiError, wait: float | None) -> None:
        """One line on stderr; the live line is redrawn after it."""
        self.console.warn(_problem_text(error, wait))

    def finished(self, summary: Summary) -> None:
        """Replace the live line with the summary; ring the bell if asked."""
        self.console.clear_live()
        if summary.outcome is Outcome.ERROR:
            self.console.warn(summary.message or "stopped")
            return
        colour = {
            Outcome.COMPLETED: "completed",
            Outcome.FAILED: "failed",
        }.get(summary.outcome, "processing")
        self.console.line(self.console.status(colour, _ending(summary)))


@dataclass
class JsonReporter:
    """JSON lines: one object per change and a summary object at the end."""

    console: Console
    wall_clock: Callable[[], datetime]
    animated: bool = False

    def changed(self, item: LipsyncRequest, previous: str | None) -> None:
        """``{"event": "status", "id": ..., "status": ..., "at": ...}``."""
        data: dict[str, object] = {
            "event": "status",
            "at": stamp(self.wall_clock()),
            "id": item.id,
            "reference_id": item.reference_id,
            "status": item.status,
            "previous": previous,
        }
        if item.output_url is not None:
            data["output_url"] = item.output_url
        if item.error_message is not None:
            data["error_message"] = item.error_message
        self.console.line(json_line(data))
        self.console.out.flush()

    def progress(self, tally: dict[str, int], elapsed: float) -> None:
        """Nothing between changes."""

    def problem(self, error: ApiError, wait: float | None) -> None:
        """One plain line on stderr; stdout stays JSON."""
        self.console.warn(_problem_text(error, wait))

    def finished(self, summary: Summary) -> None:
        """The summary object (and, for an error, a line on stderr)."""
        data: dict[str, object] = {
            "event": "summary",
            "at": stamp(self.wall_clock()),
            "outcome": summary.outcome.value,
            "exit_status": summary.outcome.exit_status,
            "counts": summary.tally,
            "not_completed": [item.id for item in summary.unfinished],
            "elapsed_seconds": round(summary.elapsed, 3),
        }
        if summary.message is not None:
            data["error"] = summary.message
            self.console.warn(summary.message)
        self.console.line(json_line(data))


def _problem_text(error: ApiError, wait: float | None) -> str:
    """A failed read, in one line: what happened and when the next try is."""
    text = f"{error.title.lower()}: {visible(error.message, limit=300)}"
    if wait is not None:
        text += f"; trying again in {math.ceil(wait)} s"
    return text
