"""Tests for :class:`Refresher`, the loop that carries out the policy's plans.

The loop is given an in-memory :class:`FakeSource` instead of the HTTP client
and a fake clock instead of ``time.monotonic``. Most tests call
:meth:`Refresher.run_once` directly, one cycle at a time; the few that start
:meth:`Refresher.run` give it a clock that moves by itself and a huge time
scale, so no test waits on the wall clock. The point throughout is invariant 4:
the loop never dies silently, errors pause it and are reported, and answers for
a view that has gone are dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from chamelaion_tui.api.errors import (
    ApiError,
    AuthError,
    NotFound,
    RateLimited,
    RequestRejected,
    ServerError,
)
from chamelaion_tui.api.models import LipsyncRequest, Page, Pagination
from chamelaion_tui.refresh.loop import (
    PageLoaded,
    Refresher,
    RefreshEvent,
    RefreshFailed,
    RequestGone,
    RequestLoaded,
    Source,
)
from chamelaion_tui.refresh.policy import PauseReason, RefreshPolicy, View

START = 1000.0
"""Where the fake clocks start."""

SAFETY_TIMEOUT = 10.0
"""Upper bound for waiting on a running loop; reached only if a test fails."""


class FakeClock:
    """Monotonic seconds that move when the test moves them."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self.now += seconds


class TickingClock(FakeClock):
    """A fake clock that moves ``tick`` seconds each time it is read, so a
    running loop's pauses end without anyone sleeping."""

    def __init__(self, tick: float) -> None:
        super().__init__()
        self.tick = tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def row(request_id: str, status: str = "processing") -> LipsyncRequest:
    """One request, as the fake API describes it."""
    return LipsyncRequest(id=request_id, status=status)


def page(*items: LipsyncRequest) -> Page:
    """A page holding ``items`` and nothing else."""
    return Page(
        items=items, pagination=Pagination(limit=20, offset=0, total=len(items))
    )


ListResult = Page | Exception
GetResult = LipsyncRequest | Exception


class FakeSource:
    """An in-memory stand-in for :class:`ChamelaionClient`.

    List calls answer from ``pages`` in order (the last one repeats); GETs
    answer from ``requests``, and an id missing there is a 404. Hooks let a
    test act while a call is "in flight".
    """

    def __init__(self, *pages: ListResult) -> None:
        self.pages = list(pages) or [page()]
        self.requests: dict[str, GetResult] = {}
        self.list_calls: list[tuple[int, int, str | None]] = []
        self.get_calls: list[str] = []
        self.during_list: Callable[[], None] | None = None
        self.gates: dict[str, asyncio.Event] = {}
        self.cancelled: list[str] = []
        self.running = 0
        self.most_running = 0

    async def list_requests(
        self, *, limit: int = 20, offset: int = 0, reference_id: str | None = None
    ) -> Page:
        """Answer the next prepared page, or raise the next prepared error."""
        self.list_calls.append((limit, offset, reference_id))
        if self.during_list is not None:
            self.during_list()
        result = self.pages.pop(0) if len(self.pages) > 1 else self.pages[0]
        if isinstance(result, Exception):
            raise result
        return result

    async def get_request(self, id_or_reference: str) -> LipsyncRequest:
        """Answer one request, after its gate (if any) opens."""
        self.get_calls.append(id_or_reference)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            gate = self.gates.get(id_or_reference)
            if gate is not None:
                await gate.wait()
        except asyncio.CancelledError:
            self.cancelled.append(id_or_reference)
            raise
        finally:
            self.running -= 1
        result = self.requests.get(id_or_reference)
        if result is None:
            raise NotFound(f"no request {id_or_reference}", status=404)
        if isinstance(result, Exception):
            raise result
        return result


class Harness:
    """A refresher wired to a fake source and clock, recording its events."""

    def __init__(
        self,
        source: FakeSource,
        clock: FakeClock | None = None,
        **options: float,
    ) -> None:
        self.clock = clock or FakeClock()
        self.source = source
        self.policy = RefreshPolicy(clock=self.clock)
        self.events: list[RefreshEvent] = []
        typed: Source = source
        self.refresher = Refresher(
            typed,
            self.policy,
            self.events.append,
            max_concurrent_gets=int(options.get("max_concurrent_gets", 4)),
            time_scale=options.get("time_scale", 1.0),
        )

    def failures(self) -> list[RefreshFailed]:
        """The failure events so far."""
        return [e for e in self.events if isinstance(e, RefreshFailed)]


async def with_row_off_page(source: FakeSource) -> Harness:
    """A harness where ``a`` is on the page and ``b`` was pushed off it, so
    the next plan GETs ``b`` by id."""
    source.pages = [page(row("a"), row("b")), page(row("a"))]
    harness = Harness(source)
    await harness.refresher.run_once()
    harness.clock.advance(2.0)
    await harness.refresher.run_once()
    assert harness.policy.plan().get_ids == ("b",)
    harness.events.clear()
    return harness


# -- one cycle ----------------------------------------------------------------


async def test_run_once_reads_the_page_and_reports_it() -> None:
    """The first cycle reads the visible page with the view's parameters and
    reports it, stamped with the policy clock's time."""
    listed = page(row("a"), row("c", "completed"))
    harness = Harness(FakeSource(listed))
    view = View(reference_id="batch-2026-04", offset=20, limit=10)
    harness.policy.set_view(view)
    await harness.refresher.run_once()
    assert harness.source.list_calls == [(10, 20, "batch-2026-04")]
    assert harness.events == [PageLoaded(view, listed, START)]
    assert harness.refresher.cycles == 1
    assert harness.policy.in_flight_count == 1


async def test_run_once_does_nothing_when_nothing_is_due() -> None:
    """Between due times a cycle makes no call and reports nothing."""
    harness = Harness(FakeSource(page(row("a"))))
    await harness.refresher.run_once()
    harness.events.clear()
    harness.clock.advance(1.0)
    await harness.refresher.run_once()
    assert harness.events == []
    assert len(harness.source.list_calls) == 1
    assert harness.refresher.cycles == 1


async def test_a_page_for_a_view_that_changed_in_flight_is_dropped() -> None:
    """The person moves to another filter while the list call is out: its
    answer belongs to the old view and must not reach the screen. The new view
    is read on the next cycle."""
    harness = Harness(FakeSource(page(row("old")), page(row("new"))))
    new_view = View(reference_id="other")

    def change_view() -> None:
        harness.source.during_list = None
        harness.policy.set_view(new_view)

    harness.source.during_list = change_view
    await harness.refresher.run_once()
    assert harness.events == []
    assert harness.policy.in_flight_count == 0
    assert harness.policy.plan().list_page
    await harness.refresher.run_once()
    assert harness.events == [PageLoaded(new_view, page(row("new")), START)]
    assert harness.source.list_calls[-1] == (20, 0, "other")


async def test_rows_off_the_page_are_fetched_by_id() -> None:
    """A row pushed off the page is GET by id and reported on its own."""
    source = FakeSource()
    source.requests["b"] = row("b", "completed")
    harness = await with_row_off_page(source)
    harness.clock.advance(0.5)
    await harness.refresher.run_once()
    assert source.get_calls == ["b"]
    assert harness.events == [RequestLoaded(row("b", "completed"), START + 2.5)]
    assert harness.policy.in_flight_count == 1


async def test_not_found_on_a_get_reports_the_request_gone() -> None:
    """A followed request that now answers 404 is reported gone and forgotten,
    without pausing anything."""
    harness = await with_row_off_page(FakeSource())
    await harness.refresher.run_once()
    assert harness.events == [RequestGone("b")]
    assert harness.policy.in_flight_count == 1
    assert harness.policy.pause_reason is None


async def test_gets_for_a_view_that_changed_in_flight_are_dropped() -> None:
    """GET answers that arrive after the view changed are not reported."""
    source = FakeSource()
    source.requests["b"] = row("b")
    source.gates["b"] = asyncio.Event()
    harness = await with_row_off_page(source)
    cycle = asyncio.create_task(harness.refresher.run_once())
    await asyncio.sleep(0)
    harness.policy.set_view(View(offset=20))
    source.gates["b"].set()
    await cycle
    assert harness.events == []


async def test_gets_run_a_few_at_a_time() -> None:
    """Many off-page rows are fetched at most ``max_concurrent_gets`` at once."""
    ids = [f"r{n}" for n in range(6)]
    source = FakeSource(page(*(row(i) for i in ids)), page())
    for request_id in ids:
        source.requests[request_id] = row(request_id)
    gate = asyncio.Event()
    source.gates = dict.fromkeys(ids, gate)
    harness = Harness(source, max_concurrent_gets=2)
    await harness.refresher.run_once()
    harness.clock.advance(2.0)
    await harness.refresher.run_once()
    harness.events.clear()
    cycle = asyncio.create_task(harness.refresher.run_once())
    for _ in range(5):
        await asyncio.sleep(0)
    assert source.running == 2
    gate.set()
    await cycle
    assert sorted(source.get_calls) == ids
    assert source.most_running == 2
    assert len(harness.events) == 6


# -- failures -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "reason", "wait"),
    [
        (ServerError("down", status=503), PauseReason.OUTAGE, 2.0),
        (RateLimited("slow", retry_after=7.0), PauseReason.RATE_LIMITED, 7.0),
        (AuthError("refused", status=401), PauseReason.AUTH, None),
    ],
)
async def test_api_errors_are_reported_and_pause(
    error: ApiError, reason: PauseReason, wait: float | None
) -> None:
    """An API error becomes one :class:`RefreshFailed` carrying the pause it
    caused and when polling resumes, so the UI can show a countdown."""
    harness = Harness(FakeSource(error))
    await harness.refresher.run_once()
    resume_at = None if wait is None else START + wait
    assert harness.events == [RefreshFailed(error, reason, resume_at)]
    assert harness.policy.pause_reason is reason
    assert harness.policy.plan().empty


async def test_an_unexpected_exception_is_reported_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug or surprise inside the source (here a ``RuntimeError``) must not
    end the loop: it is logged with its traceback, reported as a failure the
    UI can show, and backed off like an outage."""
    harness = Harness(FakeSource(RuntimeError("parser exploded")))
    with caplog.at_level(logging.ERROR):
        await harness.refresher.run_once()
    (failure,) = harness.events
    assert isinstance(failure, RefreshFailed)
    assert isinstance(failure.error, ApiError)
    assert "RuntimeError" in failure.error.message
    assert "parser exploded" in failure.error.message
    assert failure.reason is PauseReason.OUTAGE
    assert failure.resume_at == START + 2.0
    assert any(record.exc_info for record in caplog.records)


async def test_an_error_on_one_get_stops_the_other_gets() -> None:
    """Regression: when one GET failed, the cycle reported the failure but the
    other GETs kept running in the background. Their requests went on during
    the pause, and a late 404 among them cleared the pause and reported a
    RequestGone after the cycle had ended, overlapping the next cycle."""
    source = FakeSource()
    source.pages = [page(row("a"), row("b")), page()]
    source.requests["a"] = ServerError("down", status=503)
    source.gates["b"] = asyncio.Event()
    harness = Harness(source)
    await harness.refresher.run_once()
    harness.clock.advance(2.0)
    await harness.refresher.run_once()
    harness.events.clear()
    await harness.refresher.run_once()
    assert source.cancelled == ["b"]
    source.gates["b"].set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert [type(e) for e in harness.events] == [RefreshFailed]
    assert harness.policy.pause_reason is PauseReason.OUTAGE


# -- the running loop ---------------------------------------------------------


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel a running loop and check that it ends by cancellation only."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_run_keeps_going_after_errors() -> None:
    """Two failures in a row (one unexpected, one from the API) pause the loop,
    and it carries on by itself to a successful read; cancelling it ends it
    cleanly. The clock ticks on every read and the time scale is huge, so the
    back-off pauses pass without any real waiting."""
    source = FakeSource(RuntimeError("boom"), ServerError("down"), page(row("a")))
    harness = Harness(source, TickingClock(0.5), time_scale=1e9)
    loaded = asyncio.Event()

    def record(event: RefreshEvent) -> None:
        harness.events.append(event)
        if isinstance(event, PageLoaded):
            loaded.set()

    harness.refresher._on_event = record
    task = asyncio.create_task(harness.refresher.run())
    await asyncio.wait_for(loaded.wait(), SAFETY_TIMEOUT)
    await stop(task)
    kinds = [type(e) for e in harness.events]
    assert kinds[:3] == [RefreshFailed, RefreshFailed, PageLoaded]
    assert harness.policy.pause_reason is None
    assert len(source.list_calls) >= 3


async def test_wake_resumes_a_loop_paused_without_a_timer() -> None:
    """A refused key pauses with no wake time; after the person fixes it and
    presses ``r`` (``refresh_now`` and ``wake``) the loop reads at once. No
    time passes on the fake clock at all."""
    source = FakeSource(AuthError("refused", status=401), page(row("a")))
    harness = Harness(source)
    changed = asyncio.Event()

    def record(event: RefreshEvent) -> None:
        harness.events.append(event)
        changed.set()

    harness.refresher._on_event = record
    task = asyncio.create_task(harness.refresher.run())
    await asyncio.wait_for(changed.wait(), SAFETY_TIMEOUT)
    changed.clear()
    assert harness.policy.pause_reason is PauseReason.AUTH
    harness.policy.refresh_now()
    harness.refresher.wake()
    await asyncio.wait_for(changed.wait(), SAFETY_TIMEOUT)
    await stop(task)
    assert [type(e) for e in harness.events] == [RefreshFailed, PageLoaded]
    assert harness.clock.now == START


async def test_a_refused_get_forgets_that_request_only() -> None:
    """A 422 for one followed id drops that id without pausing the others."""
    harness = await with_row_off_page(FakeSource())
    harness.source.requests["b"] = RequestRejected("bad id", status=422)
    await harness.refresher.run_once()
    assert harness.events == [RequestGone("b")]
    assert harness.policy.pause_reason is None
    assert harness.policy.in_flight_count == 1
