"""``list`` and ``get`` against the simulator on loopback."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

from chamelaion_tui.cli import main
from chamelaion_tui.commands import Runtime
from chamelaion_tui.simulator import Faults
from tests.cli_support import (
    SimulatedTime,
    quiet_world,
    run_cli,
    sim_environ,
    simulator,
)

COLOUR = re.compile(r"\x1b\[\d+m")
HOSTILE = "\x1b[31mred\x1b]52;c;aGk=\x07\x9b2J\u202eevil"


def test_list_all_json_counts_the_whole_history(tmp_path: Path) -> None:
    """``list --all --json`` streams every request once, as pure-ASCII JSON."""
    time = SimulatedTime()
    world = quiet_world(time, history=237)
    with simulator(world) as running:
        run = run_cli(["list", "--all", "--json"], sim_environ(tmp_path, running))
        calls = running.stats.requests("list")
    assert run.status == 0, run.err
    records = [json.loads(line) for line in run.lines]
    assert len(records) == 237
    assert len({record["id"] for record in records}) == 237
    assert run.out.isascii()
    assert calls == 3
    assert set(records[0]) >= {"id", "reference_id", "status", "created_at"}


def test_list_prints_one_page_as_a_table(tmp_path: Path) -> None:
    """By default: a header and a page of rows, plain when piped."""
    world = quiet_world(SimulatedTime(), history=50)
    with simulator(world) as running:
        run = run_cli(["list"], sim_environ(tmp_path, running))
    assert run.status == 0
    header, *rows = run.lines
    assert header.split()[:4] == ["STATUS", "ID", "REFERENCE", "CREATED"]
    assert len(rows) == 20
    assert "\x1b" not in run.out


def test_page_size_and_limit(tmp_path: Path) -> None:
    """--page-size sets the default rows, either side of the name; --limit wins."""
    world = quiet_world(SimulatedTime(), history=237)
    with simulator(world) as running:
        environ = sim_environ(tmp_path, running)
        before = run_cli(["--page-size", "5", "list", "--json"], environ)
        after = run_cli(["list", "--json", "--page-size", "5"], environ)
        from_env = run_cli(["list", "--json"], {**environ, "CHAMELAION_PAGE_SIZE": "4"})
        limited = run_cli(["list", "--json", "--limit", "150"], environ)
    assert len(before.lines) == len(after.lines) == 5
    assert len(from_env.lines) == 4
    assert len(limited.lines) == 150


def test_list_one_batch(tmp_path: Path) -> None:
    """--reference-id lists only that batch."""
    world = quiet_world(SimulatedTime(), history=30)
    world.add_batch("batch-x", 3)
    with simulator(world) as running:
        run = run_cli(
            ["list", "--reference-id", "batch-x", "--json"],
            sim_environ(tmp_path, running),
        )
    assert [json.loads(line)["reference_id"] for line in run.lines] == ["batch-x"] * 3


def test_terminal_gets_colour_and_a_footer_and_no_color_is_honoured(
    tmp_path: Path,
) -> None:
    """On a terminal: coloured statuses and a footer; NO_COLOR turns colour off."""
    world = quiet_world(SimulatedTime(), history=30)
    with simulator(world) as running:
        environ = sim_environ(tmp_path, running)
        coloured = run_cli(["list"], environ, terminal=True)
        plain = run_cli(["list"], {**environ, "NO_COLOR": "1"}, terminal=True)
        piped = run_cli(["list"], environ)
    assert COLOUR.search(coloured.out)
    assert "20 of 30 requests" in coloured.lines[-1]
    assert not COLOUR.search(plain.out)
    assert "20 of 30 requests" in plain.lines[-1]
    assert "of 30" not in piped.out


def test_api_strings_are_made_visible(tmp_path: Path) -> None:
    """Escapes, C1 controls and bidi marks never reach the output raw."""
    world = quiet_world(SimulatedTime())
    world.add_job(HOSTILE, error_message=HOSTILE, queue_wait=0, processing=0)
    with simulator(world) as running:
        environ = sim_environ(tmp_path, running)
        table = run_cli(["list"], environ)
        as_json = run_cli(["list", "--json"], environ)
        job_id = json.loads(as_json.lines[0])["id"]
        detail = run_cli(["get", job_id], environ, terminal=True)
    for output in (table.out, detail.out):
        plain = COLOUR.sub("", output)
        assert not any(c in plain for c in "\x1b\x07\x9b\u202e")
        assert "␛[31mred" in plain
    assert as_json.out.isascii()
    assert json.loads(as_json.lines[0])["reference_id"] == HOSTILE


def test_get_prints_every_field(tmp_path: Path) -> None:
    """get by id: one line per field; --json: the same as one object."""
    time = SimulatedTime()
    world = quiet_world(time)
    job = world.add_job("one-ref", queue_wait=5, processing=20, outcome="failed")
    time.clock.advance(60)
    with simulator(world) as running:
        environ = sim_environ(tmp_path, running)
        text = run_cli(["get", job], environ, world=world)
        as_json = run_cli(["get", "one-ref", "--json"], environ)
    assert text.status == 0
    fields = {line.split()[0]: line for line in text.lines}
    assert job in fields["id"]
    assert "failed" in fields["status"]
    assert "5s" in fields["queue"]
    assert "20s" in fields["processing"]
    record = json.loads(as_json.out)
    assert record["id"] == job
    assert record["error_message"]


def test_get_a_short_id_says_to_give_the_whole_id(tmp_path: Path) -> None:
    """A short id from the dashboard's table is not an id: the message says so."""
    with simulator(quiet_world(SimulatedTime())) as running:
        run = run_cli(["get", "a8c2d7e7"], sim_environ(tmp_path, running))
    assert run.status == 2
    assert "give the whole id" in run.err


def test_get_unknown_exits_2(tmp_path: Path) -> None:
    """An id nobody has: one line, exit 2."""
    with simulator(quiet_world(SimulatedTime())) as running:
        run = run_cli(["get", "no-such-id"], sim_environ(tmp_path, running))
    assert run.status == 2
    assert (
        run.err
        == "chamelaion-tui: no request has the id or reference_id 'no-such-id'\n"
    )


def test_refused_key_exits_2_and_outage_exits_1(tmp_path: Path) -> None:
    """A refused key will fail again (2); a 503 may not (1)."""
    with simulator(quiet_world(SimulatedTime(), history=5)) as running:
        environ = sim_environ(tmp_path, running)
        refused = run_cli(["list"], {**environ, "CHAMELAION_API_KEY": "sk-wrong-0000"})
        running.faults.add(*Faults.parse("status=503:count=1").pending())
        outage = run_cli(["list"], environ)
    assert refused.status == 2
    assert "refused the key" in refused.err
    assert outage.status == 1
    assert "503" in outage.err
    assert outage.out == ""


def test_refused_key_names_the_key_command_it_came_from(tmp_path: Path) -> None:
    """A key from a key_command that the API refuses names that command's place."""
    command = (
        f"{sys.executable} -c {json.dumps('print(' + repr('sk-wrong-0000') + ')')}"
    )
    with simulator(quiet_world(SimulatedTime(), history=5)) as running:
        environ = sim_environ(tmp_path, running)
        del environ["CHAMELAION_API_KEY"]
        (tmp_path / "config.toml").write_text(
            f"key_command = {json.dumps(command)}\n", encoding="utf-8"
        )
        refused = run_cli(["list"], environ)
    assert refused.status == 2
    assert "refused the key" in refused.err
    assert "check key_command" in refused.err
    assert "CHAMELAION_API_KEY" not in refused.err


class ClosedPipe(io.StringIO):
    """A stdout whose reader went away after the first line."""

    def write(self, text: str) -> int:
        """Accept the first write, then fail like a closed pipe."""
        if self.getvalue():
            raise BrokenPipeError
        return super().write(text)


def test_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """``list --all | head -1``: exit 141, no traceback, nothing on stderr."""
    world = quiet_world(SimulatedTime(), history=40)
    with simulator(world) as running:
        out, err = ClosedPipe(), io.StringIO()
        runtime = Runtime(
            environ=sim_environ(tmp_path, running), stdout=out, stderr=err
        )
        status = main(["list", "--all", "--json"], runtime=runtime)
    assert status == 141
    assert err.getvalue() == ""
    assert len(out.getvalue().splitlines()) == 1
