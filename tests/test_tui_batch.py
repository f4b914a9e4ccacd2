"""Pilot tests of batch watching: summary, stuck, changes, failures, outputs."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.text import Text

from chamelaion_tui.api import ChamelaionClient
from chamelaion_tui.simulator import ManualClock, World, run_simulator
from chamelaion_tui.tui import ChamelaionApp, DashboardOptions
from chamelaion_tui.tui.screens import ExportScreen, FailuresScreen
from tests.conftest import SIZE, WALL, FakeClock, open_dashboard, refresh
from tests.fake_api import FakeApi, make_request


def summary(app: ChamelaionApp) -> str:
    """The summary bar's text."""
    rendered = app.summary_bar.render()
    return rendered.plain if isinstance(rendered, Text) else str(rendered)


def batch_items() -> list[dict[str, object]]:
    """A batch of 45 across three pages: 30 completed, 5 failed, 10 in flight,
    with others mixed in."""
    items: list[dict[str, object]] = []
    for number in range(60, 0, -1):
        if number > 45:
            items.append(make_request(number, "completed", f"other-{number}"))
        elif number > 35:
            items.append(make_request(number, "processing", "big"))
        elif number > 30:
            items.append(make_request(number, "failed", "big"))
        else:
            items.append(make_request(number, "completed", "big"))
    return items


async def test_summary_covers_the_whole_batch_across_pages(clock: FakeClock) -> None:
    """Filtering a batch reads it whole once: counts, progress and ETA cover
    all 45 requests, not the 20 on the page."""
    api = FakeApi(items=batch_items())
    async with open_dashboard(api, clock, reference_id="big") as (app, pilot):
        await app.workers.wait_for_complete()
        app.tick()
        text = summary(app)
        assert "Batch big · 45 requests" in text
        assert "30 completed" in text and "5 failed" in text
        assert "10 processing" in text
        assert "78%" in text
        assert "ETA" in text and "no estimate" not in text
        calls = len(api.list_calls())
        await pilot.press("r")
        await refresh(app, pilot)
        assert len(api.list_calls()) == calls + 1, "never paged again per refresh"


async def test_unfiltered_summary_is_the_page(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """Without a filter the summary says it covers this page."""
    async with open_dashboard(fake_api, clock) as (app, _pilot):
        app.tick()
        assert summary(app).startswith("This page · 20 requests")
        assert "60% finished" in summary(app)


async def test_no_estimate_until_jobs_finish(clock: FakeClock) -> None:
    """A batch with nothing finished has no ETA yet."""
    api = FakeApi(items=[make_request(n, "queued", "fresh") for n in range(5)])
    async with open_dashboard(api, clock, reference_id="fresh") as (app, _pilot):
        await app.workers.wait_for_complete()
        app.tick()
        assert "ETA: no estimate yet" in summary(app)


async def test_stuck_request_is_marked(clock: FakeClock) -> None:
    """A request in flight past the ceiling is marked in its row and counted."""
    api = FakeApi(items=[make_request(1, "processing", "slow")])
    async with open_dashboard(
        api, clock, reference_id="slow", stuck_after=timedelta(minutes=5)
    ) as (app, pilot):
        await app.workers.wait_for_complete()
        await refresh(app, pilot)
        app.tick()
        assert "1 stuck" in summary(app)
        assert str(app.table.get_row_at(0)[4]).startswith("⚠ running")


async def test_finished_requests_are_announced_and_marked(
    fake_api: FakeApi, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that finishes gets a toast, a marked row and a line in the
    summary, with the bell on failure; any key acknowledges them."""
    rings: list[bool] = []
    async with open_dashboard(fake_api, clock, bell=True) as (app, pilot):
        monkeypatch.setattr(app, "bell", lambda: rings.append(True))
        queued = next(i for i in fake_api.items[:20] if i["status"] == "queued")
        number = int(str(queued["id"])[:8], 16)
        queued.update(make_request(number, "failed", queued.get("reference_id")))
        await pilot.press("r")
        await refresh(app, pilot)
        app.tick()
        messages = [str(n.message) for n in app._notifications]
        assert any(m.startswith("failed: no face detected") for m in messages)
        assert rings == [True]
        row = app.table.get_row(str(queued["id"]))
        assert str(row[0]).endswith("●")
        assert "+1 failed since" in summary(app)
        await pilot.press("j")
        app.tick()
        assert "since" not in summary(app)
        assert not str(app.table.get_row(str(queued["id"]))[0]).endswith("●")


async def test_many_finishing_at_once_are_grouped(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """Ten requests finishing in one refresh make a few toasts, not ten."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        before = len(app._notifications)
        for item in fake_api.items[:20]:
            if item["status"] in ("queued", "processing"):
                number = int(str(item["id"])[:8], 16)
                item.update(make_request(number, "completed", item.get("reference_id")))
        await pilot.press("r")
        await refresh(app, pilot)
        new = [str(n.message) for n in list(app._notifications)[before:]]
        assert new == ["+8 completed"]


async def test_failures_grouped_and_jump_to_the_row(clock: FakeClock) -> None:
    """f lists failures by message; Enter jumps to the chosen request."""
    items = batch_items()
    items[25]["error_message"] = "audio track is shorter than 1 second"
    api = FakeApi(items=items)
    async with open_dashboard(api, clock, reference_id="big") as (app, pilot):
        await app.workers.wait_for_complete()
        groups = app.batch.tracker.failure_groups()
        assert len(groups) == 2
        assert len(next(iter(groups.values()))) == 4, "largest group first"
        await pilot.press("f")
        assert isinstance(app.screen, FailuresScreen)
        first_leaf = next(iter(groups.values()))[0]
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.detail.shown_id == first_leaf


EPOCH = datetime(2026, 12, 4, 9, 0, 0, tzinfo=UTC)


def read_csv(folder: Path, pattern: str) -> list[dict[str, str]]:
    """The rows of the one CSV file matching ``pattern``."""
    [path] = list(folder.glob(pattern))
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def read_json(folder: Path, pattern: str) -> list[object]:
    """The array in the one JSON file matching ``pattern``."""
    [path] = list(folder.glob(pattern))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


async def test_download_and_export_on_the_simulator(tmp_path: Path) -> None:
    """d saves one output, D every output of the batch (real MP4 bytes from
    the simulator, no key sent to storage), e writes CSV and JSON."""
    sim_clock = ManualClock()
    world = World(clock=sim_clock, history=0, arrivals=False, epoch=EPOCH)
    world.add_batch("clips", 6, queue_wait=1, processing=5, failure_rate=0)
    sim_clock.advance(60)
    async with run_simulator(world=world) as sim:
        app = ChamelaionApp(
            ChamelaionClient(sim.base_url, sim.api_key),
            DashboardOptions(reference_id="clips", download_dir=tmp_path),
            clock=FakeClock(),
            wall_clock=world.now,
            auto_refresh=False,
        )
        async with app.run_test(size=SIZE) as pilot:
            await refresh(app, pilot)
            await app.workers.wait_for_complete()
            await pilot.press("d")
            await app.workers.wait_for_complete()
            folder = tmp_path / "clips"
            assert len(list(folder.glob("*.mp4"))) == 1
            await pilot.press("D")
            await app.workers.wait_for_complete()
            videos = sorted(folder.glob("*.mp4"))
            assert len(videos) == 6
            assert all(v.read_bytes()[4:8] == b"ftyp" for v in videos)
            assert sim.stats.authorizations("output") == frozenset({None})

            await pilot.press("e")
            assert isinstance(app.screen, ExportScreen)
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            rows = read_csv(tmp_path, "clips-*.csv")
            assert len(rows) == 6 and {r["reference_id"] for r in rows} == {"clips"}

            await pilot.press("e", "shift+tab", "down", "enter", "tab", "enter")
            await app.workers.wait_for_complete()
            assert len(read_json(tmp_path, "clips-*.json")) == 6


async def test_narrow_terminal_puts_the_detail_below(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """At 80 columns the detail pane sits under the table, full width."""
    app = ChamelaionApp(
        fake_api.client(),
        DashboardOptions(),
        clock=clock,
        wall_clock=lambda: WALL,
        auto_refresh=False,
    )
    async with app.run_test(size=(80, 40)) as pilot:
        await refresh(app, pilot)
        assert app.detail.region.y > app.table.region.y
        assert app.detail.region.width >= 76


async def test_a_click_selects_the_row(fake_api: FakeApi, clock: FakeClock) -> None:
    """Clicking a row moves the cursor there and the detail pane follows."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        await pilot.click(app.table, offset=(5, 4))
        await pilot.pause()
        assert app.table.cursor_row == 3
        assert app.detail.shown_id == fake_api.items[3]["id"]
