"""Tests for :func:`load_batch`: one walk through every page of a batch.

The main case runs against the simulator on loopback with a 120-job batch
among other requests; the edge cases use the in-memory fake API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from chamelaion_tui.api import ChamelaionClient, ServerError
from chamelaion_tui.batch import BatchTracker, load_batch
from chamelaion_tui.simulator import ManualClock, RunningSimulator, World, run_simulator
from tests.fake_api import FakeApi, make_request

EPOCH = datetime(2026, 12, 4, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
async def simulator() -> AsyncIterator[tuple[RunningSimulator, ManualClock, list[str]]]:
    """A simulator holding a 120-job batch half way through, and 30 others."""
    clock = ManualClock()
    world = World(clock=clock, history=0, arrivals=False, epoch=EPOCH)
    for number in range(30):
        world.add_job(f"single-{number}", queue_wait=1, processing=5)
    batch = world.add_batch(
        "batch-120", 120, queue_wait=(1, 200), processing=(20, 40), failure_rate=0.2
    )
    clock.advance(100)
    async with run_simulator(world=world) as running:
        yield running, clock, batch


async def test_loads_a_120_job_batch_in_three_pages(
    simulator: tuple[RunningSimulator, ManualClock, list[str]],
) -> None:
    """Every job of the batch, once, in three list calls, with progress."""
    sim, _, batch = simulator
    progress: list[tuple[int, int]] = []
    async with ChamelaionClient(sim.base_url, sim.api_key) as client:
        loaded = await load_batch(
            client, "batch-120", page_size=50, on_progress=lambda *p: progress.append(p)
        )
    assert sorted(r.id for r in loaded.requests) == sorted(batch)
    assert (loaded.total, loaded.truncated, loaded.dropped) == (120, False, 0)
    assert progress == [(50, 120), (100, 120), (120, 120)]
    assert sim.stats.requests("list") == 3


async def test_loaded_batch_feeds_a_tracker(
    simulator: tuple[RunningSimulator, ManualClock, list[str]],
) -> None:
    """The summary of the loaded batch matches what the simulator says."""
    sim, clock, _ = simulator
    async with ChamelaionClient(sim.base_url, sim.api_key) as client:
        loaded = await load_batch(client, "batch-120", page_size=50)
        tracker = BatchTracker()
        tracker.update(loaded.requests, sim.world.now(), total=loaded.total)
        summary = tracker.summary(sim.world.now())
        assert summary.total == summary.loaded == 120
        assert summary.in_flight + summary.finished == 120
        assert summary.counts["other"] == 0

        clock.advance(1000)
        page = await client.list_requests(limit=50, reference_id="batch-120")
        changes = tracker.update(page.items, sim.world.now(), total=120)
    assert changes
    assert all(c.old_status in ("queued", "processing") for c in changes)
    assert tracker.summary(sim.world.now()).eta is not None


async def test_cap_is_reported_not_silent(
    simulator: tuple[RunningSimulator, ManualClock, list[str]],
) -> None:
    """At the cap loading stops, says so, and reads no further page."""
    sim, _, batch = simulator
    async with ChamelaionClient(sim.base_url, sim.api_key) as client:
        loaded = await load_batch(client, "batch-120", page_size=50, cap=70)
    assert len(loaded.requests) == 70
    assert loaded.truncated
    assert loaded.total == 120
    assert set(r.id for r in loaded.requests) <= set(batch)
    assert sim.stats.requests("list") == 2


async def test_exactly_at_the_cap_is_not_truncated(
    simulator: tuple[RunningSimulator, ManualClock, list[str]],
) -> None:
    """A batch of exactly ``cap`` requests is complete."""
    sim, _, _ = simulator
    async with ChamelaionClient(sim.base_url, sim.api_key) as client:
        loaded = await load_batch(client, "batch-120", page_size=100, cap=120)
    assert (len(loaded.requests), loaded.truncated) == (120, False)


async def test_a_request_pushed_onto_the_next_page_is_loaded_once() -> None:
    """New submissions during the walk shift rows; the repeat is skipped."""
    api = FakeApi(items=[make_request(n) for n in range(10, 0, -1)])

    def shift(request: httpx.Request) -> httpx.Response | None:
        if request.url.params.get("offset") == "5":
            api.items.insert(0, make_request(99))
        return None

    api.override = shift
    async with api.client() as client:
        loaded = await load_batch(client, "batch-a", page_size=5)
    ids = [r.id for r in loaded.requests]
    assert len(ids) == len(set(ids)) == 10
    assert loaded.total == 11


async def test_an_error_part_way_raises() -> None:
    """A failing page is an error, not a silently shorter batch."""
    api = FakeApi(items=[make_request(n) for n in range(10, 0, -1)])
    api.override = lambda request: (
        httpx.Response(503) if request.url.params.get("offset") == "5" else None
    )
    async with api.client() as client:
        with pytest.raises(ServerError):
            await load_batch(client, "batch-a", page_size=5)


async def test_arguments_are_checked() -> None:
    """A batch needs a reference id, a page size the API takes, a cap."""
    async with FakeApi().client() as client:
        with pytest.raises(ValueError, match="reference id"):
            await load_batch(client, "")
        with pytest.raises(ValueError, match="page_size"):
            await load_batch(client, "b", page_size=101)
        with pytest.raises(ValueError, match="cap"):
            await load_batch(client, "b", cap=0)
