"""Section B: what the real dashboard costs while nothing is in flight.

The real :class:`ChamelaionApp` runs headless (``App.run_test`` at 160x45,
notifications on) in the main thread against the simulator in its own thread,
serving a finished-only history. Once the first page is on screen, the
benchmark measures for a fixed span of real time: CPU of the app's thread
(``time.thread_time``, read inside the app's event loop, so the simulator's
thread is not counted) and requests the simulator received.

Headless means Textual still lays out and renders every frame, but skips
writing the escape sequences to a terminal; a real terminal adds that cost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.common import Check, emit, finished_world, fmt, progress, table
from chamelaion_tui.api import ChamelaionClient
from chamelaion_tui.simulator import RunningSimulator, SimulatorThread
from chamelaion_tui.tui import ChamelaionApp, DashboardOptions

SIZE = (160, 45)
"""The headless terminal size, as in the product's own tests."""

IDLE_REQUEST_INTERVAL = 30.0
"""Target: at most one request per this many seconds beyond the first load."""

CPU_TARGET_PERCENT = 0.5
"""Target: idle CPU below this percentage of one core."""

FIRST_PAGE_TIMEOUT = 30.0
"""Real seconds to wait for the first page before giving up."""

SEED = 11
"""Seed of the finished-only history."""


@dataclass(frozen=True, slots=True)
class IdleResult:
    """CPU and requests of the app over one idle window."""

    seconds: float
    thread_cpu: float
    """CPU seconds of the app's thread over the window."""
    process_cpu: float
    """CPU seconds of the whole process (app and simulator threads)."""
    requests: int
    """Requests the simulator received during the window."""
    first_load_requests: int
    """Requests the simulator received before the window (the first load)."""

    @property
    def percent_of_core(self) -> float:
        """The app thread's CPU as a percentage of one core."""
        return 100.0 * self.thread_cpu / self.seconds


async def wait_until(condition: Callable[[], bool], within: float, what: str) -> None:
    """Poll ``condition`` every 20 ms until true.

    Raises:
        TimeoutError: if it is still false after ``within`` seconds.
    """
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {within:g} s")
        await asyncio.sleep(0.02)


async def measure_idle_app(running: RunningSimulator, seconds: float) -> IdleResult:
    """Run the dashboard until its first page shows, then measure ``seconds``."""
    client = ChamelaionClient(running.base_url, running.api_key)
    app = ChamelaionApp(client, DashboardOptions())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(lambda: bool(app.table.order), FIRST_PAGE_TIMEOUT, "rows")
        await pilot.pause(0)
        first_load = running.stats.requests()
        thread_started = time.thread_time()
        process_started = time.process_time()
        started = time.monotonic()
        await asyncio.sleep(seconds)
        thread_cpu = time.thread_time() - thread_started
        process_cpu = time.process_time() - process_started
        elapsed = time.monotonic() - started
        requests = running.stats.requests() - first_load
    return IdleResult(elapsed, thread_cpu, process_cpu, requests, first_load)


def run_section(quick: bool) -> list[Check]:
    """Measure the idle app and print the table; return the targets."""
    seconds = 5.0 if quick else 60.0
    emit()
    emit("=" * 78)
    emit("B. Idle: the real dashboard with nothing in flight")
    emit("=" * 78)
    emit(
        "The real ChamelaionApp, headless (Textual's run_test, 160x45), against "
        "the\nsimulator (its own thread) serving a finished-only history. After "
        "the first page\nis on screen: CPU of the app's thread (time.thread_time "
        "read in the app's event\nloop; the simulator thread is not counted) "
        f"and requests received, over {seconds:g} s\nof real time. Headless: "
        "Textual lays out and renders every frame but writes\nnothing to a "
        "terminal."
    )
    progress(f"B: idle dashboard for {seconds:g} s")
    with SimulatorThread(world=finished_world(SEED)) as running:
        result = asyncio.run(measure_idle_app(running, seconds))
    allowed = int(result.seconds // IDLE_REQUEST_INTERVAL)
    emit(
        table(
            ["", "value"],
            [
                ["window (real s)", fmt(result.seconds, 1)],
                ["requests for the first load", f"{result.first_load_requests}"],
                ["requests in the window", f"{result.requests}"],
                ["app thread CPU (s)", fmt(result.thread_cpu, 3)],
                ["app thread CPU (% of one core)", fmt(result.percent_of_core, 3)],
                ["whole process CPU (s, incl. simulator)", fmt(result.process_cpu, 3)],
            ],
        )
    )
    return [
        Check(
            "B idle",
            f"<= 1 request per {IDLE_REQUEST_INTERVAL:g} s beyond the first load",
            f"{result.requests} in {result.seconds:.0f} s (allowed {allowed})",
            result.requests <= allowed,
        ),
        Check(
            "B idle",
            f"app CPU < {CPU_TARGET_PERCENT:g}% of one core",
            f"{fmt(result.percent_of_core, 3)}% ({fmt(result.thread_cpu, 3)} s "
            f"in {result.seconds:.0f} s)",
            result.percent_of_core < CPU_TARGET_PERCENT,
        ),
    ]
