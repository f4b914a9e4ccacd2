"""The dashboard against the simulator on a real loopback socket.

One scripted story: a batch is in flight among other requests; the person
filters to the batch, pages through it, and watches its jobs finish. The
simulator's clock is a ManualClock, so "jobs finishing" is a step of the test,
not a wait.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chamelaion_tui.api import ChamelaionClient
from chamelaion_tui.simulator import ManualClock, World, run_simulator
from chamelaion_tui.tui import ChamelaionApp, DashboardOptions
from tests.conftest import SIZE, FakeClock, refresh
from tests.test_tui import status_line

EPOCH = datetime(2026, 12, 4, 9, 0, 0, tzinfo=UTC)


async def test_filter_page_and_watch_a_batch_finish() -> None:
    """Filter to a batch, page through it, and see its jobs complete."""
    sim_clock = ManualClock()
    world = World(clock=sim_clock, history=0, arrivals=False, epoch=EPOCH)
    for number in range(10):
        world.add_job(f"single-{number}", queue_wait=1, processing=5)
    batch = world.add_batch(
        "batch-e2e", 25, queue_wait=(1, 2), processing=(30, 40), failure_rate=0
    )
    sim_clock.advance(10)

    async with run_simulator(world=world) as sim:
        client = ChamelaionClient(sim.base_url, sim.api_key)
        app = ChamelaionApp(
            client,
            DashboardOptions(page_size=20),
            clock=FakeClock(),
            wall_clock=world.now,
            auto_refresh=False,
        )
        async with app.run_test(size=SIZE) as pilot:
            await refresh(app, pilot)
            assert "1–20 of 35" in status_line(app)

            await pilot.press("slash", *"batch-e2e", "enter")
            await refresh(app, pilot)
            assert "1–20 of 25" in status_line(app)
            shown = [app.table.request(i) for i in app.table.order]
            assert all(r is not None and r.reference_id == "batch-e2e" for r in shown)
            assert all(r is not None and r.status == "processing" for r in shown)

            await pilot.press("n")
            await refresh(app, pilot)
            assert "21–25 of 25" in status_line(app)
            assert set(app.table.order) <= set(batch)

            sim_clock.advance(60)
            await pilot.press("r")
            await refresh(app, pilot)
            finished = [app.table.request(i) for i in app.table.order]
            assert all(r is not None and r.status == "completed" for r in finished)
            assert "completed" in str(app.table.get_row_at(0)[0])
            highlighted = app.table.request(app.table.current_id or "")
            assert highlighted is not None and highlighted.output_url
            assert highlighted.output_url.startswith(sim.origin)

            await pilot.press("p")
            await refresh(app, pilot)
            assert "1–20 of 25" in status_line(app)
            assert sim.stats.requests("list") >= 5
            assert sim.stats.responses(401) == 0
