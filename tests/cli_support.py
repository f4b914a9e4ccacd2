"""Helpers for the command-line tests: a private config, a runtime, time.

Every test of the command line runs with ``CHAMELAION_CONFIG`` pointing into
its own temporary directory, so no test reads or writes the real config
directory, and with simulated time, so ``watch`` never sleeps for real.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from chamelaion_tui.cli import main
from chamelaion_tui.commands import Runtime
from chamelaion_tui.simulator import (
    ManualClock,
    RunningSimulator,
    SimulatorThread,
    World,
)

EPOCH = datetime(2026, 12, 4, 9, 0, 0, tzinfo=UTC)
"""The simulated worlds' second 0."""

KEY = "sk-test-cli-0123456789abcdef"
"""The key every test simulator accepts."""


def private_environ(tmp_path: Path, **variables: str) -> dict[str, str]:
    """An environment with an empty config file of the test's own."""
    config = tmp_path / "config.toml"
    if not config.exists():
        config.write_text("", encoding="utf-8")
    return {"CHAMELAION_CONFIG": str(config), **variables}


@dataclass
class SimulatedTime:
    """A clock that moves only when the code under test sleeps on it."""

    clock: ManualClock = field(default_factory=ManualClock)
    sleeps: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        """Advance the clock instead of waiting, then let other tasks run."""
        self.sleeps.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


@dataclass
class Run:
    """What one run of ``main`` returned and printed."""

    status: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        """stdout, line by line."""
        return self.out.splitlines()


def run_cli(
    argv: list[str],
    environ: Mapping[str, str],
    *,
    time: SimulatedTime | None = None,
    terminal: bool = False,
    world: World | None = None,
    width: int = 160,
    keyboard: bool = True,
) -> Run:
    """Run ``main`` with captured streams, a chosen terminal and time."""
    out, err = io.StringIO(), io.StringIO()
    clock = time or SimulatedTime()
    runtime = Runtime(
        environ=environ,
        stdout=out,
        stderr=err,
        clock=clock.clock,
        sleep=clock.sleep,
        wall_clock=world.now if world is not None else (lambda: EPOCH),
        terminal=terminal,
        width=width,
        keyboard=keyboard,
    )
    status = main(argv, runtime=runtime)
    return Run(status, out.getvalue(), err.getvalue())


@contextmanager
def simulator(world: World) -> Iterator[RunningSimulator]:
    """Serve ``world`` on loopback from a thread, with the test key."""
    with SimulatorThread(world=world, api_key=KEY) as running:
        yield running


def sim_environ(
    tmp_path: Path, running: RunningSimulator, **variables: str
) -> dict[str, str]:
    """A private environment pointed at a running simulator."""
    settings = {
        "CHAMELAION_BASE_URL": running.base_url,
        "CHAMELAION_API_KEY": running.api_key,
        **variables,
    }
    return private_environ(tmp_path, **settings)


def quiet_world(time: SimulatedTime, history: int = 0) -> World:
    """A world on simulated time with no arrivals of its own."""
    return World(clock=time.clock, history=history, arrivals=False, epoch=EPOCH)
