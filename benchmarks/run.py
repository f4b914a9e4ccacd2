"""Run the whole benchmark: ``python -m benchmarks.run [--quick]``.

Progress goes to stderr; results, section by section and then a summary of
every target with PASS or FAIL, go to stdout as plain text. The targets are
benchmark figures, not tests: a FAIL does not change the exit status (a crash
does). Each section can also be run alone with ``--only``.

A normal run takes about six to eight minutes on two cores; ``--quick`` is a
smoke run of under two minutes whose figures are not representative.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from benchmarks import idle, refresh_cost, soak, startup
from benchmarks.common import Check, emit, progress, table

log = logging.getLogger("benchmarks")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The repository the benchmark describes."""

Section = Callable[[argparse.Namespace], list[Check]]
"""Runs one section, printing its results, and returns its targets."""

SECTIONS: dict[str, tuple[str, Section]] = {
    "A": ("refresh cost", lambda args: refresh_cost.run_section(args.quick)),
    "B": ("idle", lambda args: idle.run_section(args.quick)),
    "C": ("startup", lambda args: startup.run_section(args.quick)),
    "D": (
        "soak",
        lambda args: soak.run_section(args.quick, args.soak_traced_cycles),
    ),
}
"""Every section by letter, in the order they run."""


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of the benchmark."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmark chamelaion-tui against the built-in simulator "
        "on loopback: refresh cost vs the API page's polling pattern (A), idle "
        "cost (B), startup (C) and a soak (D).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short smoke run; its figures are not representative",
    )
    parser.add_argument(
        "--only",
        default="ABCD",
        metavar="LETTERS",
        help="run only these sections, e.g. --only AC (default: ABCD)",
    )
    parser.add_argument(
        "--soak-traced-cycles",
        type=int,
        default=None,
        metavar="N",
        help="cycles of the soak's tracemalloc run (default 500; 10000 gives "
        "the full span, about 20 minutes)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.only.upper()) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {''.join(sorted(unknown))}")
    if args.soak_traced_cycles is not None and args.soak_traced_cycles < 101:
        parser.error("--soak-traced-cycles must be above 100")
    return args


def _git(*arguments: str) -> str:
    """The output of one git command run in the project, stripped."""
    return subprocess.run(
        ["git", *arguments],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout.strip()


def describe_code() -> str:
    """Which code was measured: the git commit, and whether the tree differs."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        changes = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout, or git is unavailable)"
    changed = len(changes.splitlines())
    return f"git {head}" + (
        f" + {changed} uncommitted changed files" if changed else ""
    )


def header(args: argparse.Namespace) -> None:
    """Say what was measured, where, and how to read the rest."""
    emit(
        "chamelaion-tui benchmark"
        + (" (QUICK: smoke run, not representative)" if args.quick else "")
    )
    emit(f"run at     {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    emit(f"code       {describe_code()}")
    emit(
        f"python     {platform.python_version()}, textual "
        f"{metadata.version('textual')}, httpx {metadata.version('httpx')}, "
        f"aiohttp {metadata.version('aiohttp')}"
    )
    emit(f"machine    {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}")
    emit(
        "All traffic goes to the project's simulator on 127.0.0.1. 'Simulated\n"
        "seconds' are the simulator's time, which runs faster than real time by "
        "the\nstated time scale."
    )


def summary(checks: list[Check]) -> None:
    """The table of every target, as the brief states them."""
    emit()
    emit("=" * 78)
    emit("Summary of targets (benchmark figures, not tests)")
    emit("=" * 78)
    rows = [[c.section, c.target, c.measured, c.verdict] for c in checks]
    emit(table(["section", "target", "measured", "result"], rows, left=3))
    met = sum(check.passed for check in checks)
    emit(f"{met} of {len(checks)} targets met.")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen sections, then print the summary."""
    args = parse_arguments(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    started = time.monotonic()
    header(args)
    checks: list[Check] = []
    for letter in args.only.upper():
        name, run_section = SECTIONS[letter]
        progress(f"section {letter}: {name}")
        try:
            checks.extend(run_section(args))
        except Exception as error:
            log.exception("section %s (%s) failed", letter, name)
            checks.append(
                Check(f"{letter} {name}", "section ran", f"ERROR: {error!r}", False)
            )
    summary(checks)
    progress(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
