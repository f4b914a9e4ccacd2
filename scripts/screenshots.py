"""Regenerate the SVG screenshots in ``screenshots/`` at fixed terminal sizes.

Run with ``.venv/bin/python scripts/screenshots.py``. Each picture is taken
from the real dashboard talking to the simulator on loopback, with the
simulator's clock and the dashboard's clocks fixed, so the pictures change
only when the product does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from chamelaion_tui.api import ChamelaionClient
from chamelaion_tui.simulator import (
    ManualClock,
    RunningSimulator,
    World,
    run_simulator,
)
from chamelaion_tui.tui import ChamelaionApp, DashboardOptions

OUT = Path(__file__).resolve().parent.parent / "screenshots"
EPOCH = datetime(2026, 12, 4, 9, 0, 0, tzinfo=UTC)
DEMO_LABEL = "DEMO · built-in simulator on loopback · no real jobs"

Scene = Callable[
    [ChamelaionApp, Pilot[None], RunningSimulator, ManualClock], Awaitable[None]
]


async def settle(app: ChamelaionApp, pilot: Pilot[None]) -> None:
    """Run one refresh cycle and let the screen catch up."""
    await app.refresher.run_once()
    await pilot.pause()


async def first_page(
    _app: ChamelaionApp, pilot: Pilot[None], _sim: RunningSimulator, _clock: ManualClock
) -> None:
    """The dashboard as it opens, the cursor on a job in flight."""
    await pilot.press("j", "j", "j", "j")


async def filtered(
    app: ChamelaionApp, pilot: Pilot[None], _sim: RunningSimulator, _clock: ManualClock
) -> None:
    """One batch, filtered on the server, partly finished."""
    await pilot.press("slash", *"promo-black-friday", "enter")
    await settle(app, pilot)
    await pilot.press("j", "j")


async def unreachable(
    app: ChamelaionApp, pilot: Pilot[None], sim: RunningSimulator, clock: ManualClock
) -> None:
    """The API fails; the last good data stays, dimmed, with a countdown."""
    sim.faults.add("status=503")
    clock.advance(40)
    await pilot.press("r")
    await settle(app, pilot)


SCENES: dict[str, tuple[Scene, tuple[int, int]]] = {
    "dashboard": (first_page, (160, 45)),
    "filtered": (filtered, (160, 45)),
    "unreachable": (unreachable, (160, 45)),
    "narrow": (first_page, (100, 40)),
}


async def shoot(name: str, scene: Scene, size: tuple[int, int]) -> None:
    """Take one screenshot of ``scene`` into ``screenshots/NAME.svg``."""
    clock = ManualClock()
    world = World(seed=0, clock=clock, epoch=EPOCH)
    clock.advance(30)
    async with run_simulator(world=world) as sim:
        client = ChamelaionClient(sim.base_url, sim.api_key)
        app = ChamelaionApp(
            client,
            DashboardOptions(demo_label=DEMO_LABEL),
            clock=clock,
            wall_clock=world.now,
            auto_refresh=False,
        )
        async with app.run_test(size=size) as pilot:
            app.query_one(Input).cursor_blink = False
            await settle(app, pilot)
            await scene(app, pilot, sim, clock)
            await pilot.pause()
            app.save_screenshot(f"{name}.svg", path=str(OUT))
    print(f"wrote screenshots/{name}.svg")


async def main() -> None:
    """Take every screenshot."""
    OUT.mkdir(exist_ok=True)
    for name, (scene, size) in SCENES.items():
        await shoot(name, scene, size)


if __name__ == "__main__":
    asyncio.run(main())
