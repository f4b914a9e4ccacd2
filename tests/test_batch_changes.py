"""Tests for toasts and the "what changed" line built from status changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chamelaion_tui.api import LipsyncRequest
from chamelaion_tui.batch import Change, ChangeLog, group_toasts, tally

NOW = datetime(2026, 12, 4, 10, 42, 0, tzinfo=UTC)


def change(
    number: int,
    new: str,
    *,
    old: str = "processing",
    message: str | None = None,
    reference: str | None = "promo-spring",
) -> Change:
    """A change of request ``number`` from ``old`` to ``new``."""
    request = LipsyncRequest(
        id=f"{number:08x}-0000-4000-8000-000000000000",
        status=new,
        reference_id=reference,
        error_message=message,
    )
    return Change(request, old, new, NOW)


def test_each_finished_request_gets_a_toast_when_few() -> None:
    """Completed and failed ones are announced; starting ones are not."""
    toasts = group_toasts(
        [
            change(1, "completed"),
            change(2, "failed", message="  no face detected "),
            change(3, "processing", old="queued"),
            change(4, "completed", reference=None),
        ],
        limit=3,
    )
    assert [t.text for t in toasts] == [
        "completed: promo-spring 00000001",
        "failed: no face detected (promo-spring 00000002)",
        "completed: 00000004",
    ]
    assert [t.severity for t in toasts] == ["information", "error", "information"]
    assert [t.failures for t in toasts] == [0, 1, 0]
    assert toasts[1].ids == (change(2, "failed").request.id,)


def test_failure_without_message_and_unknown_final_status() -> None:
    """A blank message is named as such; an unknown status is shown as sent."""
    toasts = group_toasts([change(1, "failed"), change(2, "cancelled")], limit=5)
    assert toasts[0].text == "failed: (no message) (promo-spring 00000001)"
    assert toasts[1].text == "cancelled: promo-spring 00000002"


def test_many_at_once_keep_failures_and_count_the_rest() -> None:
    """17 completed and 3 failed in two kinds: three toasts, failures first."""
    changes = [change(n, "completed") for n in range(17)]
    changes += [change(100, "failed", message="no face detected")]
    changes += [change(101, "failed", message="no face detected ")]
    changes += [change(102, "failed", message="audio too long")]
    toasts = group_toasts(changes, limit=3)
    assert [t.text for t in toasts] == [
        "2 failed: no face detected",
        "failed: audio too long",
        "+17 completed",
    ]
    assert [t.failures for t in toasts] == [2, 1, 0]
    assert len(toasts[2].ids) == 17


def test_too_many_kinds_become_one_toast() -> None:
    """When failures alone would not fit, one toast counts everything."""
    changes = [change(n, "completed") for n in range(17)]
    changes += [change(100 + n, "failed", message=f"error {n}") for n in range(3)]
    (toast,) = group_toasts(changes, limit=2)
    assert toast.text == "+17 completed, 3 failed"
    assert toast.severity == "error"
    assert toast.failures == 3
    assert len(toast.ids) == 20


def test_nothing_finished_means_no_toast() -> None:
    """Queued to processing is shown in the table, not announced."""
    assert group_toasts([change(1, "processing", old="queued")]) == []
    assert group_toasts([]) == []
    with pytest.raises(ValueError, match="limit"):
        group_toasts([change(1, "completed")], limit=0)


def test_toast_text_is_made_safe() -> None:
    """Escape sequences and huge texts from the API never reach a toast raw."""
    hostile = "\x1b[2J\x1b]0;owned\x07" + "x" * 5000
    toasts = group_toasts(
        [
            change(1, "failed", message=hostile, reference="\x9b31m" + "r" * 500),
            change(2, "\x1b[31mdone"),
        ]
    )
    for toast in toasts:
        assert "\x1b" not in toast.text
        assert "\x9b" not in toast.text
        assert "\x07" not in toast.text
        assert len(toast.text) < 300


def test_tally() -> None:
    """Completed, failed, then others by name; zeros are left out."""
    assert tally({"failed": 2, "completed": 12, "cancelled": 1}) == (
        "12 completed, 2 failed, 1 cancelled"
    )
    assert tally({"completed": 0}) == ""


def test_change_log_adds_up_until_acknowledged() -> None:
    """Finishing changes are counted and changed rows remembered until seen."""
    log = ChangeLog(since=NOW)
    assert log.line(NOW, UTC) is None
    assert not log.pending

    log.record([change(1, "processing", old="queued")])
    assert log.pending
    assert log.line(NOW, UTC) is None
    log.record([change(n, "completed") for n in range(2, 14)])
    log.record([change(20, "failed", message="x"), change(21, "failed")])

    later = NOW + timedelta(minutes=5)
    assert log.line(later, UTC) == "+12 completed, 2 failed since 10:42"
    assert dict(log.finished) == {"completed": 12, "failed": 2}
    assert change(1, "x").request.id in log.changed_ids
    assert len(log.changed_ids) == 15

    log.acknowledge(later)
    assert log.since == later
    assert log.line(later, UTC) is None
    assert log.changed_ids == frozenset()
    assert not log.pending


def test_change_log_names_the_day_when_it_is_not_today() -> None:
    """A line left overnight says which day it counts from."""
    log = ChangeLog(since=NOW)
    log.record([change(1, "failed")])
    tomorrow = NOW + timedelta(days=1)
    assert log.line(tomorrow, UTC) == "+1 failed since 2026-12-04 10:42"


def test_change_log_remembers_a_bounded_number_of_rows() -> None:
    """Ids beyond the capacity are not remembered; counting goes on."""
    log = ChangeLog(since=NOW, capacity=3)
    log.record([change(n, "completed") for n in range(10)])
    assert len(log.changed_ids) == 3
    assert log.finished["completed"] == 10
