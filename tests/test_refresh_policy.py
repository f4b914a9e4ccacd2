"""Tests for :class:`RefreshPolicy`: when to ask the API what.

The policy does no I/O and reads time from an injected clock, so every test
here steps a :class:`FakeClock` by hand (invariant 8) and tells the policy what
the API "answered". The tests pin down the schedule the design promises (2 s,
x1.5, capped at 15 s, reset on a status change), the coalescing of due rows into
one list call, following rows that left the page, the slow idle re-read, and
the global pauses for rate limits, outages, a refused key and the person.
"""

from __future__ import annotations

import itertools

import pytest

from chamelaion_tui.api.errors import (
    AuthError,
    BadResponse,
    RateLimited,
    ServerError,
    TransportError,
)
from chamelaion_tui.api.models import LipsyncRequest
from chamelaion_tui.refresh.policy import (
    MAX_RETRY_AFTER,
    Backoff,
    PauseReason,
    Plan,
    RefreshPolicy,
    View,
)

START = 1000.0
"""Where the fake clock starts; not zero, so "0" bugs cannot hide."""


class FakeClock:
    """Monotonic seconds that move only when the test moves them."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self.now += seconds


def row(request_id: str, status: str = "processing") -> LipsyncRequest:
    """A request as the API would describe it, with just what the policy reads."""
    return LipsyncRequest(id=request_id, status=status)


def loaded(*rows: LipsyncRequest) -> tuple[FakeClock, RefreshPolicy]:
    """A policy whose first page read returned ``rows``, at ``START``."""
    clock = FakeClock()
    policy = RefreshPolicy(clock=clock)
    assert policy.plan().list_page
    policy.page_loaded(rows)
    return clock, policy


def step(clock: FakeClock, policy: RefreshPolicy) -> Plan:
    """Sleep (in fake time) until the policy's wake time, then plan again."""
    idle = policy.plan()
    assert idle.empty, idle
    assert idle.wake_at is not None
    assert idle.wake_at > clock.now
    clock.now = idle.wake_at
    return policy.plan()


# -- the per-row schedule -----------------------------------------------------


def test_first_plan_reads_the_page() -> None:
    """A fresh policy wants the page at once, and no GET of anything."""
    policy = RefreshPolicy(clock=FakeClock())
    plan = policy.plan()
    assert plan == Plan(list_page=True, get_ids=(), wake_at=START)
    assert not plan.empty


def test_backoff_schedule_is_2_then_x1_5_capped_at_15() -> None:
    """Regression: one in-flight row is re-read after exactly 2, 3, 4.5, 6.75,
    10.125 s, then every 15 s. The policy used to poll each row a quarter of
    its delay early (1.5, 2.25, ... capped at 11.25 s), because the slack that
    lets rows share a call also triggered the call."""
    clock, policy = loaded(row("a"))
    times = [clock.now]
    for _ in range(9):
        plan = step(clock, policy)
        assert plan.list_page
        assert plan.get_ids == ()
        policy.page_loaded([row("a")])
        times.append(clock.now)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps == pytest.approx([2, 3, 4.5, 6.75, 10.125, 15, 15, 15, 15])


def test_backoff_arithmetic() -> None:
    """The schedule object itself: x1.5 until the cap, and no further."""
    backoff = Backoff()
    assert (backoff.initial, backoff.factor, backoff.cap) == (2.0, 1.5, 15.0)
    assert backoff.after(2.0) == 3.0
    assert backoff.after(10.125) == 15.0
    assert backoff.after(15.0) == 15.0


def test_status_change_resets_the_delay_to_2() -> None:
    """A row moving from queued to processing is likely to move again soon, so
    its delay starts over at 2 s."""
    clock, policy = loaded(row("a", "queued"))
    for _ in range(4):
        assert step(clock, policy).list_page
        policy.page_loaded([row("a", "queued")])
    assert step(clock, policy).list_page
    changed_at = clock.now
    policy.page_loaded([row("a", "processing")])
    assert step(clock, policy).list_page
    assert clock.now - changed_at == pytest.approx(2.0)
    policy.page_loaded([row("a", "processing")])
    before = clock.now
    assert step(clock, policy).list_page
    assert clock.now - before == pytest.approx(3.0)


def test_a_page_read_between_polls_does_not_advance_a_row() -> None:
    """A read caused by something else, well before a row is due, refreshes its
    data but leaves its schedule alone (its 2 s stays 2 s)."""
    clock, policy = loaded(row("a"))
    clock.advance(0.5)
    policy.page_loaded([row("a")])
    assert step(clock, policy).list_page
    assert clock.now == pytest.approx(START + 2.0)


def test_many_due_rows_share_one_list_call() -> None:
    """Twenty in-flight rows that are due are refreshed by one read of the
    page, with no GET by id at all."""
    rows = [row(f"r{n}") for n in range(20)]
    clock, policy = loaded(*rows)
    plan = step(clock, policy)
    assert plan.list_page
    assert plan.get_ids == ()
    policy.page_loaded(rows)
    assert policy.plan().empty


def test_rows_close_to_due_join_the_call() -> None:
    """A row that would be due within a quarter of its delay is refreshed with
    the one that is due now and rescheduled with it, so the two then share
    every later call instead of costing two."""
    clock, policy = loaded(row("a"))
    clock.advance(0.3)
    policy.page_loaded([row("a"), row("b")])
    plan = step(clock, policy)
    assert plan.list_page
    assert clock.now == pytest.approx(START + 2.0)
    policy.page_loaded([row("a"), row("b")])
    plan = step(clock, policy)
    assert clock.now == pytest.approx(START + 5.0)
    policy.page_loaded([row("a"), row("b")])
    assert step(clock, policy).list_page
    assert clock.now == pytest.approx(START + 9.5)


def test_final_rows_are_not_polled() -> None:
    """Completed and failed rows never change again: no schedule for them."""
    _clock, policy = loaded(row("c", "completed"), row("f", "failed"))
    assert policy.in_flight_count == 0
    plan = policy.plan()
    assert plan.empty
    assert plan.wake_at == START + policy.idle_interval


def test_a_row_that_finishes_stops_being_polled() -> None:
    """Once the page shows a row final, its schedule is gone."""
    clock, policy = loaded(row("a"))
    assert step(clock, policy).list_page
    policy.page_loaded([row("a", "completed")])
    assert policy.in_flight_count == 0
    assert policy.plan().wake_at == clock.now + policy.idle_interval


@pytest.mark.parametrize("status", ["paused_by_operator", "unknown", "QUEUED"])
def test_unknown_status_is_not_polled(status: str) -> None:
    """An undocumented status is treated as final: polling it forever would
    cost calls for a row that may never change."""
    _clock, policy = loaded(row("a", status))
    assert policy.in_flight_count == 0
    assert policy.plan().wake_at == START + policy.idle_interval


def test_nothing_in_flight_rereads_the_page_every_idle_interval() -> None:
    """With nothing moving the page is still re-read, every 30 s and no more
    often, so new submissions and a changed total appear."""
    clock, policy = loaded(row("c", "completed"))
    assert policy.idle_interval == 30.0
    for _ in range(3):
        start = clock.now
        clock.advance(29.9)
        assert policy.plan().empty
        plan = step(clock, policy)
        assert plan.list_page
        assert clock.now == pytest.approx(start + 30.0)
        policy.page_loaded([row("c", "completed")])


def test_a_new_submission_seen_on_an_idle_read_is_polled() -> None:
    """A request that appears in flight on an idle re-read starts its own 2 s
    schedule."""
    clock, policy = loaded()
    assert step(clock, policy).list_page
    policy.page_loaded([row("new", "queued")])
    read_at = clock.now
    assert step(clock, policy).list_page
    assert clock.now == pytest.approx(read_at + 2.0)


# -- rows that leave the page -------------------------------------------------


def test_in_flight_rows_that_left_the_page_are_followed_by_id() -> None:
    """New submissions push in-flight rows off the page: those are then asked
    for by id, while the rows still on the page ride on the list call."""
    clock, policy = loaded(row("a"), row("b"), row("c"))
    assert step(clock, policy).list_page
    policy.page_loaded([row("new", "queued"), row("a")])
    plan = policy.plan()
    assert not plan.list_page
    assert set(plan.get_ids) == {"b", "c"}
    assert policy.in_flight_count == 4


def test_followed_rows_are_dropped_once_final() -> None:
    """A row off the page that finishes is read once more and then let go."""
    clock, policy = loaded(row("a"), row("b"))
    assert step(clock, policy).list_page
    policy.page_loaded([row("a")])
    assert policy.plan().get_ids == ("b",)
    policy.request_loaded(row("b", "completed"))
    assert policy.in_flight_count == 1
    assert "b" not in policy.plan().get_ids


def test_followed_rows_are_dropped_on_404() -> None:
    """A row the API no longer knows is forgotten."""
    clock, policy = loaded(row("a"), row("b"))
    assert step(clock, policy).list_page
    policy.page_loaded([row("a")])
    policy.request_gone("b")
    assert policy.in_flight_count == 1
    assert policy.plan().get_ids == ()


def test_followed_rows_keep_their_own_backoff() -> None:
    """An off-page row still in flight is GET by id on its 2, 3, 4.5 schedule."""
    clock, policy = loaded(row("a", "completed"), row("b"))
    assert step(clock, policy).list_page
    policy.page_loaded([row("a", "completed")])
    assert policy.plan().get_ids == ("b",)
    policy.request_loaded(row("b", "queued"))
    times = [clock.now]
    for _ in range(3):
        plan = step(clock, policy)
        assert plan.get_ids == ("b",)
        assert not plan.list_page
        policy.request_loaded(row("b", "queued"))
        times.append(clock.now)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps == pytest.approx([2.0, 3.0, 4.5])


def test_a_followed_row_back_on_the_page_is_no_longer_fetched_by_id() -> None:
    """If the row returns to the visible page, the list call covers it again."""
    clock, policy = loaded(row("a"), row("b"))
    assert step(clock, policy).list_page
    policy.page_loaded([row("a")])
    policy.page_loaded([row("a"), row("b")])
    assert policy.plan().get_ids == ()
    assert policy.in_flight_count == 2


def test_off_page_rows_are_bounded() -> None:
    """Cost follows what is visible (invariant 7): at most ``max_off_page``
    rows are followed off the page, the oldest let go first."""
    clock = FakeClock()
    policy = RefreshPolicy(clock=clock, max_off_page=3)
    policy.page_loaded([row(f"r{n}") for n in range(6)])
    clock.advance(2)
    policy.page_loaded([])
    assert policy.in_flight_count == 3
    assert set(policy.plan().get_ids) == {"r3", "r4", "r5"}


def test_pinned_request_is_fetched_by_id_until_final() -> None:
    """The detail of a request not on the page is followed by GET on request,
    and let go when it is final."""
    _clock, policy = loaded()
    policy.pin("elsewhere")
    assert policy.plan().get_ids == ("elsewhere",)
    policy.request_loaded(row("elsewhere", "processing"))
    assert policy.in_flight_count == 1
    policy.request_loaded(row("elsewhere", "completed"))
    assert policy.in_flight_count == 0
    policy.pin("other")
    policy.unpin("other")
    assert policy.plan().get_ids == ()


# -- the view -----------------------------------------------------------------


def test_set_view_bumps_the_generation_and_forgets_old_rows() -> None:
    """A new page or filter starts over: results for the old one are stale
    (the generation tells), its rows are not followed, the page is read now."""
    clock, policy = loaded(row("a"), row("b"))
    assert step(clock, policy).list_page
    policy.page_loaded([row("a")])
    before = policy.generation
    view = View(reference_id="batch-2026-04", offset=20, limit=10)
    assert policy.set_view(view) == before + 1
    assert policy.generation == before + 1
    assert policy.view == view
    assert policy.in_flight_count == 0
    assert policy.plan() == Plan(list_page=True, get_ids=(), wake_at=clock.now)


def test_refresh_now_makes_the_page_due_at_once() -> None:
    """Pressing ``r`` reads the page now, even in the middle of an idle wait."""
    clock, policy = loaded(row("c", "completed"))
    clock.advance(5)
    assert policy.plan().empty
    policy.refresh_now()
    assert policy.plan().list_page


def test_refresh_now_makes_followed_rows_due() -> None:
    """Off-page rows are fetched at once too."""
    clock, policy = loaded(row("a"), row("b"))
    assert step(clock, policy).list_page
    policy.page_loaded([row("a")])
    policy.request_loaded(row("b"))
    assert policy.plan().empty
    policy.refresh_now()
    assert policy.plan().get_ids == ("b",)


# -- pauses -------------------------------------------------------------------


def test_rate_limit_pauses_exactly_for_retry_after() -> None:
    """A 429 with ``Retry-After: 7`` stops every call for exactly 7 seconds,
    shows when polling resumes, and then plans the page again."""
    clock, policy = loaded(row("a"))
    failed_at = clock.now
    policy.failed(RateLimited("slow down", retry_after=7.0))
    assert policy.pause_reason is PauseReason.RATE_LIMITED
    assert policy.resume_at == failed_at + 7.0
    plan = policy.plan()
    assert plan.empty
    assert plan.wake_at == failed_at + 7.0
    clock.advance(6.999)
    assert policy.plan().empty
    clock.now = failed_at + 7.0
    assert policy.pause_reason is None
    assert policy.resume_at is None
    assert policy.plan().list_page


def test_rate_limit_without_retry_after_backs_off() -> None:
    """A 429 that does not say how long waits like an outage: 2 s, then 4 s."""
    clock, policy = loaded()
    policy.failed(RateLimited("slow down", retry_after=None))
    assert policy.pause_reason is PauseReason.RATE_LIMITED
    assert policy.resume_at == clock.now + 2.0
    clock.advance(2.0)
    policy.failed(RateLimited("slow down", retry_after=None))
    assert policy.resume_at == clock.now + 4.0


def test_refresh_now_does_not_override_a_rate_limit() -> None:
    """The API said when to come back; pressing ``r`` does not break that."""
    _clock, policy = loaded()
    policy.failed(RateLimited("slow down", retry_after=30.0))
    policy.refresh_now()
    assert policy.pause_reason is PauseReason.RATE_LIMITED
    assert policy.plan().empty


def test_repeated_outages_back_off_exponentially_to_60() -> None:
    """Each failure in a row doubles the wait, 2, 4, 8 ... capped at 60 s, and
    the countdown (``resume_at``) says so; when it ends the page is tried."""
    clock = FakeClock()
    policy = RefreshPolicy(clock=clock)
    waits = []
    for _ in range(9):
        policy.failed(ServerError("down", status=503))
        assert policy.pause_reason is PauseReason.OUTAGE
        assert policy.resume_at is not None
        waits.append(policy.resume_at - clock.now)
        clock.now = policy.resume_at
        assert policy.plan().list_page
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60, 60]


def test_a_long_outage_does_not_overflow_the_backoff() -> None:
    """Regression: the wait was ``2.0 * 2 ** failures`` before the cap, which
    raised ``OverflowError`` after about 1,025 failures in a row (some 17
    hours offline at 60 s apart) and so killed the refresh loop."""
    clock, policy = loaded()
    for _ in range(2_000):
        policy.failed(TransportError("cannot connect"))
        assert policy.resume_at is not None
        clock.now = policy.resume_at
    policy.failed(TransportError("cannot connect"))
    assert policy.resume_at == clock.now + 60.0


@pytest.mark.parametrize(
    "error", [TransportError("x"), BadResponse("x"), ServerError("x", status=502)]
)
def test_other_errors_pause_as_an_outage(error: Exception) -> None:
    """Anything but a 429 or a refused key is treated as an outage."""
    _clock, policy = loaded()
    assert isinstance(error, TransportError | BadResponse | ServerError)
    policy.failed(error)
    assert policy.pause_reason is PauseReason.OUTAGE


def test_refused_key_pauses_until_refresh_now() -> None:
    """A refused key will not fix itself: polling stops with no timer (no
    ``resume_at``), however long one waits, until the person presses ``r``."""
    clock, policy = loaded(row("a"))
    policy.failed(AuthError("refused", status=401))
    assert policy.pause_reason is PauseReason.AUTH
    assert policy.resume_at is None
    assert policy.plan() == Plan(wake_at=None)
    clock.advance(1_000_000)
    assert policy.pause_reason is PauseReason.AUTH
    assert policy.plan().empty
    policy.refresh_now()
    assert policy.pause_reason is None
    assert policy.plan().list_page


def test_refresh_now_lifts_an_outage_pause() -> None:
    """During an outage countdown ``r`` tries again at once."""
    _clock, policy = loaded()
    policy.failed(TransportError("cannot connect"))
    policy.refresh_now()
    assert policy.pause_reason is None
    assert policy.plan().list_page


def test_success_clears_the_pause_and_the_failure_count() -> None:
    """After a good answer the next failure waits 2 s again, not 8."""
    clock, policy = loaded()
    for _ in range(3):
        policy.failed(ServerError("down"))
        assert policy.resume_at is not None
        clock.now = policy.resume_at
    policy.page_loaded([])
    assert policy.pause_reason is None
    policy.failed(ServerError("down"))
    assert policy.resume_at == clock.now + 2.0


@pytest.mark.parametrize("success", ["request_loaded", "request_gone"])
def test_a_successful_get_clears_the_pause(success: str) -> None:
    """A GET that answered (even with 404) shows the API is back."""
    _clock, policy = loaded()
    policy.failed(ServerError("down"))
    if success == "request_loaded":
        policy.request_loaded(row("a", "completed"))
    else:
        policy.request_gone("a")
    assert policy.pause_reason is None


def test_user_pause_stops_everything_until_resumed() -> None:
    """The person can pause polling; nothing is planned and no wake time is
    given until they resume, and then the due work happens."""
    clock, policy = loaded(row("a"))
    policy.set_user_paused(True)
    assert policy.pause_reason is PauseReason.USER
    assert policy.resume_at is None
    clock.advance(100)
    assert policy.plan() == Plan(wake_at=None)
    policy.set_user_paused(False)
    assert policy.pause_reason is None
    assert policy.plan().list_page


def test_user_pause_has_no_countdown_even_after_a_rate_limit() -> None:
    """Regression: a user pause reported the end of an earlier (even expired)
    rate limit as its ``resume_at``, a countdown to a time already gone."""
    clock, policy = loaded()
    policy.failed(RateLimited("slow", retry_after=5.0))
    clock.advance(10)
    policy.set_user_paused(True)
    assert policy.pause_reason is PauseReason.USER
    assert policy.resume_at is None


# -- cost over time -----------------------------------------------------------


def single_row_polls(duration: float) -> int:
    """How many reads one in-flight row alone costs over ``duration`` seconds."""
    clock, policy = loaded(row("only"))
    polls = 0
    while True:
        plan = step(clock, policy)
        if clock.now > START + duration:
            return polls
        assert plan.list_page
        polls += 1
        policy.page_loaded([row("only")])


def test_fifty_rows_entering_at_different_times_coalesce() -> None:
    """Fifty requests enter processing 0.37 s apart, and each is noticed by a
    read of its own at that moment, so every row starts its own schedule at a
    different phase. Stepping the clock to every wake time for five simulated
    minutes must cost far fewer reads than fifty rows each polled alone (what
    per-row GETs would cost), and none by id."""
    duration = 300.0
    clock = FakeClock()
    policy = RefreshPolicy(clock=clock)
    entered: list[LipsyncRequest] = []
    read_at: list[float] = []
    gets = 0

    def read_page() -> None:
        read_at.append(clock.now - START)
        policy.page_loaded(entered)

    while clock.now <= START + duration:
        plan = policy.plan()
        gets += len(plan.get_ids)
        if plan.list_page:
            read_page()
        wake_at = policy.plan().wake_at
        assert wake_at is not None
        next_entry = START + len(entered) * 0.37
        if len(entered) < 50 and next_entry < wake_at:
            clock.now = max(clock.now, next_entry)
            entered.append(row(f"r{len(entered)}"))
            read_page()
        else:
            clock.now = wake_at
    per_row = single_row_polls(duration)
    assert per_row == 23
    assert gets == 0
    assert len(read_at) * 8 < 50 * per_row
    settled = [at for at in read_at if at >= duration / 2]
    assert len(settled) <= 4 * (duration / 2) / policy.backoff.cap


def test_an_absurd_retry_after_is_capped() -> None:
    """A Retry-After of centuries pauses for the cap, never for good."""
    clock, policy = loaded(row("a"))
    policy.failed(RateLimited("slow down", retry_after=1e308))
    assert policy.resume_at == clock.now + MAX_RETRY_AFTER


def test_pinned_requests_survive_a_view_change() -> None:
    """A request pinned by id stays followed when the page or filter changes."""
    clock, policy = loaded(row("a"))
    policy.pin("x")
    policy.set_view(View(reference_id="other"))
    plan = policy.plan()
    assert plan.list_page and plan.get_ids == ("x",)
    assert clock.now == START
