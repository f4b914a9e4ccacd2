"""Pieces every benchmark section shares.

Progress lines go to stderr so stdout holds only the results; results are
plain-text tables; each target is a :class:`Check` collected for the summary;
worlds for the simulator are built here so sections agree on what "a finished
history" means.
"""

from __future__ import annotations

import math
import os
import selectors
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO

from chamelaion_tui.simulator import ManualClock, World

FINAL_STATUSES = frozenset({"completed", "failed"})
"""Statuses after which a job never changes again."""

HISTORY_AGE = 6 * 3600.0
"""Simulated seconds a finished-only world is moved past its epoch.

Six hours is far longer than any job of the simulator's generated history can
wait and render, so every job in it is final.
"""


def progress(message: str) -> None:
    """Tell the person running the benchmark what is happening (on stderr)."""
    stamp = time.strftime("%H:%M:%S")
    print(f"[bench {stamp}] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values``, interpolating between ranks.

    Returns NaN for no values, so an empty sample shows as "n/a", never as 0.
    """
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    weight = position - low
    return ordered[low] * (1 - weight) + ordered[high] * weight


def fmt(value: float, digits: int = 2, unit: str = "") -> str:
    """A number for a table cell: fixed decimals, "n/a" for NaN."""
    if math.isnan(value):
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def ratio(ours: float, baseline: float) -> float:
    """``ours / baseline``, NaN when the baseline is zero."""
    return ours / baseline if baseline else math.nan


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1
) -> str:
    """Format rows as an aligned plain-text table.

    The first ``left`` columns are left-aligned (labels); the others, numbers,
    are right-aligned.
    """
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if index < left else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


@dataclass(frozen=True, slots=True)
class Check:
    """One target of the benchmark and how the run measured against it."""

    section: str
    target: str
    measured: str
    passed: bool

    @property
    def verdict(self) -> str:
        """PASS or FAIL, for the summary table."""
        return "PASS" if self.passed else "FAIL"


def emit(text: str = "") -> None:
    """Write part of the results to stdout at once, so a crash loses nothing."""
    print(text, flush=True)


def read_until(stream: IO[bytes], needle: bytes, deadline: float) -> bytes | None:
    """Read a child's pipe until ``needle`` has arrived; None if it never does.

    Gives up at end of file or when ``time.perf_counter()`` passes
    ``deadline``, so a stuck child cannot hang the benchmark. Returns all
    bytes read so far, which may run past ``needle``.
    """
    seen = b""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while needle not in seen:
            remaining = deadline - time.perf_counter()
            if remaining <= 0 or not selector.select(remaining):
                return None
            chunk = os.read(stream.fileno(), 4096)
            if not chunk:
                return None
            seen += chunk
    return seen


def rss_bytes() -> int | None:
    """This process's resident memory now, from ``/proc/self/statm``.

    Returns None where that file does not exist (not Linux); the soak then
    reports RSS as unavailable rather than a peak value that cannot shrink.
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            resident_pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def scripted_world(seed: int, time_scale: float) -> World:
    """An empty world on the real monotonic clock, for a scripted job mix.

    No history and no arrivals: only the jobs the benchmark submits exist, so
    two worlds with the same seed given the same submissions play the same
    timings, and ``World.transitions`` is in ``time.monotonic`` seconds.
    """
    return World(
        seed=seed,
        time_scale=time_scale,
        clock=time.monotonic,
        history=0,
        arrivals=False,
    )


def finished_world(seed: int) -> World:
    """A world whose generated history is entirely finished, and stays so.

    The world's clock is a :class:`ManualClock` moved :data:`HISTORY_AGE`
    past the epoch once and then left alone, with the epoch set that far back
    so timestamps are in the real recent past. Nothing arrives, nothing moves:
    the state a dashboard sees when every job a person sent is done.

    Raises:
        RuntimeError: if some job is still in flight (the simulator's history
            generator changed); the idle figures would then be meaningless.
    """
    clock = ManualClock()
    epoch = datetime.now(UTC) - timedelta(seconds=HISTORY_AGE)
    world = World(seed=seed, clock=clock, arrivals=False, epoch=epoch)
    clock.advance(HISTORY_AGE)
    in_flight = world.jobs_in_flight()
    if in_flight:
        raise RuntimeError(f"the finished-only history still has {in_flight} jobs")
    return world
