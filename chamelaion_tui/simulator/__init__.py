"""A stand-in for the Chamelaion API, served over HTTP on loopback.

It speaks the documented contract (list and get lip-sync requests, bearer
authentication, output videos), its jobs move through their lifecycle on a
simulated clock, and it misbehaves on demand through fault rules. The demo
mode, the tests and the benchmarks run against it, and people can run it to
develop scripts offline. It deliberately does not import the client in
`chamelaion_tui.api`, so it checks the contract independently of it.
"""

from chamelaion_tui.simulator.clock import Clock, ManualClock
from chamelaion_tui.simulator.faults import FaultKind, FaultRule, Faults, Hit
from chamelaion_tui.simulator.running import (
    RunningSimulator,
    SimulatorThread,
    check_loopback,
    run_simulator,
    serve_forever,
)
from chamelaion_tui.simulator.server import DEFAULT_LIMIT, MAX_LIMIT
from chamelaion_tui.simulator.stats import Stats, StatsSnapshot
from chamelaion_tui.simulator.world import JobJson, World

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Clock",
    "FaultKind",
    "FaultRule",
    "Faults",
    "Hit",
    "JobJson",
    "ManualClock",
    "RunningSimulator",
    "SimulatorThread",
    "Stats",
    "StatsSnapshot",
    "World",
    "check_loopback",
    "run_simulator",
    "serve_forever",
]
