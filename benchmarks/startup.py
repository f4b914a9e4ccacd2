"""Section C: time from process start to the first data row on screen.

Each measurement spawns a fresh Python process running
:mod:`benchmarks.startup_child`, headless: the real dashboard ("ours") or a
bare Textual app with the same widgets ("bare"). The clock starts just before
the spawn (``time.perf_counter`` in this process) and stops when the child's
marker line arrives, which it writes once the first data row is in the table
and the screen has been refreshed. So the figure includes the interpreter's
start, every import, building the screen, and for ours the first API call.

Ours talks to a simulator running here, in this process's own thread, so the
child measures the dashboard's own start, not the simulator's. The kinds are
interleaved (alternating which goes first) after one unmeasured warm-up each.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from benchmarks.common import (
    Check,
    emit,
    finished_world,
    fmt,
    progress,
    read_until,
    table,
)
from benchmarks.startup_child import COLUMNS_VARIABLE, MARKER
from chamelaion_tui.simulator import RunningSimulator, SimulatorThread
from chamelaion_tui.tui.render import COLUMNS

Kind = Literal["bare", "ours", "ours-frame"]
"""Which app a child starts."""

KINDS: tuple[Kind, ...] = ("bare", "ours", "ours-frame")
"""Every kind of start, in the order of the first round."""

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Where ``python -m benchmarks.startup_child`` resolves the package from."""

CHILD_TIMEOUT = 60.0
"""Real seconds a child may take to show its first row, then to exit."""

RATIO_TARGET = 1.5
"""Target: ours starts within this factor of the bare app."""

SEED = 13
"""Seed of the finished-only history the child's dashboard shows."""


@dataclass(frozen=True, slots=True)
class StartupResult:
    """Seconds to the first row, per measured run, for each kind."""

    bare: list[float]
    ours: list[float]
    frame: list[float]
    """Our first painted frame, before data: how soon the layout appears."""

    @property
    def ratio(self) -> float:
        """Median of ours over median of bare."""
        return statistics.median(self.ours) / statistics.median(self.bare)


def child_environment(running: RunningSimulator) -> dict[str, str]:
    """The child's environment: this one, plus where the API is and the columns."""
    columns = [[key, label, width] for key, label, width in COLUMNS]
    return {
        **os.environ,
        "CHAMELAION_BASE_URL": running.base_url,
        "CHAMELAION_API_KEY": running.api_key,
        COLUMNS_VARIABLE: json.dumps(columns),
    }


def time_child(kind: Kind, environment: dict[str, str]) -> float:
    """Spawn one child and return the seconds until its marker arrived.

    Raises:
        RuntimeError: the child exited, failed or timed out before the marker;
            the message carries the end of its stderr.
    """
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.startup_child", kind],
            cwd=PROJECT_ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        try:
            assert child.stdout is not None
            found = read_until(child.stdout, MARKER, started + CHILD_TIMEOUT)
            elapsed = time.perf_counter() - started
            child.wait(CHILD_TIMEOUT)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(CHILD_TIMEOUT)
            if child.stdout is not None:
                child.stdout.close()
        if found is None or child.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-2000:]
            raise RuntimeError(
                f"the {kind} child did not show its first row "
                f"(exit status {child.returncode}):\n{tail}"
            )
    return elapsed


def measure_startup(repetitions: int, warm_up: bool = True) -> StartupResult:
    """Time ``repetitions`` starts of each kind, interleaved."""
    with SimulatorThread(world=finished_world(SEED)) as running:
        environment = child_environment(running)
        if warm_up:
            for kind in KINDS:
                progress(f"C: warm-up start of {kind}")
                time_child(kind, environment)
        times: dict[Kind, list[float]] = {kind: [] for kind in KINDS}
        for round_number in range(repetitions):
            shift = round_number % len(KINDS)
            order = KINDS[shift:] + KINDS[:shift]
            for kind in order:
                progress(f"C: start {round_number + 1}/{repetitions} of {kind}")
                times[kind].append(time_child(kind, environment))
    return StartupResult(
        bare=times["bare"], ours=times["ours"], frame=times["ours-frame"]
    )


def run_section(quick: bool) -> list[Check]:
    """Measure both kinds of start, print the table, return the target."""
    repetitions = 2 if quick else 5
    emit()
    emit("=" * 78)
    emit("C. Startup: process start to the first data row on screen")
    emit("=" * 78)
    emit(
        "Each start is a fresh process (python -m benchmarks.startup_child), "
        "headless,\n160x45, timed from just before the spawn to the child's "
        "marker, written once the\nfirst data row is in the DataTable and the "
        "screen was refreshed.\n  bare = a Textual app with the same widgets "
        "(Header, Input, DataTable with the\n         same columns, Static, "
        "Footer) and one static row; no product code.\n  ours = the real "
        "ChamelaionApp; its first page comes from a simulator running\n"
        "         in the parent process (finished-only history, page of 20).\n"
        "  ours, first frame = the same dashboard, timed to its first painted "
        "frame\n         (the whole layout, before the first page arrives).\n"
        f"{repetitions} measured starts of each, interleaved, after one "
        "unmeasured warm-up of each."
    )
    result = measure_startup(repetitions)
    rows = [
        [
            kind,
            fmt(statistics.median(values), 3),
            fmt(min(values), 3),
            fmt(max(values), 3),
            " ".join(f"{value:.3f}" for value in values),
        ]
        for kind, values in (
            ("bare", result.bare),
            ("ours", result.ours),
            ("ours, first frame", result.frame),
        )
    ]
    emit(table(["", "median (s)", "min (s)", "max (s)", "each run (s)"], rows))
    emit(f"ours / bare (medians): {fmt(result.ratio, 2)}")
    frame_ratio = statistics.median(result.frame) / statistics.median(result.bare)
    emit(f"ours' first frame / bare (medians): {fmt(frame_ratio, 2)}")
    return [
        Check(
            "C startup",
            f"ours within {RATIO_TARGET:g}x of the bare app",
            f"{fmt(statistics.median(result.ours), 3)} s vs "
            f"{fmt(statistics.median(result.bare), 3)} s = "
            f"{fmt(result.ratio, 2)}x",
            result.ratio <= RATIO_TARGET,
        )
    ]
