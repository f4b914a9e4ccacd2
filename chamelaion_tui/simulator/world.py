"""The simulated account: every lip-sync job the fake API knows about.

A job is decided in full the moment it is created: when it was submitted, how
long it waits in the queue, how long it takes to render and whether it ends
completed or failed. Its status at any instant is then derived from the
simulated time, so reading the world is cheap and the same seed always tells
the same story, however often and whenever it is read.

Simulated time runs from the world's start: second 0 is the `epoch`, jobs of
the initial history have negative times, and `time_scale` sets how many
simulated seconds pass per second of the injected clock. New jobs arrive
lazily: nothing runs in the background, instead every read first creates the
arrivals that are due, then drops the oldest finished jobs beyond the cap.

The world does no I/O and guards its state with one lock, because the HTTP
server may run in a background thread while a benchmark reads it.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import quote

from chamelaion_tui.simulator import vocabulary
from chamelaion_tui.simulator.clock import Clock

Outcome = Literal["completed", "failed"]
"""How a finished job ends."""

Span = float | tuple[float, float]
"""A duration in simulated seconds: fixed, or drawn uniformly from (low, high)."""

JobJson = dict[str, str]
"""One job as the API returns it: only the fields present, all strings."""

MAX_JOBS = 5000
"""Default cap on how many jobs the world keeps; the oldest finished go first."""

MEAN_ARRIVAL_GAP = 20.0
"""Mean simulated seconds between two submissions arriving on their own."""

FAILURE_RATE = 0.15
"""Share of jobs that end failed when nothing else is asked for."""

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""How the API writes instants: UTC, whole seconds, a trailing Z."""

_IN_FLIGHT = ("queued", "processing")


@dataclass(frozen=True, slots=True)
class _Job:
    """One job's fixed plan; times are simulated seconds since the world's start."""

    id: str
    reference_id: str | None
    created: float
    started: float
    finished: float
    outcome: Outcome
    error_message: str | None

    def status_at(self, now: float) -> str:
        """Return the status this job has at simulated second `now`."""
        if now < self.started:
            return "queued"
        if now < self.finished:
            return "processing"
        return self.outcome


def _newest_first(job: _Job) -> tuple[int, str]:
    """Sort key of the API's order: newest `created_at` first, then by id.

    It compares `created_at` as shown, in whole seconds, so the order a client
    sees agrees with the fields it is given.
    """
    return (-math.floor(job.created), job.id)


def _natural_wait(rng: random.Random) -> float:
    """Draw a queue wait: usually seconds, now and then minutes when busy."""
    if rng.random() < 0.07:
        return rng.uniform(60.0, 400.0)
    return rng.uniform(2.0, 25.0)


def _natural_processing(rng: random.Random) -> float:
    """Draw how long rendering one job takes."""
    return rng.uniform(15.0, 120.0)


def _draw(
    rng: random.Random, span: Span | None, natural: Callable[[random.Random], float]
) -> float:
    """Return a duration from `span`, or from the natural distribution if None."""
    if span is None:
        return natural(rng)
    if isinstance(span, tuple):
        return rng.uniform(*span)
    return float(span)


def _check_span(name: str, span: Span | None) -> None:
    """Reject durations that are negative, infinite or an inverted range."""
    if span is None:
        return
    low, high = span if isinstance(span, tuple) else (span, span)
    if not (math.isfinite(low) and math.isfinite(high) and 0 <= low <= high):
        raise ValueError(f"{name} must be >= 0 seconds (low <= high), got {span!r}")


def _staggered(rng: random.Random, size: int, last: float) -> list[float]:
    """Return `size` submission times, oldest first, the last one at `last`.

    Jobs of a batch sent by a script arrive a fraction of a second apart.
    """
    times = [last]
    for _ in range(size - 1):
        times.append(times[-1] - rng.uniform(0.2, 1.5))
    times.reverse()
    return times


def _schedule(
    rng: random.Random,
    created: list[float],
    queue_wait: Span | None,
    processing: Span | None,
) -> list[tuple[float, float]]:
    """Return (started, finished) for each submission time in `created`.

    A batch left to the natural distributions shares a small pool of render
    workers, so its jobs start one after another and a large batch stays in
    flight for minutes. A scripted wait is taken literally.
    """
    pooled = queue_wait is None and len(created) > 1
    workers = rng.randint(3, 8) if pooled else 0
    busy_until: list[float] = []
    plan: list[tuple[float, float]] = []
    for submitted in created:
        start = submitted + _draw(rng, queue_wait, _natural_wait)
        duration = _draw(rng, processing, _natural_processing)
        if pooled:
            if len(busy_until) == workers:
                start = max(start, heapq.heappop(busy_until))
            heapq.heappush(busy_until, start + duration)
        plan.append((start, start + duration))
    return plan


class World:
    """The jobs of one simulated account, moving through their lifecycle.

    Every method that reads or adds jobs takes the lock and first brings the
    world up to the current simulated time: due arrivals are created, and the
    oldest finished jobs beyond the cap dropped.
    """

    def __init__(
        self,
        seed: int = 0,
        time_scale: float = 1.0,
        *,
        clock: Clock = time.monotonic,
        history: int = 237,
        arrivals: bool = True,
        epoch: datetime | None = None,
        max_jobs: int = MAX_JOBS,
        output_base: str = "http://127.0.0.1",
    ) -> None:
        """Create a world and its initial history.

        Args:
            seed: fixes ids, names, timings and outcomes.
            time_scale: simulated seconds per clock second; 10 runs ten times
                faster than real time.
            clock: monotonic seconds; a `ManualClock` in tests.
            history: how many jobs exist already, created in the past.
            arrivals: whether new jobs keep arriving as time passes.
            epoch: the UTC instant of simulated second 0; defaults to now,
                truncated to whole seconds.
            max_jobs: the most jobs kept; the oldest finished are dropped.
            output_base: origin that serves `/output/{id}.mp4`; the server
                sets it to its own address.
        """
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(
                f"time_scale must be a positive number, got {time_scale!r}"
            )
        if history < 0:
            raise ValueError(f"history must be >= 0, got {history}")
        if max_jobs < 1:
            raise ValueError(f"max_jobs must be >= 1, got {max_jobs}")
        if epoch is not None and epoch.tzinfo is None:
            raise ValueError("epoch must be timezone-aware")

        self._lock = threading.Lock()
        self._clock = clock
        self._clock_at_start = clock()
        self._time_scale = time_scale
        start = datetime.now(UTC) if epoch is None else epoch.astimezone(UTC)
        self._epoch = start.replace(microsecond=0)
        self._max_jobs = max_jobs
        self._output_base = output_base.rstrip("/")

        self._history_rng = random.Random(f"{seed}/history")
        self._arrival_rng = random.Random(f"{seed}/arrivals")
        self._scripted_rng = random.Random(f"{seed}/scripted")

        self._jobs: dict[str, _Job] = {}
        self._order: list[_Job] = []
        self._by_reference: dict[str, list[_Job]] = {}
        self._arrivals = arrivals
        self._next_arrival = self._arrival_rng.expovariate(1 / MEAN_ARRIVAL_GAP)

        self._seed_history(history)

    # -- time -----------------------------------------------------------------

    @property
    def epoch(self) -> datetime:
        """The UTC instant of simulated second 0."""
        return self._epoch

    @property
    def time_scale(self) -> float:
        """Simulated seconds per second of the clock."""
        return self._time_scale

    def elapsed(self) -> float:
        """Simulated seconds since the world started."""
        return (self._clock() - self._clock_at_start) * self._time_scale

    def now(self) -> datetime:
        """The current simulated UTC instant."""
        return self._epoch + timedelta(seconds=self.elapsed())

    def _to_clock(self, simulated: float) -> float:
        """Convert a simulated second into the clock's own units."""
        return self._clock_at_start + simulated / self._time_scale

    # -- reading --------------------------------------------------------------

    @property
    def output_base(self) -> str:
        """Origin that output URLs point at."""
        with self._lock:
            return self._output_base

    @output_base.setter
    def output_base(self, origin: str) -> None:
        with self._lock:
            self._output_base = origin.rstrip("/")

    def list_jobs(
        self, limit: int = 20, offset: int = 0, reference_id: str | None = None
    ) -> tuple[list[JobJson], int]:
        """Return one page of jobs, newest first, and the total that matched.

        `reference_id` filters by exact match. An offset past the end gives an
        empty page with the true total.
        """
        if limit < 1 or offset < 0:
            raise ValueError(f"need limit >= 1 and offset >= 0, got {limit}, {offset}")
        with self._lock:
            now = self._advance()
            if reference_id is None:
                matching = self._order
            else:
                matching = self._by_reference.get(reference_id, [])
            page = matching[offset : offset + limit]
            return [self._render(job, now) for job in page], len(matching)

    def get_job(self, id_or_reference: str) -> JobJson | None:
        """Return a job by id, else the newest job with that reference id."""
        with self._lock:
            now = self._advance()
            job = self._jobs.get(id_or_reference)
            if job is None:
                sharing = self._by_reference.get(id_or_reference)
                job = sharing[0] if sharing else None
            return None if job is None else self._render(job, now)

    def transitions(self, job_id: str) -> list[tuple[float, str]]:
        """Return (clock time, status) for each status the job has entered so far.

        Times are in the clock's units (real seconds when the clock is
        `time.monotonic`), so a benchmark can compare them with when a client
        noticed the change.

        Raises:
            KeyError: if no job has that id (it never existed or was dropped).
        """
        with self._lock:
            now = self._advance()
            job = self._jobs[job_id]
            entered = [(job.created, "queued")]
            if now >= job.started:
                entered.append((job.started, "processing"))
            if now >= job.finished:
                entered.append((job.finished, job.outcome))
            return [(self._to_clock(moment), status) for moment, status in entered]

    def jobs_in_flight(self) -> int:
        """Count the jobs that are queued or processing right now."""
        with self._lock:
            now = self._advance()
            return sum(1 for job in self._order if job.status_at(now) in _IN_FLIGHT)

    def job_count(self) -> int:
        """Count every job the world currently keeps."""
        with self._lock:
            self._advance()
            return len(self._jobs)

    # -- scripting --------------------------------------------------------------

    def add_job(
        self,
        reference_id: str | None = None,
        *,
        job_id: str | None = None,
        queue_wait: Span | None = None,
        processing: Span | None = None,
        outcome: Outcome | None = None,
        error_message: str | None = None,
    ) -> str:
        """Submit one job now and return its id.

        Args:
            reference_id: shared with other jobs or unique; None for none.
            job_id: a chosen id, e.g. one holding `/` or `%` to test encoding;
                a seeded UUID4 by default.
            queue_wait: simulated seconds before processing starts.
            processing: simulated seconds of processing.
            outcome: how it ends; drawn at the usual failure rate if None.
            error_message: the failure reason; implies a failed outcome.
        """
        if job_id is not None and not job_id:
            raise ValueError("job_id must not be empty")
        if error_message is not None and outcome == "completed":
            raise ValueError("a completed job has no error_message")
        _check_span("queue_wait", queue_wait)
        _check_span("processing", processing)
        if error_message is not None:
            outcome = "failed"
        with self._lock:
            if job_id is not None and job_id in self._jobs:
                raise ValueError(f"a job with id {job_id!r} already exists")
            now = self._advance()
            (job,) = self._plan(
                self._scripted_rng,
                reference_id,
                [now],
                queue_wait=queue_wait,
                processing=processing,
                outcome=outcome,
                error_message=error_message,
                job_id=job_id,
            )
            self._insert(job)
            self._evict(now)
            return job.id

    def add_batch(
        self,
        reference_id: str | None,
        count: int,
        *,
        queue_wait: Span | None = None,
        processing: Span | None = None,
        failure_rate: float = FAILURE_RATE,
    ) -> list[str]:
        """Submit `count` jobs sharing `reference_id` now; return their ids.

        Without a `queue_wait` the batch shares a small pool of workers like a
        real one; with it, each job waits exactly what was asked.
        """
        if count < 1:
            raise ValueError(f"a batch needs at least one job, got {count}")
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError(f"failure_rate must be within [0, 1], got {failure_rate}")
        _check_span("queue_wait", queue_wait)
        _check_span("processing", processing)
        with self._lock:
            now = self._advance()
            jobs = self._plan(
                self._scripted_rng,
                reference_id,
                [now] * count,
                queue_wait=queue_wait,
                processing=processing,
                failure_rate=failure_rate,
            )
            for job in jobs:
                self._insert(job)
            self._evict(now)
            return [job.id for job in jobs]

    # -- internals (the lock is held) --------------------------------------------

    def _advance(self) -> float:
        """Create the arrivals due by now (within the cap); return simulated now."""
        now = self.elapsed()
        if self._arrivals:
            self._create_arrivals(now)
        return now

    def _create_arrivals(self, now: float) -> None:
        """Create every arrival up to simulated second `now`.

        After a very long pause (a laptop asleep for a week) the arrivals that
        the cap would drop at once anyway are skipped rather than generated.
        """
        horizon = now - 2 * MEAN_ARRIVAL_GAP * self._max_jobs
        self._next_arrival = max(self._next_arrival, horizon)
        rng = self._arrival_rng
        while self._next_arrival <= now:
            at = self._next_arrival
            roll = rng.random()
            if roll < 0.25:
                size = rng.randint(3, 8)
                reference: str | None = self._batch_name(rng, at)
            elif roll < 0.7:
                size = 1
                reference = vocabulary.single_reference(rng)
            else:
                size = 1
                reference = None
            for job in self._plan(rng, reference, [at] * size):
                self._insert(job)
            self._evict(now)
            self._next_arrival += rng.expovariate(1 / MEAN_ARRIVAL_GAP)

    def _seed_history(self, count: int) -> None:
        """Create `count` jobs submitted before the world started.

        The newest is a batch still in flight, so a demo shows movement in its
        first minute; a few recent singles may still be running; a batch of
        more than two pages sits a few hours back; the rest is a mix of
        batches, singles with a reference and singles without, mostly
        finished long ago.
        """
        rng = self._history_rng
        left = count - self._seed_batch_in_flight(rng, count)
        large = rng.randint(41, 60) if left >= 90 else 0
        last = -rng.uniform(40.0, 90.0)
        groups = 0
        while left > 0:
            reference: str | None
            if large and (last < -2 * 3600 or left <= large):
                size = large
                reference = self._batch_name(rng, last)
                large = 0
            else:
                size, reference = self._history_group(rng, last, left - large)
            created = _staggered(rng, size, last)
            self._add_planned(self._plan(rng, reference, created))
            left -= size
            groups += 1
            gap = rng.uniform(20.0, 120.0) if groups < 5 else rng.expovariate(1 / 2400)
            last = created[0] - gap

    def _seed_batch_in_flight(self, rng: random.Random, at_most: int) -> int:
        """Create the batch sent just before the start; return its size.

        Sent 15-25 s before second 0, it is queued or rendering when the
        world starts, and finishes over the following minutes.
        """
        if at_most < 8:
            return 0
        size = min(rng.randint(8, 14), at_most)
        created = _staggered(rng, size, -rng.uniform(15.0, 25.0))
        reference = self._batch_name(rng, created[0])
        self._add_planned(self._plan(rng, reference, created))
        return size

    def _history_group(
        self, rng: random.Random, last: float, at_most: int
    ) -> tuple[int, str | None]:
        """Draw the size and reference of one past submission."""
        roll = rng.random()
        if roll < 0.45:
            spread = rng.random()
            if spread < 0.7:
                size = rng.randint(3, 12)
            elif spread < 0.95:
                size = rng.randint(13, 30)
            else:
                size = rng.randint(31, 60)
            return min(size, at_most), self._batch_name(rng, last)
        if roll < 0.8:
            return 1, vocabulary.single_reference(rng)
        return 1, None

    def _plan(
        self,
        rng: random.Random,
        reference_id: str | None,
        created: list[float],
        *,
        queue_wait: Span | None = None,
        processing: Span | None = None,
        failure_rate: float = FAILURE_RATE,
        outcome: Outcome | None = None,
        error_message: str | None = None,
        job_id: str | None = None,
    ) -> list[_Job]:
        """Decide everything about jobs submitted at the times in `created`."""
        jobs = []
        for submitted, (started, finished) in zip(
            created, _schedule(rng, created, queue_wait, processing), strict=True
        ):
            this_id = job_id or str(uuid.UUID(int=rng.getrandbits(128), version=4))
            ends: Outcome = outcome or (
                "failed" if rng.random() < failure_rate else "completed"
            )
            reason = None
            if ends == "failed":
                reason = error_message or vocabulary.error_message(rng)
            jobs.append(
                _Job(this_id, reference_id, submitted, started, finished, ends, reason)
            )
        return jobs

    def _add_planned(self, jobs: list[_Job]) -> None:
        """Insert jobs of the initial history and keep within the cap."""
        for job in jobs:
            self._insert(job)
        self._evict(0.0)

    def _insert(self, job: _Job) -> None:
        """Index a new job by id, by order and by reference id."""
        self._jobs[job.id] = job
        bisect.insort(self._order, job, key=_newest_first)
        if job.reference_id is not None:
            sharing = self._by_reference.setdefault(job.reference_id, [])
            bisect.insort(sharing, job, key=_newest_first)

    def _evict(self, now: float) -> None:
        """Drop the oldest finished jobs until at most `max_jobs` remain.

        If every job is somehow still in flight the oldest goes regardless:
        the bound on memory matters more than one stale row.
        """
        while len(self._jobs) > self._max_jobs:
            index = len(self._order) - 1
            while index > 0 and self._order[index].finished > now:
                index -= 1
            if self._order[index].finished > now:
                index = len(self._order) - 1
            job = self._order.pop(index)
            del self._jobs[job.id]
            if job.reference_id is not None:
                sharing = self._by_reference[job.reference_id]
                sharing.remove(job)
                if not sharing:
                    del self._by_reference[job.reference_id]

    def _render(self, job: _Job, now: float) -> JobJson:
        """Return the job as the API shows it at simulated second `now`."""
        status = job.status_at(now)
        shown: JobJson = {"id": job.id}
        if job.reference_id is not None:
            shown["reference_id"] = job.reference_id
        shown["status"] = status
        shown["created_at"] = self._stamp(job.created)
        if now >= job.started:
            shown["started_at"] = self._stamp(job.started)
        if now >= job.finished:
            shown["finished_at"] = self._stamp(job.finished)
        if status == "completed":
            shown["output_url"] = (
                f"{self._output_base}/output/{quote(job.id, safe='')}.mp4"
            )
        elif status == "failed" and job.error_message is not None:
            shown["error_message"] = job.error_message
        return shown

    def _stamp(self, simulated: float) -> str:
        """Format a simulated second the way the API writes timestamps."""
        instant = self._epoch + timedelta(seconds=math.floor(simulated))
        return instant.strftime(TIMESTAMP_FORMAT)

    def _batch_name(self, rng: random.Random, simulated: float) -> str:
        """A reference id for a batch sent at a simulated second, not in use."""
        day = (self._epoch + timedelta(seconds=simulated)).date()
        return vocabulary.batch_reference(rng, day, self._by_reference)
