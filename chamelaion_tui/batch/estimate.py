"""How long a batch has left, and which of its jobs look stuck: the arithmetic.

Everything here works on plain seconds gathered by the tracker into a
:class:`Timing`, so the models can be tested with numbers alone and read
without any knowledge of requests or the API.

The ETA model. The jobs of a batch share some number of render workers. That
number is estimated as the largest count of jobs seen processing at the same
time (at least one). The work left is what the running jobs still need (a
typical processing time minus how long each has run, never below zero) plus a
full typical processing time for each queued job, and the time left is that
work divided by the workers, but never less than the longest single job still
to run. When nothing is running yet, the typical queue wait still to come is
added. Doing this with the 25th and then the 75th percentile of the processing
times (and queue waits) observed so far gives the low and the high end of the
range, which is then widened, if needed, to include a second opinion: the
jobs left divided by the rate at which the batch has finished jobs, measured
from server timestamps alone so a skewed local clock cannot bend it.

The stuck model. A processing job is stuck when it has been processing far
longer than the others took: more than ``factor`` times the 90th percentile of
the finished processing times, and at least ``floor``. A queued job is not
compared with how long the others queued, since in a batch sharing a few
workers the last jobs always wait far longer than the first; it is stuck when
the queue has stopped moving, that is when no job of the batch is processing
and none has started or finished for longer than the same kind of threshold
built from the observed queue waits. Without a few samples there is nothing to
compare with, and only the absolute ceiling applies: any job in flight for
longer than it, counted from its submission, is stuck.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

MIN_FINISHED = 3
"""Finished jobs needed before an ETA or a relative stuck threshold is given.

One or two jobs say too little about the rest; a range built on them would
swing wildly from one refresh to the next.
"""

LOW_QUANTILE = 0.25
"""The percentile of observed durations that gives the low end of the ETA."""

HIGH_QUANTILE = 0.75
"""The percentile of observed durations that gives the high end of the ETA."""

STUCK_QUANTILE = 0.9
"""The percentile of finished phases that a stuck job is compared with."""

STUCK_FACTOR = 3.0
"""How many times the 90th percentile a phase must last to count as stuck."""

STUCK_FLOOR = timedelta(minutes=2)
"""No job is called stuck by comparison before this long in one phase.

Without it, a batch of five-second jobs would flag a job after twenty seconds,
which is noise rather than news.
"""


LONGEST = timedelta(days=3650)
"""The largest time an estimate gives; absurd timestamps cannot overflow it."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """A range for the time a batch still needs, and what it rests on.

    ``low`` is at most ``high`` and neither is negative. ``samples`` is the
    number of finished jobs the range was computed from, so the UI can say
    how much to trust it.
    """

    low: timedelta
    high: timedelta
    samples: int


@dataclass(frozen=True, slots=True)
class Timing:
    """The durations a tracker observed in one batch, in seconds.

    The tracker fills it from its requests at one instant; the models below
    read only this. Every value is finite and not negative.
    """

    queue_waits: tuple[float, ...] = ()
    """Queue waits of jobs that have started (finished or running)."""
    processing: tuple[float, ...] = ()
    """Processing times of finished jobs."""
    running: tuple[float, ...] = ()
    """How long each job processing right now has been processing."""
    waiting: tuple[float, ...] = ()
    """How long each job queued right now has been queued."""
    parallelism: int = 1
    """The most jobs seen processing at the same time, at least 1."""
    finish_rate: float | None = None
    """Jobs finished per second over the batch's active span, if measurable."""

    @property
    def remaining(self) -> int:
        """Jobs that have not finished: the running and the queued."""
        return len(self.running) + len(self.waiting)


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0 to 1) of ``values``, interpolating linearly.

    Raises:
        ValueError: ``values`` is empty or ``q`` is outside [0, 1].
    """
    if not values:
        raise ValueError("the quantile of no values is undefined")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a quantile must be within [0, 1], got {q}")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    share = position - below
    return ordered[below] + (ordered[above] - ordered[below]) * share


def peak_overlap(intervals: Iterable[tuple[float, float]]) -> int:
    """The most intervals that are open at one instant.

    An interval ending exactly when another starts does not overlap it, so
    one worker doing jobs back to back counts as one. Inverted intervals
    (end before start) are ignored, since they come from inconsistent data.
    """
    events: list[tuple[float, int]] = []
    for start, end in intervals:
        if end < start:
            continue
        events.append((start, 1))
        events.append((end, -1))
    events.sort()
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def _time_left(timing: Timing, q: float) -> float:
    """Seconds the remaining jobs need if every duration is the ``q`` quantile."""
    typical = quantile(timing.processing, q)
    running_left = [max(typical - elapsed, 0.0) for elapsed in timing.running]
    queued = len(timing.waiting)
    work = sum(running_left) + queued * typical
    longest = max(running_left, default=0.0)
    left = max(work / max(timing.parallelism, 1), longest, typical if queued else 0.0)
    if queued and not timing.running and timing.queue_waits:
        waited = max(timing.waiting)
        left += max(quantile(timing.queue_waits, q) - waited, 0.0)
    return left


def estimate(timing: Timing) -> Estimate | None:
    """The range of time the batch still needs, or ``None`` without enough data.

    Nothing left to do gives a zero range, whatever was observed. Otherwise at
    least :data:`MIN_FINISHED` finished jobs are needed; see the module's
    docstring for the model.
    """
    samples = len(timing.processing)
    if timing.remaining == 0:
        return Estimate(timedelta(0), timedelta(0), samples)
    if samples < MIN_FINISHED:
        return None

    low = _time_left(timing, LOW_QUANTILE)
    high = max(_time_left(timing, HIGH_QUANTILE), low)
    rate = timing.finish_rate
    if rate is not None and math.isfinite(rate) and rate > 0:
        by_rate = timing.remaining / rate
        low, high = min(low, by_rate), max(high, by_rate)
    return Estimate(_seconds(low), _seconds(high), samples)


def stuck_threshold(
    finished: Sequence[float],
    *,
    factor: float = STUCK_FACTOR,
    floor: timedelta = STUCK_FLOOR,
) -> float | None:
    """Seconds in a phase after which a job is far slower than the others.

    ``finished`` holds how long the others took in that phase. Returns
    ``None`` when there are fewer than :data:`MIN_FINISHED` of them.
    """
    if len(finished) < MIN_FINISHED:
        return None
    usual = quantile(finished, STUCK_QUANTILE)
    return max(factor * usual, floor.total_seconds())


def _seconds(value: float) -> timedelta:
    """``value`` seconds as whole seconds, within zero and :data:`LONGEST`."""
    if not math.isfinite(value) or value >= LONGEST.total_seconds():
        return LONGEST
    return timedelta(seconds=round(max(value, 0.0)))
