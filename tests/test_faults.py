"""Every fault the network and the API can produce, against the simulator.

Each test runs the real dashboard over a real loopback socket to the
simulator with one fault rule armed, and checks what the person sees: a clear
message, the last good data still on screen, and recovery once the fault
ends. The README's fault table names these tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
from textual.pilot import Pilot

from chamelaion_tui.api import ChamelaionClient
from chamelaion_tui.simulator import ManualClock, RunningSimulator, World, run_simulator
from chamelaion_tui.tui import ChamelaionApp, DashboardOptions
from tests.conftest import SIZE, WALL, FakeClock, refresh, sample_items
from tests.fake_api import BASE_URL, KEY, FakeApi
from tests.test_tui import status_line

EPOCH = datetime(2026, 12, 4, 9, 0, 0, tzinfo=UTC)
CONTROL = {chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}


class Session:
    """A dashboard wired to a simulator, with both clocks in the test's hands."""

    def __init__(
        self, app: ChamelaionApp, pilot: Pilot[None], sim: RunningSimulator
    ) -> None:
        self.app = app
        self.pilot = pilot
        self.sim = sim
        clock = app.policy.clock
        assert isinstance(clock, FakeClock)
        self.clock: FakeClock = clock

    async def refresh(self) -> None:
        """Press r and run the refresh cycle it asks for."""
        await self.pilot.press("r")
        await refresh(self.app, self.pilot)

    def status(self) -> str:
        """The status line's text."""
        return status_line(self.app)

    def rendered_table(self) -> list[str]:
        """The table's lines as drawn."""
        return [self.app.table.render_line(y).text for y in range(12)]


def small_world() -> World:
    """Five jobs in flight in one batch, ten finished singles."""
    clock = ManualClock()
    world = World(clock=clock, history=0, arrivals=False, epoch=EPOCH)
    for number in range(10):
        world.add_job(f"single-{number}", queue_wait=1, processing=5)
    world.add_batch("batch-f", 5, queue_wait=(1, 2), processing=(300, 400))
    clock.advance(20)
    return world


@asynccontextmanager
async def session(*, read_timeout: float = 10.0) -> AsyncIterator[Session]:
    """Open the dashboard on a fresh simulator and load the first page."""
    async with run_simulator(world=small_world()) as sim:
        client = ChamelaionClient(sim.base_url, sim.api_key, timeout=read_timeout)
        app = ChamelaionApp(
            client,
            DashboardOptions(),
            clock=FakeClock(),
            wall_clock=sim.world.now,
            auto_refresh=False,
        )
        async with app.run_test(size=SIZE) as pilot:
            await refresh(app, pilot)
            yield Session(app, pilot, sim)


async def assert_recovers(s: Session, rows: list[str]) -> None:
    """With the fault gone, r brings fresh data and the live mark back."""
    s.sim.faults.clear()
    s.clock.advance(120)
    await s.refresh()
    assert "live" in s.status()
    assert not s.app.table.has_class("-stale")
    assert s.app.table.order == rows


@pytest.mark.parametrize("code", [401, 403])
async def test_refused_key_pauses_and_names_the_variable(code: int) -> None:
    """401/403: the message names CHAMELAION_API_KEY, never its value; polling
    stops until the person retries."""
    async with session() as s:
        rows = s.app.table.order
        s.sim.faults.add(f"status={code}")
        await s.refresh()
        assert "CHAMELAION_API_KEY" in s.status()
        assert s.sim.api_key not in s.status()
        assert s.app.table.order == rows
        s.clock.advance(3600)
        assert s.app.policy.plan().empty, "no polling while the key is refused"
        await assert_recovers(s, rows)


async def test_rate_limit_waits_for_retry_after_seconds() -> None:
    """429 with Retry-After: 7 pauses everything 7 s, with a countdown."""
    async with session() as s:
        rows = s.app.table.order
        s.sim.faults.add("rate_limit=7:count=1")
        await s.refresh()
        assert "rate limited · retry in 7s" in s.status()
        s.clock.advance(3)
        s.app.tick()
        assert "retry in 4s" in s.status()
        assert s.app.policy.plan().empty
        s.clock.advance(4)
        assert s.app.policy.plan().list_page
        await refresh(s.app, s.pilot)
        assert "live" in s.status()
        assert s.app.table.order == rows


async def test_rate_limit_with_an_http_date() -> None:
    """Retry-After as an HTTP date (5 s ahead) is honoured the same way."""
    async with session() as s:
        s.sim.faults.add("rate_limit=date:count=1")
        await s.refresh()
        resume = s.app.policy.resume_at
        assert resume is not None
        assert 3 <= resume - s.clock() <= 6
        assert "rate limited · retry in" in s.status()


async def test_rate_limit_without_retry_after_backs_off() -> None:
    """A 429 without Retry-After backs off like an outage: 2 s, then 4 s."""
    async with session() as s:
        s.sim.faults.add("rate_limit=none:count=2")
        await s.refresh()
        assert s.app.policy.resume_at == s.clock() + 2
        s.clock.advance(2)
        await refresh(s.app, s.pilot)
        assert s.app.policy.resume_at == s.clock() + 4


async def test_server_error_with_html_body_keeps_data() -> None:
    """A 502 with an HTML page: data stays, dimmed, with its age; recovery."""
    async with session() as s:
        rows = s.app.table.order
        s.sim.faults.add("status=502")
        s.clock.advance(30)
        await s.refresh()
        assert "API error 502" in s.status()
        assert "data 30s old" in s.status()
        assert s.app.table.has_class("-stale")
        assert s.app.table.order == rows
        s.clock.advance(2)
        await refresh(s.app, s.pilot)
        assert s.app.policy.resume_at == s.clock() + 4, "backs off 2, 4, 8…"
        await assert_recovers(s, rows)


async def test_timeout_is_an_outage() -> None:
    """A server that does not answer in time: an outage, then recovery."""
    async with session(read_timeout=0.2) as s:
        rows = s.app.table.order
        s.sim.faults.add("delay=2:count=1")
        await s.refresh()
        assert "API unreachable" in s.status()
        assert s.app.table.order == rows
        await assert_recovers(s, rows)


async def test_connection_refused_is_an_outage() -> None:
    """Nothing listening at the base URL: a clear outage, no crash."""
    async with run_simulator(world=small_world()) as sim:
        closed = "http://127.0.0.1:9/api"
        app = ChamelaionApp(
            ChamelaionClient(closed, sim.api_key),
            clock=FakeClock(),
            wall_clock=sim.world.now,
            auto_refresh=False,
        )
        async with app.run_test(size=SIZE) as pilot:
            await refresh(app, pilot)
            assert "API unreachable" in status_line(app)
            assert "no data yet" in status_line(app)


async def test_a_dropped_connection_is_retried_once_quietly() -> None:
    """One dropped keep-alive connection is retried at once, unseen."""
    async with session() as s:
        s.sim.faults.add("drop:count=1")
        await s.refresh()
        assert "live" in s.status()
        assert s.app.last_error is None
        assert s.sim.stats.dropped() == 1


async def test_connections_that_keep_dropping_back_off() -> None:
    """A server that drops every connection is an outage after the retry."""
    async with session() as s:
        rows = s.app.table.order
        s.sim.faults.add("drop")
        await s.refresh()
        assert "API unreachable" in s.status()
        await assert_recovers(s, rows)


@pytest.mark.parametrize("kind", ["malformed", "garbage"])
async def test_nonsense_bodies_keep_data(kind: str) -> None:
    """Invalid JSON, or JSON of the wrong shape: data kept, clear message."""
    async with session() as s:
        rows = s.app.table.order
        s.sim.faults.add(kind)
        await s.refresh()
        assert "unexpected response" in s.status()
        assert s.app.table.order == rows
        await assert_recovers(s, rows)


async def test_duplicate_ids_on_a_page_are_shown_once() -> None:
    """A page holding one id twice shows it once; the table stays keyed."""
    async with session() as s:
        s.sim.faults.add("duplicate:count=1")
        await s.refresh()
        order = s.app.table.order
        assert len(order) == len(set(order))
        assert "live" in s.status()


async def test_total_changing_between_pages() -> None:
    """A total that drifts between reads is shown as last read, no crash."""
    async with session() as s:
        s.sim.faults.add("total_drift=7")
        await s.refresh()
        assert "of 22" in s.status()
        await s.refresh()
        assert "of 29" in s.status()


async def test_unknown_status_is_shown_as_sent_and_not_polled() -> None:
    """An undocumented status is shown literally and treated as final."""
    async with session() as s:
        before = s.app.policy.in_flight_count
        s.sim.faults.add("unknown_status=archived:count=1")
        await s.refresh()
        shown = [s.app.table.request(i) for i in s.app.table.order]
        odd = [r for r in shown if r is not None and r.status == "archived"]
        assert len(odd) == 1
        assert any("? archived" in line for line in s.rendered_table())
        assert s.app.policy.in_flight_count <= before


async def test_odd_timestamps_never_give_negative_durations() -> None:
    """Fractions, offsets, naive times, nulls and finished-before-started."""
    async with session() as s:
        s.sim.faults.add("odd_timestamps")
        await s.refresh()
        lines = s.rendered_table()
        assert any("took 0s" in line for line in lines), "finished before started"
        assert not any("took -" in line or "running -" in line for line in lines)
        assert "live" in s.status()


async def test_hostile_strings_reach_the_screen_inert() -> None:
    """Markup, escapes, C1 bytes, bidi and huge text: literal and harmless."""
    async with session() as s:
        s.sim.faults.add("hostile")
        await s.refresh()
        for line in s.rendered_table():
            assert not CONTROL & set(line)
        for _ in range(len(s.app.table.order)):
            await s.pilot.press("j")
            body = str(s.app.detail.query_one("#detail-body").render())
            assert not (CONTROL - {"\n"}) & set(body)


async def test_a_redirect_is_not_followed_and_the_key_stays_home() -> None:
    """A redirect to another origin is reported, not followed: no key leaks."""
    async with session() as s:
        s.sim.faults.add("redirect")
        await s.refresh()
        assert "unexpected response" in s.status()
        assert s.sim.stats.requests("foreign") == 0
        assert s.sim.api_key not in str(s.app.last_error)


async def test_a_late_answer_for_an_old_filter_is_dropped(clock: FakeClock) -> None:
    """Typing a second filter while the first is in flight never shows the
    first one's rows last. The first filter's answers are held back by a
    gate the test opens only after the second filter is applied."""
    api = FakeApi(items=sample_items())
    gate = asyncio.Event()

    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("reference_id") == "single-1":
            await gate.wait()
        return api.handle(request)

    client = ChamelaionClient(BASE_URL, KEY, transport=httpx.MockTransport(handle))
    app = ChamelaionApp(
        client, clock=clock, wall_clock=lambda: WALL, auto_refresh=False
    )
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await pilot.press("slash", *"single-1", "enter")
        slow = asyncio.ensure_future(app.refresher.run_once())
        await pilot.press("slash", *["backspace"] * 8, *"batch-a", "enter")
        assert not slow.done(), "the first answer is still held back"
        gate.set()
        await slow
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.shown_view is None or app.shown_view.reference_id != "single-1"
        await refresh(app, pilot)
        shown = [app.table.request(i) for i in app.table.order]
        assert shown and all(
            r is not None and r.reference_id == "batch-a" for r in shown
        )
        assert "filter: batch-a" in status_line(app)


async def test_the_refresher_keeps_running_under_the_command_palette() -> None:
    """A modal screen (the command palette) does not stop background refresh."""
    async with run_simulator(world=small_world()) as sim:
        app = ChamelaionApp(
            ChamelaionClient(sim.base_url, sim.api_key),
            clock=FakeClock(),
            wall_clock=sim.world.now,
        )
        async with app.run_test(size=SIZE) as pilot:
            while app.shown_view is None:
                await pilot.pause(0.05)
            await pilot.press("ctrl+p")
            assert app.screen is not app.screen_stack[0], "the palette is open"
            before = sim.stats.requests("list")
            for _ in range(3):
                app.action_refresh()
                while sim.stats.requests("list") == before:
                    await pilot.pause(0.05)
                before = sim.stats.requests("list")
            assert app.screen is not app.screen_stack[0], "still open"
            assert "live" in status_line(app)
