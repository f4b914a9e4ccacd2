"""Shared fixtures: a fake clock, a fixed wall clock and a dashboard to drive."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from textual.pilot import Pilot

from chamelaion_tui.tui import ChamelaionApp, DashboardOptions
from tests.fake_api import FakeApi, make_request

WALL = datetime(2026, 12, 4, 11, 0, 0, tzinfo=UTC)
"""The wall-clock time every dashboard test sees, so relative times are fixed."""

SIZE = (160, 45)
"""The terminal size of every dashboard test."""


class FakeClock:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


def sample_items(count: int = 45) -> list[dict[str, Any]]:
    """A mixed history: two batches and singles, every status, newest first."""
    statuses = ["queued", "processing", "completed", "completed", "failed"]
    items = []
    for number in range(count, 0, -1):
        reference = "batch-a" if number % 3 == 0 else f"single-{number}"
        items.append(make_request(number, statuses[number % 5], reference))
    return items


@pytest.fixture
def fake_api() -> FakeApi:
    """A fake API holding :func:`sample_items`."""
    return FakeApi(items=sample_items())


@pytest.fixture
def clock() -> FakeClock:
    """The dashboard's scheduling clock."""
    return FakeClock()


Driver = Callable[..., Any]


@asynccontextmanager
async def open_dashboard(
    api: FakeApi, clock: FakeClock, **options: Any
) -> AsyncIterator[tuple[ChamelaionApp, Pilot[None]]]:
    """Run the dashboard on ``api`` with the refresher driven by the test.

    The first page is loaded before the caller gets control.
    """
    app = ChamelaionApp(
        api.client(),
        DashboardOptions(**options),
        clock=clock,
        wall_clock=lambda: WALL,
        auto_refresh=False,
    )
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        yield app, pilot


async def refresh(app: ChamelaionApp, pilot: Pilot[None]) -> None:
    """Run one refresh cycle as the background worker would, then settle."""
    await app.refresher.run_once()
    await pilot.pause()
