"""Section D: does the real app hold steady over many refresh cycles?

The real :class:`ChamelaionApp` runs headless (``App.run_test`` at 160x45,
notifications on, its own background refresher off) against a simulator in a
separate process (:mod:`benchmarks.sim_process`) whose jobs keep arriving and
finishing, time-compressed, so the first page keeps changing and rows keep
being pushed off it. The benchmark drives the app's own refresher as fast as
it goes: each cycle asks for everything now (``policy.refresh_now()``) and
runs one refresh (``refresher.run_once()``); every few cycles it waits until
the app and every widget have handled their messages (``pilot.pause(0)``).

It samples the app's process after a few cycles and after many:

* resident set size, from ``/proc/self/statm``;
* memory blocks the interpreter has allocated (``sys.getallocatedblocks``)
  and objects the garbage collector tracks, both after ``gc.collect()``;
* live asyncio tasks, ``len(asyncio.all_tasks())`` in the app's loop;
* pending Textual timers: every Textual object keeps its timers in a private
  ``_timers`` set (``MessagePump._timers`` in textual 8.2); counted over the
  app and every node in ``App._registry`` (all mounted screens and widgets),
  a timer counting as pending while its task has not finished;
* Python heap in use, ``tracemalloc`` current after ``gc.collect()``, in a
  second, shorter run with tracing on from before the app starts. Tracing
  makes each cycle several times slower, so that run is shorter unless
  ``--soak-traced-cycles`` asks for more.

The simulator runs in its own process so its world, which grows as jobs
arrive, does not count as the app's memory.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from textual.app import App
from textual.message_pump import MessagePump
from textual.pilot import Pilot

from benchmarks.common import Check, emit, fmt, progress, read_until, rss_bytes, table
from chamelaion_tui.api import ChamelaionClient
from chamelaion_tui.tui import ChamelaionApp, DashboardOptions

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Where ``python -m benchmarks.sim_process`` resolves the package from."""

SIZE = (160, 45)
"""The headless terminal size."""

TIME_SCALE = 2.0
"""How much faster than real time the soak's simulated jobs live.

Fast enough that jobs arrive, move, finish and leave the page during the run;
slow enough that not every cycle changes the table: each change costs the app
a full table render (tens of milliseconds), and 10,000 cycles should take
minutes, not an hour.
"""

PAUSE_EVERY = 5
"""Cycles between two waits for the UI to handle all its messages."""

MEMORY_TARGET = 5 * 1024 * 1024
"""Target: memory grows by less than this between the two samples."""

SIMULATOR_TIMEOUT = 30.0
"""Real seconds to wait for the simulator process to start or to stop."""

TOAST_WAIT_LIMIT = 40.0
"""Real seconds to wait at a sample for notifications on screen to expire."""

TOAST_POLL = 0.2
"""Real seconds between two looks for notifications still on screen."""

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SoakPlan:
    """How many cycles each run does, and after which it samples.

    The targets compare the first sample with the last; the ones between show
    whether any growth levels off (a cache filling up) or keeps going (a leak).
    """

    checkpoints: tuple[int, ...]
    """The untraced run's samples, in increasing order."""
    traced_checkpoints: tuple[int, ...]
    """The tracemalloc run's samples, usually over fewer cycles."""

    @classmethod
    def for_run(cls, quick: bool, traced_cycles: int | None) -> SoakPlan:
        """The brief's plan (100 to 10,000 cycles), or 20 to 200 when quick."""
        if quick:
            return cls((20, 100, 200), (20, traced_cycles or 100))
        traced_last = traced_cycles or 500
        traced = (
            (100, traced_last // 2, traced_last)
            if traced_last >= 400
            else (
                100,
                traced_last,
            )
        )
        return cls((100, 1_000, 2_500, 5_000, 7_500, 10_000), traced)


@dataclass(frozen=True, slots=True)
class Sample:
    """The app's footprint after ``cycle`` refresh cycles."""

    cycle: int
    rss: int | None
    blocks: int
    """``sys.getallocatedblocks()`` after a full collection."""
    gc_objects: int
    """Objects the garbage collector tracks after a full collection."""
    traced_bytes: int | None
    """tracemalloc current, or None when not tracing."""
    tasks: int
    timers: int
    in_flight: int
    """Requests the app's policy follows at that moment (page and off-page)."""
    toasts: int
    """Notifications on screen when the checkpoint came; let expire first."""
    task_names: frozenset[str]
    """Names of the live asyncio tasks, to say which ones appeared."""
    seconds: float
    """Real seconds since the first cycle started."""


class SimulatorProcess:
    """A :mod:`benchmarks.sim_process` child, started and stopped with ``with``.

    Its stderr is this process's, so a failure in it shows among the progress
    lines.
    """

    def __init__(self, time_scale: float, max_seconds: float) -> None:
        self._command = [
            sys.executable,
            "-m",
            "benchmarks.sim_process",
            "--time-scale",
            str(time_scale),
            "--max-seconds",
            str(max_seconds),
        ]
        self._child: subprocess.Popen[bytes] | None = None
        self.hello: dict[str, Any] = {}
        """What the simulator said on start: base_url, api_key, now."""
        self.report: dict[str, Any] = {}
        """What it said on stop: requests per route, jobs, jobs in flight."""

    def __enter__(self) -> SimulatorProcess:
        """Start the child and wait for it to say where it listens."""
        self._child = subprocess.Popen(
            self._command,
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._child.stdout is not None
        line = read_until(
            self._child.stdout, b"\n", time.perf_counter() + SIMULATOR_TIMEOUT
        )
        if line is None:
            self._stop()
            raise RuntimeError("the simulator process did not start; see stderr")
        self.hello = json.loads(line)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close its stdin, read its report, make sure it is gone."""
        self._stop()

    def _stop(self) -> None:
        """End the child: its stdin closing is its signal to stop."""
        child = self._child
        if child is None:
            return
        self._child = None
        assert child.stdin is not None and child.stdout is not None
        child.stdin.close()
        line = read_until(child.stdout, b"\n", time.perf_counter() + SIMULATOR_TIMEOUT)
        if line is not None:
            self.report = json.loads(line)
        try:
            child.wait(SIMULATOR_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(SIMULATOR_TIMEOUT)
        child.stdout.close()

    def simulated_clock(self, time_scale: float) -> Callable[[], datetime]:
        """A wall clock for the app that runs with the simulator's world.

        Relative times in the table then read as they would at real speed.
        """
        start = datetime.fromisoformat(self.hello["now"])
        started = time.monotonic()

        def now() -> datetime:
            return start + timedelta(seconds=(time.monotonic() - started) * time_scale)

        return now


def _task_name(task: asyncio.Task[Any]) -> str:
    """A task's name without Textual's per-instance numbering."""
    return task.get_name().split("#")[0][:60]


def pending_timers(app: App[Any]) -> int:
    """Textual timers whose task is still running, over the whole app."""
    pumps: set[MessagePump] = {app, *app._registry}
    return sum(
        1
        for pump in pumps
        for timer in list(pump._timers)
        if timer._task is not None and not timer._task.done()
    )


async def _let_toasts_expire(
    app: ChamelaionApp, pilot: Pilot[None], within: float
) -> int:
    """Wait until no notification is on screen; return how many there were.

    A toast lives some seconds with a widget, a task and a timer of its own,
    so one that happens to be up at a sample would look like growth. The
    refresher is not driven meanwhile, so no new one appears. (Dismissing
    them with ``App.clear_notifications`` is no way round: in textual 8.2 it
    leaves each toast's empty holder widget mounted.)
    """
    await pilot.pause(0)
    toasts = len(app.screen.query("Toast"))
    for _ in range(round(within / TOAST_POLL)):
        if not app.screen.query("Toast"):
            break
        await asyncio.sleep(TOAST_POLL)
    await pilot.pause(0)
    await pilot.pause(0)
    return toasts


def _sample(app: ChamelaionApp, cycle: int, started: float, toasts: int) -> Sample:
    """Measure the app after ``cycle`` cycles (the caller let the UI settle)."""
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None
    return Sample(
        cycle=cycle,
        rss=rss_bytes(),
        blocks=sys.getallocatedblocks(),
        gc_objects=len(gc.get_objects()),
        traced_bytes=traced,
        tasks=len(asyncio.all_tasks()),
        timers=pending_timers(app),
        in_flight=app.policy.in_flight_count,
        toasts=toasts,
        task_names=frozenset(_task_name(task) for task in asyncio.all_tasks()),
        seconds=time.monotonic() - started,
    )


async def soak(
    simulator: SimulatorProcess,
    checkpoints: tuple[int, ...],
    *,
    traced: bool,
    toast_wait: float = TOAST_WAIT_LIMIT,
) -> list[Sample]:
    """Run the app on ``simulator`` for ``max(checkpoints)`` cycles; sample.

    With ``traced``, tracemalloc runs from before the app is built to the end.
    At each sample, notifications on screen get up to ``toast_wait`` real
    seconds to expire.
    """
    if traced:
        tracemalloc.start()
    try:
        app = ChamelaionApp(
            ChamelaionClient(simulator.hello["base_url"], simulator.hello["api_key"]),
            DashboardOptions(),
            wall_clock=simulator.simulated_clock(TIME_SCALE),
            auto_refresh=False,
        )
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            label = "traced" if traced else ""
            return await _cycles(app, pilot, checkpoints, label, toast_wait)
    finally:
        if traced:
            tracemalloc.stop()


async def _cycles(
    app: ChamelaionApp,
    pilot: Pilot[None],
    checkpoints: tuple[int, ...],
    label: str,
    toast_wait: float,
) -> list[Sample]:
    """The refresh cycles themselves, sampling at each checkpoint."""
    last = max(checkpoints)
    report_every = max(last // 5, 1)
    samples = []
    started = time.monotonic()
    for cycle in range(1, last + 1):
        app.policy.refresh_now()
        await app.refresher.run_once()
        if cycle % PAUSE_EVERY == 0:
            await pilot.pause(0)
        if cycle in checkpoints:
            toasts = await _let_toasts_expire(app, pilot, toast_wait)
            samples.append(_sample(app, cycle, started, toasts))
        if cycle % report_every == 0:
            progress(f"D: {label} run, {cycle:,}/{last:,} cycles".replace("  ", " "))
    return samples


def run_section(quick: bool, traced_cycles: int | None = None) -> list[Check]:
    """Soak the app twice (untraced, then traced), print, return the targets."""
    plan = SoakPlan.for_run(quick, traced_cycles)
    emit()
    emit("=" * 78)
    emit("D. Soak: the real dashboard after many compressed refresh cycles")
    emit("=" * 78)
    emit(SECTION_INTRO.format(scale=TIME_SCALE, every=PAUSE_EVERY))
    runs: list[tuple[list[Sample], dict[str, Any]]] = []
    for checkpoints, traced in (
        (plan.checkpoints, False),
        (plan.traced_checkpoints, True),
    ):
        progress(f"D: {'traced' if traced else 'untraced'} run of {checkpoints[-1]:,}")
        with SimulatorProcess(TIME_SCALE, max_seconds=3600.0) as simulator:
            samples = asyncio.run(soak(simulator, checkpoints, traced=traced))
        runs.append((samples, simulator.report))
    return _report(*runs[0]) + _report_traced(*runs[1])


SECTION_INTRO = """\
The real ChamelaionApp, headless (160x45), background refresher off. The
benchmark drives the app's refresher as fast as it goes; one cycle =
policy.refresh_now() + refresher.run_once() (the visible page, plus a GET for
each followed row that left it); every {every} cycles pilot.pause(0) waits until
every widget has handled its messages. The simulator runs in a separate process
(time scale x{scale:g}, generated history plus jobs arriving continuously), so
its memory is not the app's. The app's wall clock runs with the simulator's.
  RSS     = resident memory of the app's process (/proc/self/statm)
  blocks  = sys.getallocatedblocks(); gc objects = len(gc.get_objects());
            both after gc.collect()
  tasks   = len(asyncio.all_tasks()) in the app's event loop
  timers  = pending Textual timers: each object's private _timers set, over the
            app and every node in App._registry; pending = task not finished
  toasts  = notifications on screen at a checkpoint; the sample waits for
            them to expire, as each lives seconds with a task and timer
  heap    = tracemalloc current after gc.collect(), in a second run traced from
            before the app starts (tracing slows a cycle several times, so that
            run is shorter; --soak-traced-cycles N makes it longer)"""


def _mib(value: int | None) -> str:
    """Bytes as MiB for a table cell."""
    return "n/a" if value is None else fmt(value / MiB, 2)


def _growth(early: int | None, late: int | None) -> int | None:
    """``late - early``, or None if either is unknown."""
    return None if early is None or late is None else late - early


def _curve(
    label: str, samples: list[Sample], value: Callable[[Sample], int | None], mib: bool
) -> list[str]:
    """One table row: the value at every sample, then last minus first."""
    values = [value(sample) for sample in samples]
    growth = _growth(values[0], values[-1])
    if mib:
        return [label, *(_mib(v) for v in values), _mib(growth)]
    shown = ["n/a" if v is None else f"{v:,}" for v in values]
    return [label, *shown, "n/a" if growth is None else f"{growth:+,}"]


def _print_run(title: str, samples: list[Sample], rows: list[list[str]]) -> None:
    """A run's table, one column per sample, and what tasks came or went."""
    emit()
    emit(title)
    headers = ["after cycle", *(f"{s.cycle:,}" for s in samples), "growth"]
    emit(table(headers, rows))
    first, last = samples[0], samples[-1]
    appeared = sorted(last.task_names - first.task_names)
    gone = sorted(first.task_names - last.task_names)
    if appeared or gone:
        emit(
            textwrap.fill(
                f"tasks new at the end: {', '.join(appeared) or 'none'}; "
                f"gone: {', '.join(gone) or 'none'}",
                78,
            )
        )


def _report(samples: list[Sample], simulator_report: dict[str, Any]) -> list[Check]:
    """Print the untraced run's samples and growth; return its targets."""
    rows = [
        _curve("RSS (MiB)", samples, lambda s: s.rss, mib=True),
        _curve("allocated blocks", samples, lambda s: s.blocks, mib=False),
        _curve("gc-tracked objects", samples, lambda s: s.gc_objects, mib=False),
        _curve("asyncio tasks", samples, lambda s: s.tasks, mib=False),
        _curve("pending Textual timers", samples, lambda s: s.timers, mib=False),
        _curve("requests followed now", samples, lambda s: s.in_flight, mib=False),
        _curve("toasts up at checkpoint", samples, lambda s: s.toasts, mib=False),
        ["real seconds so far", *(fmt(s.seconds, 0) for s in samples), ""],
    ]
    _print_run(f"Untraced run: {samples[-1].cycle:,} cycles", samples, rows)
    emit(_simulator_line(simulator_report))
    early, late = samples[0], samples[-1]
    rss_growth = _growth(early.rss, late.rss)
    span = f"cycles {early.cycle:,} -> {late.cycle:,}"
    return [
        Check(
            "D soak",
            "RSS grows < 5 MiB",
            f"{_mib(rss_growth)} MiB over {span}",
            rss_growth is not None and rss_growth < MEMORY_TARGET,
        ),
        Check(
            "D soak",
            "no growth in asyncio tasks",
            f"{early.tasks} -> {late.tasks} over {span}",
            late.tasks <= early.tasks,
        ),
        Check(
            "D soak",
            "no growth in pending Textual timers",
            f"{early.timers} -> {late.timers} over {span}",
            late.timers <= early.timers,
        ),
    ]


def _report_traced(
    samples: list[Sample], simulator_report: dict[str, Any]
) -> list[Check]:
    """Print the traced run's heap figures; return its target."""
    rows = [
        _curve("heap, tracemalloc (MiB)", samples, lambda s: s.traced_bytes, True),
        _curve("RSS (MiB, traced run)", samples, lambda s: s.rss, mib=True),
        _curve("asyncio tasks", samples, lambda s: s.tasks, mib=False),
        _curve("pending Textual timers", samples, lambda s: s.timers, mib=False),
        ["real seconds so far", *(fmt(s.seconds, 0) for s in samples), ""],
    ]
    title = f"Traced run: {samples[-1].cycle:,} cycles with tracemalloc on"
    _print_run(title, samples, rows)
    emit(_simulator_line(simulator_report))
    early, late = samples[0], samples[-1]
    growth = _growth(early.traced_bytes, late.traced_bytes)
    return [
        Check(
            "D soak",
            f"heap (tracemalloc) grows < 5 MiB, cycles {early.cycle:,}->{late.cycle:,}",
            f"{_mib(growth)} MiB",
            growth is not None and growth < MEMORY_TARGET,
        )
    ]


def _simulator_line(report: dict[str, Any]) -> str:
    """What the simulator process said it served."""
    requests = report.get("requests", {})
    return textwrap.fill(
        f"simulator: {requests.get('list', 0):,} list and {requests.get('get', 0):,} "
        f"get requests served; {report.get('jobs', '?')} jobs held, "
        f"{report.get('in_flight', '?')} in flight at the end.",
        78,
    )
