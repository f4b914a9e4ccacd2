"""Section C: time from process start to the first data row on screen.

Each measurement spawns a fresh Python process running
:mod:`benchmarks.startup_child`, headless at 160x45: the dashboard started by
its own command line ("ours"), or a bare Textual app with the same widgets
("bare"). The clock starts just before the spawn (``time.perf_counter`` in
this process) and stops when the child's marker line arrives, which it writes
once the first data row is in the table and the screen has been refreshed.
So the figure includes the interpreter's start, every import, reading the
settings, building the screen, and for ours the first API call.

Ours talks to a simulator running here, in this process's own thread, so the
child measures the dashboard's own start, not the simulator's. The kinds are
interleaved (rotating which goes first) after one unmeasured warm-up each.

Every child reads and writes compiled bytecode in one temporary directory
(``PYTHONPYCACHEPREFIX``), filled by the warm-ups. Installed libraries come
with their bytecode compiled, but a project installed for development is
compiled on first import, and not at all where ``PYTHONDONTWRITEBYTECODE`` is
set; without a shared cache ours would be timed compiling its own source on
every start, which a person running it does only once.
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

import chamelaion_tui
from benchmarks.common import (
    Check,
    emit,
    finished_world,
    fmt,
    progress,
    read_until,
    table,
)
from benchmarks.startup_child import (
    COLUMNS_VARIABLE,
    KEY_LINE_VARIABLE,
    MARKER,
    STYLESHEET_VARIABLE,
)
from chamelaion_tui.simulator import RunningSimulator, SimulatorThread
from chamelaion_tui.tui.app import KEYS
from chamelaion_tui.tui.render import COLUMNS

Kind = Literal["bare", "ours", "ours-frame", "bare-minimal"]
"""Which app a child starts."""

KINDS: tuple[Kind, ...] = ("bare", "ours", "ours-frame", "bare-minimal")
"""Every kind of start, in the order of the first round."""

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Where ``python -m benchmarks.startup_child`` resolves the package from."""

STYLESHEET = Path(chamelaion_tui.__file__).parent / "tui" / "app.tcss"
"""The dashboard's stylesheet, which lays out the bare app too."""

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
    """Our first painted frame: how soon the layout appears, data or not."""
    minimal: list[float]
    """The smaller bare app of earlier versions, for comparison."""

    @property
    def ratio(self) -> float:
        """Median of ours over median of bare."""
        return statistics.median(self.ours) / statistics.median(self.bare)


def key_line() -> str:
    """The text of the dashboard's key line, for the bare app to show."""
    return "".join(f" {shown} {label} " for _, shown, _, label, _, show in KEYS if show)


def child_environment(running: RunningSimulator, workdir: Path) -> dict[str, str]:
    """The children's environment, with scratch files under ``workdir``.

    This process's environment without any ``CHAMELAION_`` setting of the
    person running it, plus: where the API is and its key, an empty config
    file, the bytecode cache, and what the bare app copies from the dashboard.
    """
    config = workdir / "config.toml"
    config.touch()
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CHAMELAION_") and name != "PYTHONDONTWRITEBYTECODE"
    }
    columns = [[key, label, width] for key, label, width in COLUMNS]
    return {
        **environment,
        "CHAMELAION_BASE_URL": running.base_url,
        "CHAMELAION_API_KEY": running.api_key,
        "CHAMELAION_CONFIG": str(config),
        "PYTHONPYCACHEPREFIX": str(workdir / "bytecode"),
        COLUMNS_VARIABLE: json.dumps(columns),
        STYLESHEET_VARIABLE: str(STYLESHEET),
        KEY_LINE_VARIABLE: key_line(),
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
    with (
        SimulatorThread(world=finished_world(SEED)) as running,
        tempfile.TemporaryDirectory(prefix="chamelaion-startup-") as workdir,
    ):
        environment = child_environment(running, Path(workdir))
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
        bare=times["bare"],
        ours=times["ours"],
        frame=times["ours-frame"],
        minimal=times["bare-minimal"],
    )


def run_section(quick: bool) -> list[Check]:
    """Measure every kind of start, print the table, return the target."""
    repetitions = 3 if quick else 9
    emit()
    emit("=" * 78)
    emit("C. Startup: process start to the first data row on screen")
    emit("=" * 78)
    emit(
        "Each start is a fresh process (python -m benchmarks.startup_child), "
        "headless,\n160x45, timed from just before the spawn to the child's "
        "marker, written once the\nfirst data row is in the table and the "
        "screen was refreshed.\n"
        "  bare = a Textual app with the dashboard's widgets, from Textual's "
        "stock (header,\n         filter box, summary, table with the same "
        "columns beside a scrollable\n         detail pane, status and key "
        "lines), laid out by the dashboard's own\n         stylesheet, with "
        "one static row; no product code, no request.\n"
        "  ours = the dashboard started by its command line (settings from "
        "the\n         environment, an empty config file); its first page "
        "comes from a\n         simulator in the parent process (finished "
        "history, page of 20).\n"
        "  ours, first frame = the same, timed to its first painted frame "
        "(the\n         whole layout, with the first page if it has arrived).\n"
        "  bare, minimal = header, filter box, table, one line and footer; "
        "the\n         baseline of earlier versions, for comparison only.\n"
        "Bytecode is cached for every kind alike (see benchmarks/startup.py).\n"
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
            ("bare, minimal", result.minimal),
        )
    ]
    emit(table(["", "median (s)", "min (s)", "max (s)", "each run (s)"], rows))
    bare = statistics.median(result.bare)
    emit(f"ours / bare (medians): {fmt(result.ratio, 2)}")
    frame_ratio = statistics.median(result.frame) / bare
    emit(f"ours' first frame / bare (medians): {fmt(frame_ratio, 2)}")
    minimal_ratio = statistics.median(result.ours) / statistics.median(result.minimal)
    emit(f"ours / bare, minimal (medians): {fmt(minimal_ratio, 2)}")
    return [
        Check(
            "C startup",
            f"ours within {RATIO_TARGET:g}x of the bare app",
            f"{fmt(statistics.median(result.ours), 3)} s vs "
            f"{fmt(bare, 3)} s = {fmt(result.ratio, 2)}x",
            result.ratio <= RATIO_TARGET,
        )
    ]
