"""The simulator in a process of its own, for the soak benchmark (section D).

Run as ``python -m benchmarks.sim_process --time-scale 50``. It serves a
world with its generated history and arrivals on (jobs keep arriving and
finishing) on a free loopback port, and prints one JSON line to stdout:
``base_url``, ``api_key`` and the world's simulated ``now``. It serves until
its stdin closes or ``--max-seconds`` pass, whichever comes first, then
prints a second JSON line with the request counts per route and exits.

A separate process keeps the simulator's own memory (its world grows as jobs
arrive) out of the app's tracemalloc and RSS figures.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import sys
import time
from collections.abc import Sequence

from chamelaion_tui.simulator import SimulatorThread, World


def wait_for_end_of_input(max_seconds: float) -> None:
    """Return when stdin reaches end of file, or after ``max_seconds``."""
    deadline = time.monotonic() + max_seconds
    stdin = sys.stdin.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(stdin, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if selector.select(remaining) and not os.read(stdin, 4096):
                return


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until told to stop; report how to connect, then what was asked."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sim_process")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--time-scale", type=float, default=50.0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args(argv)

    world = World(seed=args.seed, time_scale=args.time_scale, arrivals=True)
    with SimulatorThread(world=world) as running:
        hello = {
            "base_url": running.base_url,
            "api_key": running.api_key,
            "now": world.now().isoformat(),
        }
        print(json.dumps(hello), flush=True)
        wait_for_end_of_input(args.max_seconds)
        report = {
            "requests": running.stats.snapshot().requests,
            "jobs": world.job_count(),
            "in_flight": world.jobs_in_flight(),
        }
        print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
