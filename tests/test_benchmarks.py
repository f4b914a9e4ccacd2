"""Smoke tests of the benchmark's pieces at tiny sizes, so they cannot rot.

Each section of ``benchmarks`` runs here for a fraction of a second on the
simulator (on loopback, as in the benchmark). Nothing asserts on timings:
only that every piece runs and reports numbers of the right shape.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from benchmarks import idle, refresh_cost, run, soak, startup
from benchmarks.common import Check, finished_world, percentile, table
from chamelaion_tui.simulator import SimulatorThread

TINY_BATCH = refresh_cost.Mix(
    key="t",
    title="three jobs",
    jobs=3,
    page_size=5,
    filtered=True,
    time_scale=100.0,
    queue_wait=(0.5, 1.0),
    processing=(1.0, 2.0),
)
"""Three jobs that are final within three simulated seconds."""

TINY_IDLE = refresh_cost.Mix(
    key="i",
    title="nothing in flight",
    jobs=0,
    page_size=5,
    filtered=False,
    time_scale=100.0,
    idle_minutes=0.05,
)
"""A finished-only history watched for three simulated seconds."""


def test_percentile_interpolates_and_says_nan_for_nothing() -> None:
    """The quantile helper behind every staleness figure."""
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert percentile([0.0, 10.0], 0.95) == pytest.approx(9.5)
    assert math.isnan(percentile([], 0.5))


def test_table_aligns_labels_left_and_numbers_right() -> None:
    """Results are printed as plain aligned text."""
    lines = table(["", "n"], [["a", "1"], ["bbb", "22"]]).splitlines()
    assert lines[2] == "a     1"
    assert lines[3] == "bbb  22"


@pytest.mark.parametrize("strategy", ["baseline", "ours"])
def test_refresh_cost_plays_a_tiny_batch(strategy: refresh_cost.Strategy) -> None:
    """Both clients follow three jobs to the end and every change is measured."""
    result = refresh_cost.play(TINY_BATCH, strategy)
    assert result.total_requests > 0
    assert result.missed == 0
    assert len(result.staleness) == 2 * TINY_BATCH.jobs
    assert all(value >= 0 for value in result.staleness)
    assert result.failures == 0


def test_refresh_cost_idle_mix_and_report() -> None:
    """The idle mix sends nothing for the baseline; the report yields targets."""
    baseline = refresh_cost.play(TINY_IDLE, "baseline")
    ours = refresh_cost.play(TINY_IDLE, "ours")
    assert baseline.total_requests == 0
    assert ours.list_requests >= 1
    batch = refresh_cost.play(TINY_BATCH, "ours")
    as_mix_one = dataclasses.replace(TINY_BATCH, key="1")
    checks = refresh_cost._report_mix(as_mix_one, batch, batch)
    assert [check.section for check in checks] == ["A1 batch of 50"] * 2


async def test_idle_app_is_measured() -> None:
    """The real app loads its first page and is measured for a moment."""
    with SimulatorThread(world=finished_world(1)) as running:
        result = await idle.measure_idle_app(running, 0.2)
    assert result.first_load_requests >= 1
    assert result.thread_cpu >= 0.0
    assert result.seconds >= 0.2


@pytest.mark.parametrize("kind", startup.KINDS)
def test_startup_child_reports_its_first_row(
    kind: startup.Kind, tmp_path: Path
) -> None:
    """Each kind of child process paints a row and says so."""
    with SimulatorThread(world=finished_world(1)) as running:
        environment = startup.child_environment(running, tmp_path)
        seconds = startup.time_child(kind, environment)
    assert seconds > 0.0


async def test_soak_samples_a_few_traced_cycles() -> None:
    """The soak drives the real app against the simulator process and samples."""
    with soak.SimulatorProcess(soak.TIME_SCALE, max_seconds=60.0) as simulator:
        samples = await soak.soak(simulator, (2, 4), traced=True, toast_wait=1.0)
    assert [sample.cycle for sample in samples] == [2, 4]
    assert all(sample.traced_bytes for sample in samples)
    assert all(sample.tasks > 0 and sample.timers >= 0 for sample in samples)
    assert simulator.report["requests"]["list"] >= 4
    checks = soak._report(samples, simulator.report)
    checks += soak._report_traced(samples, simulator.report)
    assert len(checks) == 4


def test_run_summary_and_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    """The command line parses, and the summary prints every target."""
    args = run.parse_arguments(["--quick", "--only", "ad"])
    assert args.quick and args.only == "ad"
    run.summary([Check("X", "a target", "3 s", True), Check("X", "b", "4", False)])
    printed = capsys.readouterr().out
    assert "PASS" in printed and "FAIL" in printed
    assert "1 of 2 targets met." in printed
