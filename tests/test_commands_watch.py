"""``watch`` against the simulator, on simulated time: every exit status.

The simulator's world and the watch share one ManualClock, and the watch's
sleeps advance it, so a job that takes minutes finishes in milliseconds and
"when did the watch stop" is an exact number.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chamelaion_tui.refresh import Backoff
from chamelaion_tui.simulator import Faults, World
from tests.cli_support import (
    Run,
    SimulatedTime,
    quiet_world,
    run_cli,
    sim_environ,
    simulator,
)

COLOUR = re.compile(r"\x1b\[3\dm")


def watch(
    tmp_path: Path,
    world: World,
    time: SimulatedTime,
    *argv: str,
    terminal: bool = False,
    faults: str | None = None,
    width: int = 160,
    **variables: str,
) -> Run:
    """Run ``watch ARGV`` against ``world`` on simulated time."""
    with simulator(world) as running:
        if faults:
            running.faults.add(*Faults.parse(faults).pending())
        environ = sim_environ(tmp_path, running, **variables)
        return run_cli(
            ["watch", *argv],
            environ,
            time=time,
            terminal=terminal,
            world=world,
            width=width,
        )


def last_change(world: World, ids: list[str]) -> float:
    """Clock time of the last status change among ``ids``."""
    return max(world.transitions(job_id)[-1][0] for job_id in ids)


def test_batch_all_completed_exits_0_within_one_backoff_step(tmp_path: Path) -> None:
    """Every job completes: exit 0, soon after the last one finished."""
    time = SimulatedTime()
    world = quiet_world(time, history=20)
    batch = world.add_batch(
        "batch-ok", 6, queue_wait=(1, 3), processing=(20, 40), failure_rate=0
    )
    run = watch(tmp_path, world, time, "--reference-id", "batch-ok")
    assert run.status == 0, run.err
    assert run.lines[-1].startswith("all 6 requests completed in")
    stopped = time.clock()
    assert 0 <= stopped - last_change(world, batch) <= Backoff().cap
    assert run.err == ""


def test_batch_with_one_failure_exits_1(tmp_path: Path) -> None:
    """One failed job fails the watch, after the rest have finished."""
    time = SimulatedTime()
    world = quiet_world(time)
    world.add_batch("batch-bad", 4, queue_wait=1, processing=10, failure_rate=0)
    failed = world.add_job(
        "batch-bad", queue_wait=1, processing=5, error_message="no face detected"
    )
    run = watch(tmp_path, world, time, "--reference-id", "batch-bad")
    assert run.status == 1
    assert "1 of 5 requests did not complete" in run.lines[-1]
    failure = [line for line in run.lines if failed in line and "failed" in line]
    assert failure and "no face detected" in failure[0]


def test_timeout_exits_3_counted_from_the_start(tmp_path: Path) -> None:
    """Jobs that outlast --timeout: exit 3 at the timeout, not long after."""
    time = SimulatedTime()
    world = quiet_world(time)
    world.add_batch("slow", 3, queue_wait=1, processing=3600, failure_rate=0)
    run = watch(tmp_path, world, time, "--reference-id", "slow", "--timeout", "45")
    assert run.status == 3
    assert run.lines[-1].startswith("timed out after 45s: 3 processing")
    assert time.clock() == pytest.approx(45.0)


def test_finished_batch_returns_at_once(tmp_path: Path) -> None:
    """A batch already done: one read, no waiting, the right status."""
    time = SimulatedTime()
    world = quiet_world(time)
    world.add_batch("done-ok", 3, queue_wait=0, processing=1, failure_rate=0)
    world.add_batch("done-bad", 3, queue_wait=0, processing=1, failure_rate=1)
    time.clock.advance(10)
    good = watch(tmp_path, world, time, "--reference-id", "done-ok")
    bad = watch(tmp_path, world, time, "--reference-id", "done-bad")
    assert (good.status, bad.status) == (0, 1)
    assert time.sleeps == []


def test_ids_are_followed_by_id(tmp_path: Path) -> None:
    """Explicit ids: exit 1 if any of them failed; nothing else is read."""
    time = SimulatedTime()
    world = quiet_world(time, history=30)
    ok = world.add_job("a", queue_wait=2, processing=10, outcome="completed")
    bad = world.add_job("b", queue_wait=2, processing=30, outcome="failed")
    with simulator(world) as running:
        environ = sim_environ(tmp_path, running)
        run = run_cli(["watch", ok, bad], environ, time=time, world=world)
        lists = running.stats.requests("list")
    assert run.status == 1
    assert lists == 0
    changes = [line.split()[1:3] for line in run.lines[:-1]]
    assert ["queued", ok] in changes
    assert ["queued", bad] in changes
    assert ["completed", ok] in changes
    assert ["failed", bad] in changes


def test_unknown_id_exits_2(tmp_path: Path) -> None:
    """An id the API does not know: one clear line, exit 2."""
    time = SimulatedTime()
    run = watch(tmp_path, quiet_world(time), time, "no-such-id")
    assert run.status == 2
    assert run.err == "chamelaion-tui: no request has id 'no-such-id'\n"


def test_reference_given_as_an_id_exits_2_with_advice(tmp_path: Path) -> None:
    """The API finds a reference id by GET too; the watch says to use the flag."""
    time = SimulatedTime()
    world = quiet_world(time)
    world.add_batch("my-batch", 2, queue_wait=1, processing=10)
    run = watch(tmp_path, world, time, "my-batch")
    assert run.status == 2
    assert "watch --reference-id my-batch" in run.err


def test_empty_batch_exits_2(tmp_path: Path) -> None:
    """A reference id with no requests is a mistake, not a success."""
    time = SimulatedTime()
    run = watch(tmp_path, quiet_world(time, history=10), time, "--reference-id", "x")
    assert run.status == 2
    assert "no requests have reference_id 'x'" in run.err


def test_refused_key_exits_2(tmp_path: Path) -> None:
    """401 stops the watch at once with status 2."""
    time = SimulatedTime()
    world = quiet_world(time)
    job = world.add_job("a", queue_wait=1, processing=100)
    run = watch(tmp_path, world, time, job, CHAMELAION_API_KEY="sk-wrong-00000000")
    assert run.status == 2
    assert "refused the key" in run.err
    assert time.sleeps == []


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    """No target, or both kinds: usage error."""
    time = SimulatedTime()
    run = watch(tmp_path, quiet_world(time), time)
    assert run.status == 2
    assert "watch needs request ids" in run.err


def test_rate_limit_and_outage_are_waited_out(tmp_path: Path) -> None:
    """A 429 waits for its Retry-After, a 503 backs off; the watch goes on."""
    time = SimulatedTime()
    world = quiet_world(time)
    world.add_batch("b", 3, queue_wait=1, processing=20, failure_rate=0)
    run = watch(
        tmp_path,
        world,
        time,
        "--reference-id",
        "b",
        faults="rate_limit=30:count=1:path=list,status=503:count=1:path=list",
    )
    assert run.status == 0
    problems = run.err.splitlines()
    assert len(problems) == 2
    assert "rate limited" in problems[0]
    assert "trying again in 30 s" in problems[0]
    assert "503" in problems[1]
    assert 30 in [round(s) for s in time.sleeps]


def test_json_lines(tmp_path: Path) -> None:
    """--json: one object per change with id, reference, status and time; a summary."""
    time = SimulatedTime()
    world = quiet_world(time)
    world.add_batch("j", 2, queue_wait=2, processing=10, failure_rate=0)
    run = watch(tmp_path, world, time, "--reference-id", "j", "--json")
    assert run.status == 0
    assert run.out.isascii()
    *changes, summary = [json.loads(line) for line in run.lines]
    assert {change["event"] for change in changes} == {"status"}
    assert [c["status"] for c in changes].count("completed") == 2
    for change in changes:
        assert set(change) >= {"id", "reference_id", "status", "previous", "at"}
        assert change["reference_id"] == "j"
        assert change["at"].endswith("Z")
    assert summary["event"] == "summary"
    assert summary["outcome"] == "completed"
    assert summary["exit_status"] == 0
    assert summary["counts"] == {"completed": 2}


def test_json_summary_of_an_error(tmp_path: Path) -> None:
    """Even an exit 2 ends with a summary object, and a line on stderr."""
    time = SimulatedTime()
    run = watch(tmp_path, quiet_world(time), time, "nope", "--json")
    assert run.status == 2
    summary = json.loads(run.lines[-1])
    assert summary["outcome"] == "error"
    assert "no request has id" in summary["error"]
    assert "no request has id" in run.err


def test_terminal_gets_a_live_line(tmp_path: Path) -> None:
    """On a terminal one line is redrawn in place, with colour unless NO_COLOR;
    a dumb terminal gets neither."""
    time = SimulatedTime()
    world = quiet_world(time)
    world.add_batch("t", 3, queue_wait=1, processing=8, failure_rate=0)
    run = watch(tmp_path, world, time, "--reference-id", "t", terminal=True)
    assert run.status == 0
    assert "\r\x1b[K" in run.out
    assert "batch t · " in run.out
    assert COLOUR.search(run.out)
    assert "all 3 requests completed in" in run.out

    time = SimulatedTime()
    world = quiet_world(time)
    world.add_batch("t", 3, queue_wait=1, processing=8, failure_rate=0)
    plain = watch(
        tmp_path, world, time, "--reference-id", "t", terminal=True, NO_COLOR="1"
    )
    assert "\r\x1b[K" in plain.out
    assert not COLOUR.search(plain.out)

    time = SimulatedTime()
    world = quiet_world(time)
    world.add_batch("t", 3, queue_wait=1, processing=8, failure_rate=0)
    dumb = watch(
        tmp_path, world, time, "--reference-id", "t", terminal=True, TERM="dumb"
    )
    assert "\x1b" not in dumb.out
    assert "\r" not in dumb.out


def test_pipe_gets_one_line_per_change(tmp_path: Path) -> None:
    """Piped: no carriage returns, no escapes; a line for each status seen."""
    time = SimulatedTime()
    world = quiet_world(time)
    world.add_batch("p", 2, queue_wait=3, processing=8, failure_rate=0)
    run = watch(tmp_path, world, time, "--reference-id", "p")
    assert "\r" not in run.out
    assert "\x1b" not in run.out
    statuses = [line.split()[1] for line in run.lines[:-1]]
    assert statuses == ["queued"] * 2 + ["processing"] * 2 + ["completed"] * 2


def test_batch_larger_than_a_page(tmp_path: Path) -> None:
    """Beyond 100 requests the older ones are found once and followed by id."""
    time = SimulatedTime()
    world = quiet_world(time)
    oldest = world.add_job("big", queue_wait=1, processing=50, outcome="failed")
    time.clock.advance(1)
    world.add_batch("big", 120, queue_wait=1, processing=(5, 15), failure_rate=0)
    with simulator(world) as running:
        environ = sim_environ(tmp_path, running)
        run = run_cli(
            ["watch", "--reference-id", "big", "--json"],
            environ,
            time=time,
            world=world,
        )
        gets = running.stats.requests("get")
    assert run.status == 1
    summary = json.loads(run.lines[-1])
    assert summary["not_completed"] == [oldest]
    assert summary["counts"] == {"completed": 120, "failed": 1}
    assert gets > 0


def test_bell_rings_for_a_failure_on_a_terminal(tmp_path: Path) -> None:
    """``bell = true`` rings once per failed request, only on a terminal."""
    config = tmp_path / "config.toml"
    config.write_text("bell = true\n", encoding="utf-8")
    outputs = []
    for terminal in (True, False):
        time = SimulatedTime()
        world = quiet_world(time)
        world.add_batch("r", 2, queue_wait=1, processing=5, failure_rate=0)
        world.add_job("r", queue_wait=1, processing=5, outcome="failed")
        run = watch(tmp_path, world, time, "--reference-id", "r", terminal=terminal)
        assert run.status == 1
        outputs.append(run.out)
    assert outputs[0].count("\a") == 1
    assert "\a" not in outputs[1]


def test_finished_lines_fit_a_narrow_terminal(tmp_path: Path) -> None:
    """At 80 columns the line for each finished request does not wrap."""
    time = SimulatedTime()
    world = quiet_world(time)
    world.add_batch("narrow", 3, queue_wait=1, processing=8, failure_rate=0)
    run = watch(
        tmp_path, world, time, "--reference-id", "narrow", terminal=True, width=80
    )
    assert run.status == 0
    plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", run.out)
    finished = [line for line in plain.split("\r") if "completed" in line]
    lines = [part for line in finished for part in line.split("\n") if part]
    assert lines and all(len(line) <= 80 for line in lines), lines


def test_refused_key_is_reported_once_without_internal_names(tmp_path: Path) -> None:
    """In a real process (where Python's last-resort log handler would print
    the refresher's warning) the refusal is one line, the command's own."""
    time = SimulatedTime()
    world = quiet_world(time)
    job = world.add_job("a", queue_wait=1, processing=100)
    with simulator(world) as running:
        environ = {
            **os.environ,
            **sim_environ(tmp_path, running, CHAMELAION_API_KEY="sk-wrong-00000000"),
        }
        done = subprocess.run(
            [sys.executable, "-m", "chamelaion_tui", "watch", job],
            check=False,
            env=environ,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert done.stderr.count("refused the key") == 1, done.stderr
    assert "AuthError" not in done.stderr
