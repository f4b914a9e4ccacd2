"""Tests for the ETA and stuck arithmetic of :mod:`chamelaion_tui.batch.estimate`.

These work on plain seconds, so each case states its numbers and the answer
the model must give for them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chamelaion_tui.batch import (
    MIN_FINISHED,
    STUCK_FLOOR,
    Estimate,
    Timing,
    estimate,
    peak_overlap,
    quantile,
    stuck_threshold,
)
from chamelaion_tui.batch.estimate import LONGEST


def test_quantile_interpolates() -> None:
    """Quantiles fall between the sorted values, linearly."""
    values = [40.0, 10.0, 30.0, 20.0]
    assert quantile(values, 0.0) == 10.0
    assert quantile(values, 1.0) == 40.0
    assert quantile(values, 0.5) == 25.0
    assert quantile([7.0], 0.9) == 7.0


def test_quantile_refuses_nonsense() -> None:
    """No values, or a level outside [0, 1], is a caller's mistake."""
    with pytest.raises(ValueError, match="no values"):
        quantile([], 0.5)
    with pytest.raises(ValueError, match="within"):
        quantile([1.0], 1.5)


def test_peak_overlap() -> None:
    """Back-to-back intervals are one worker; inverted ones are ignored."""
    assert peak_overlap([]) == 0
    assert peak_overlap([(0, 10), (10, 20), (20, 30)]) == 1
    assert peak_overlap([(0, 10), (5, 15), (6, 7), (14, 20)]) == 3
    assert peak_overlap([(10, 0), (0, 1)]) == 1


def test_no_estimate_before_enough_finished() -> None:
    """Two finished jobs say too little; three are enough."""
    few = Timing(processing=(60.0,) * (MIN_FINISHED - 1), waiting=(5.0,))
    assert estimate(few) is None
    enough = Timing(processing=(60.0,) * MIN_FINISHED, waiting=(5.0,))
    assert estimate(enough) is not None


def test_nothing_left_is_zero_whatever_was_seen() -> None:
    """A batch with nothing in flight needs no time, even with no samples."""
    assert estimate(Timing()) == Estimate(timedelta(0), timedelta(0), 0)


def test_worked_example() -> None:
    """Two workers, 60 s jobs: 2 running for 30 s and 4 queued need 150-180 s.

    Work left is 2 x 30 + 4 x 60 = 300 s over 2 workers: 150 s (the truth).
    The rate seen so far, 4 jobs in 120 s, gives 6 jobs / (1/30 s) = 180 s.
    """
    timing = Timing(
        queue_waits=(0.0, 0.0, 60.0, 60.0, 120.0, 120.0),
        processing=(60.0, 60.0, 60.0, 60.0),
        running=(30.0, 30.0),
        waiting=(150.0,) * 4,
        parallelism=2,
        finish_rate=4 / 120,
    )
    assert estimate(timing) == Estimate(
        timedelta(seconds=150), timedelta(seconds=180), 4
    )


def test_spread_of_durations_widens_the_range() -> None:
    """Low uses the 25th percentile of durations, high the 75th."""
    timing = Timing(processing=(10.0, 20.0, 30.0, 40.0, 50.0), waiting=(0.0,) * 10)
    result = estimate(timing)
    assert result is not None
    assert result.low == timedelta(seconds=200)
    assert result.high == timedelta(seconds=400)


def test_queue_wait_counts_when_nothing_runs() -> None:
    """With nothing processing, the usual queue wait still to come is added."""
    timing = Timing(
        queue_waits=(100.0, 100.0, 100.0),
        processing=(10.0, 10.0, 10.0),
        waiting=(40.0,),
    )
    result = estimate(timing)
    assert result is not None
    assert result.low == timedelta(seconds=10 + 60)


def test_overdue_running_jobs_never_make_it_negative() -> None:
    """Jobs running longer than usual leave zero, not negative, time."""
    timing = Timing(processing=(10.0, 10.0, 10.0), running=(500.0, 900.0))
    assert estimate(timing) == Estimate(timedelta(0), timedelta(0), 3)


def test_absurd_durations_are_capped() -> None:
    """Durations of centuries give the longest estimate, not an overflow."""
    timing = Timing(processing=(1e15, 1e15, 1e15), waiting=(0.0,))
    result = estimate(timing)
    assert result is not None
    assert result.high == LONGEST


def test_stuck_threshold() -> None:
    """Three times the 90th percentile, never below the floor."""
    assert stuck_threshold([60.0, 60.0]) is None
    assert stuck_threshold([60.0, 60.0, 60.0]) == 180.0
    assert stuck_threshold([1.0, 1.0, 1.0]) == STUCK_FLOOR.total_seconds()
    assert stuck_threshold([1.0] * 3, factor=2, floor=timedelta(0)) == 2.0


durations = st.lists(
    st.floats(min_value=0, max_value=1e7, allow_nan=False), max_size=12
).map(tuple)

timings = st.builds(
    Timing,
    queue_waits=durations,
    processing=durations,
    running=durations,
    waiting=durations,
    parallelism=st.integers(min_value=1, max_value=50),
    finish_rate=st.none() | st.floats(min_value=0, max_value=1e3, allow_nan=False),
)


@given(timing=timings)
def test_estimate_is_always_an_ordered_non_negative_range(timing: Timing) -> None:
    """Whatever was observed, an estimate is absent or 0 <= low <= high."""
    result = estimate(timing)
    if result is None:
        assert len(timing.processing) < MIN_FINISHED
        return
    assert timedelta(0) <= result.low <= result.high <= LONGEST
