"""Tests for :class:`BatchTracker`: counts, changes, ETA, stuck jobs, failures.

Every request is made by hand with times in seconds after :data:`T0`, and
every ``now`` is fixed, so each answer can be worked out on paper.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chamelaion_tui.api import LipsyncRequest
from chamelaion_tui.batch import (
    COUNT_KEYS,
    NO_MESSAGE,
    BatchTracker,
    Change,
    Estimate,
)

T0 = datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC)
"""Second 0 of every scenario here."""


def at(seconds: float | None) -> datetime | None:
    """The instant ``seconds`` after :data:`T0`, or None."""
    return None if seconds is None else T0 + timedelta(seconds=seconds)


def job(
    number: int,
    status: str,
    *,
    created: float | None = 0,
    started: float | None = None,
    finished: float | None = None,
    message: str | None = None,
    reference: str | None = "batch-a",
) -> LipsyncRequest:
    """One request with an id built from ``number`` and times in seconds."""
    return LipsyncRequest(
        id=f"{number:08x}-0000-4000-8000-000000000000",
        status=status,
        reference_id=reference,
        created_at=at(created),
        started_at=at(started),
        finished_at=at(finished),
        error_message=message,
    )


def two_workers(now_running: float = 30.0) -> list[LipsyncRequest]:
    """Ten 60-second jobs on two workers, 150 s in: 4 done, 2 running, 4 queued."""
    done = [
        job(0, "completed", started=0, finished=60),
        job(1, "completed", started=0, finished=60),
        job(2, "completed", started=60, finished=120),
        job(3, "failed", started=60, finished=120, message="no face"),
    ]
    running = [job(n, "processing", started=150 - now_running) for n in (4, 5)]
    queued = [job(n, "queued") for n in range(6, 10)]
    return done + running + queued


def test_empty_tracker() -> None:
    """An empty view: zero counts, no estimate, nothing stuck or failed."""
    tracker = BatchTracker()
    summary = tracker.summary(T0)
    assert dict(summary.counts) == dict.fromkeys(COUNT_KEYS, 0)
    assert (summary.loaded, summary.total, summary.fraction) == (0, 0, 0.0)
    assert summary.complete
    assert summary.eta is None
    assert summary.stuck == frozenset()
    assert tracker.failure_groups() == {}
    assert len(tracker) == 0


def test_counts_per_status_with_unknown_ones_as_other() -> None:
    """Undocumented statuses count as "other", and as finished."""
    tracker = BatchTracker()
    tracker.update(
        [
            job(1, "queued"),
            job(2, "processing", started=1),
            job(3, "completed", started=1, finished=9),
            job(4, "failed", started=1, finished=5),
            job(5, "cancelled"),
            job(6, "unknown"),
        ],
        at(10) or T0,
    )
    summary = tracker.summary(at(10) or T0)
    assert dict(summary.counts) == {
        "queued": 1,
        "processing": 1,
        "completed": 1,
        "failed": 1,
        "other": 2,
    }
    assert (summary.in_flight, summary.finished) == (2, 4)
    assert summary.fraction == pytest.approx(4 / 6)


def test_total_from_the_api_covers_what_is_not_loaded() -> None:
    """The unfiltered view holds a page; the API's total is the denominator."""
    tracker = BatchTracker()
    page = [job(n, "completed", started=0, finished=10) for n in range(20)]
    tracker.update(page, T0, total=500)
    summary = tracker.summary(T0)
    assert (summary.loaded, summary.total, summary.complete) == (20, 500, False)
    assert summary.fraction == pytest.approx(20 / 500)

    tracker.update([], T0, total=5)
    assert tracker.summary(T0).total == 20


def test_update_reports_status_changes_only() -> None:
    """First sightings are not changes; a new status is, once."""
    tracker = BatchTracker()
    now = at(100) or T0
    assert tracker.update([job(1, "queued"), job(2, "queued")], now) == []
    moved = job(1, "processing", started=50)
    changes = tracker.update([moved, job(2, "queued"), job(3, "completed")], now)
    assert changes == [Change(moved, "queued", "processing", now)]
    assert not changes[0].finished
    assert tracker.update([moved], now) == []
    assert tracker.get(moved.id) == moved
    assert moved.id in tracker
    assert {r.id for r in tracker} == {job(n, "queued").id for n in (1, 2, 3)}


def test_a_stale_answer_cannot_unfinish_a_request() -> None:
    """Completed back to processing is ignored, so it is not announced twice."""
    tracker = BatchTracker()
    done = job(1, "completed", started=0, finished=10)
    tracker.update([job(1, "processing", started=0)], T0)
    assert [c.new_status for c in tracker.update([done], T0)] == ["completed"]
    assert tracker.update([job(1, "processing", started=0)], T0) == []
    assert tracker.update([done], T0) == []
    assert tracker.get(done.id) == done


def test_forget() -> None:
    """Requests the API no longer knows can be dropped by the UI."""
    tracker = BatchTracker()
    tracker.update([job(1, "queued"), job(2, "queued")], T0)
    tracker.forget([job(1, "queued").id, "never-seen"])
    assert len(tracker) == 1


def test_memory_is_bounded_oldest_finished_first() -> None:
    """Beyond capacity the oldest finished go; in-flight ones stay."""
    tracker = BatchTracker(capacity=5)
    old_done = [
        job(n, "completed", created=n, started=n, finished=n + 1) for n in (1, 2)
    ]
    flying = [job(n, "queued", created=n) for n in (0, 3, 4)]
    new_done = [
        job(n, "completed", created=n, started=n, finished=n + 1) for n in (5, 6)
    ]
    tracker.update(old_done + flying + new_done, T0)
    assert len(tracker) == 5
    assert tracker.dropped == 2
    assert {r.id for r in tracker} == {r.id for r in flying + new_done}

    tracker.update([job(n, "queued", created=n) for n in range(10, 16)], T0)
    assert len(tracker) == 5
    assert all(r.in_flight for r in tracker)
    with pytest.raises(ValueError, match="capacity"):
        BatchTracker(capacity=0)


def test_eta_of_a_batch_on_two_workers() -> None:
    """The worked example of the ETA model, through the tracker."""
    tracker = BatchTracker()
    now = at(150) or T0
    tracker.update(two_workers(), now)
    timing = tracker.timing(now)
    assert timing.parallelism == 2
    assert timing.finish_rate == pytest.approx(4 / 120)
    expected = Estimate(timedelta(seconds=150), timedelta(seconds=180), 4)
    assert tracker.eta(now) == expected
    assert tracker.summary(now).eta == expected


def test_no_eta_until_three_have_finished() -> None:
    """One finished job and many queued give no estimate yet."""
    tracker = BatchTracker()
    tracker.update(
        [job(1, "completed", started=0, finished=60), job(2, "completed")]
        + [job(n, "queued") for n in range(3, 9)],
        at(70) or T0,
    )
    assert tracker.eta(at(70) or T0) is None


def test_all_finished_gives_zero_eta() -> None:
    """Nothing left to wait for: the estimate is zero, even for all failed."""
    tracker = BatchTracker()
    tracker.update(
        [job(n, "failed", started=0, finished=5, message="bad") for n in range(4)],
        at(10) or T0,
    )
    summary = tracker.summary(at(10) or T0)
    assert summary.eta == Estimate(timedelta(0), timedelta(0), 4)
    assert summary.fraction == 1.0
    assert summary.counts["failed"] == 4
    assert tracker.failure_groups() == {"bad": [job(n, "x").id for n in range(4)]}


def test_finished_before_started_is_not_a_sample() -> None:
    """Inconsistent timestamps are left out rather than read as zero."""
    tracker = BatchTracker()
    broken = [job(n, "completed", started=100, finished=50) for n in range(3)]
    tracker.update([*broken, job(9, "queued")], at(200) or T0)
    timing = tracker.timing(at(200) or T0)
    assert timing.processing == ()
    assert tracker.eta(at(200) or T0) is None


def test_small_clock_skew_is_corrected() -> None:
    """A server clock five minutes ahead: ``now`` moves up to the server's
    latest timestamp, so a running job's elapsed time is measured, not zero,
    and nothing is negative."""
    tracker = BatchTracker()
    local_now = T0
    ahead = 300
    finished = [
        job(
            n, "completed", created=ahead - 100, started=ahead - 90, finished=ahead - 30
        )
        for n in range(3)
    ]
    running = job(5, "processing", created=ahead - 45, started=ahead - 40)
    tracker.update([*finished, running], local_now)
    assert tracker.timing(local_now).running == (10.0,)
    expected = Estimate(timedelta(seconds=20), timedelta(seconds=50), 3)
    assert tracker.eta(local_now) == expected
    assert tracker.stuck(local_now, timedelta(seconds=30)) == frozenset()


def test_absurd_future_timestamps_do_not_move_now() -> None:
    """A date years ahead is garbage, not skew: other jobs keep their times."""
    tracker = BatchTracker()
    garbage = job(1, "completed", created=0, started=0, finished=10**9)
    queued = job(2, "queued", created=0)
    tracker.update([garbage, queued], at(60) or T0)
    assert tracker.timing(at(60) or T0).waiting == (60.0,)


def test_processing_far_longer_than_the_others_is_stuck() -> None:
    """Others took 60 s; past 3 x 60 s processing is stuck, before it is not."""
    tracker = BatchTracker()
    done = [job(n, "completed", started=0, finished=60) for n in range(5)]
    slow = job(7, "processing", started=100)
    fine = job(8, "processing", started=250)
    tracker.update([*done, slow, fine], at(300) or T0)
    assert tracker.stuck(at(300) or T0) == frozenset({slow.id})
    assert tracker.summary(at(300) or T0).stuck == frozenset({slow.id})


def test_short_jobs_are_not_flagged_before_the_floor() -> None:
    """Five-second jobs: a job is not stuck after 20 s, only after 2 minutes."""
    tracker = BatchTracker()
    done = [job(n, "completed", started=0, finished=5) for n in range(5)]
    running = job(7, "processing", started=10)
    tracker.update([*done, running], at(30) or T0)
    assert tracker.stuck(at(30) or T0) == frozenset()
    assert tracker.stuck(at(200) or T0) == frozenset({running.id})


def test_queued_behind_running_jobs_is_not_stuck() -> None:
    """In a pooled batch, the last jobs wait long because the queue is long."""
    tracker = BatchTracker()
    done = [job(n, "completed", started=n, finished=n + 60) for n in range(5)]
    running = job(6, "processing", started=3500)
    waiting = job(7, "queued", created=0)
    tracker.update([*done, running, waiting], at(3600) or T0)
    assert tracker.stuck(at(3600) or T0) == frozenset()


def test_queued_when_the_queue_stopped_moving_is_stuck() -> None:
    """Nothing processing and nothing started for long: the queue is stuck."""
    tracker = BatchTracker()
    done = [job(n, "completed", started=5, finished=65) for n in range(5)]
    waiting = job(7, "queued", created=0)
    tracker.update([*done, waiting], at(100) or T0)
    assert tracker.stuck(at(100) or T0) == frozenset()
    assert tracker.stuck(at(400) or T0) == frozenset({waiting.id})


def test_ceiling_flags_without_any_samples() -> None:
    """With no finished jobs, only the ceiling applies, counted from creation."""
    tracker = BatchTracker()
    old = job(1, "queued", created=0)
    young = job(2, "processing", created=3000, started=3100)
    tracker.update([old, young], at(4000) or T0)
    assert tracker.stuck(at(4000) or T0) == frozenset()
    ceiling = timedelta(hours=1)
    assert tracker.stuck(at(4000) or T0, ceiling) == frozenset({old.id})
    summary = tracker.summary(at(4000) or T0, ceiling=ceiling)
    assert summary.stuck == frozenset({old.id})


def test_failure_groups() -> None:
    """Grouped after stripping, largest first, blank ones together, safe keys."""
    tracker = BatchTracker()
    failed = [
        job(1, "failed", message="no face detected"),
        job(2, "failed", message="  no face detected\n"),
        job(3, "failed", message="no face detected"),
        job(4, "failed", message=None),
        job(5, "failed", message="   "),
        job(6, "failed", message="\x1b]52;c;aGk=\x07 bad"),
        job(7, "failed", message="audio too long"),
        job(8, "completed", message="ignored"),
    ]
    tracker.update(failed, T0)
    groups = tracker.failure_groups()
    assert list(groups) == [
        "no face detected",
        NO_MESSAGE,
        "audio too long",
        "␛]52;c;aGk=␇ bad",
    ]
    assert groups["no face detected"] == [failed[i].id for i in (0, 1, 2)]
    assert groups[NO_MESSAGE] == [failed[3].id, failed[4].id]


times = st.none() | st.integers(min_value=-(10**6), max_value=10**6)


@given(
    specs=st.lists(
        st.tuples(
            st.sampled_from(["queued", "processing", "completed", "failed", "??"]),
            times,
            times,
            times,
        ),
        max_size=30,
    ),
    now=st.integers(min_value=-(10**6), max_value=10**6),
    ceiling=st.none() | st.integers(min_value=0, max_value=10**5),
)
def test_answers_stay_sane_on_any_data(
    specs: list[tuple[str, int | None, int | None, int | None]],
    now: int,
    ceiling: int | None,
) -> None:
    """Whatever the timestamps, counts add up, the ETA is an ordered range
    of non-negative times, and only in-flight requests are stuck."""
    tracker = BatchTracker()
    requests = [
        job(n, status, created=c, started=s, finished=f)
        for n, (status, c, s, f) in enumerate(specs)
    ]
    moment = at(now) or T0
    tracker.update(requests, moment)
    limit = None if ceiling is None else timedelta(seconds=ceiling)
    summary = tracker.summary(moment, ceiling=limit)
    assert sum(summary.counts.values()) == summary.loaded == len(requests)
    if summary.eta is not None:
        assert timedelta(0) <= summary.eta.low <= summary.eta.high
    in_flight = {r.id for r in requests if r.in_flight}
    assert summary.stuck <= in_flight
