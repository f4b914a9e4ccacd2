"""Tests for the API models: lenient parsing of requests, pages and timestamps.

The parser's rule is to keep whatever can be understood and never raise for a
field that is missing, malformed or new; only a payload with no usable shape is
rejected, and only with :class:`BadResponse`. These tests use the example
payloads of the API's own documentation, then bend them every way a server,
proxy or future API version might.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chamelaion_tui.api.errors import BadResponse
from chamelaion_tui.api.models import (
    IN_FLIGHT,
    LipsyncRequest,
    Page,
    Pagination,
    Status,
    parse_timestamp,
)

COMPLETED: dict[str, Any] = {
    "id": "6f82a2d8-a6d4-4e8a-a0fa-e8b09823a2d8",
    "reference_id": "my-custom-reference",
    "status": "completed",
    "created_at": "2026-04-07T10:00:00Z",
    "started_at": "2026-04-07T10:00:05Z",
    "finished_at": "2026-04-07T10:01:30Z",
    "output_url": "https://storage.chamelaion.com/output/6f82a2d8.mp4",
}
"""The documented response for a completed request."""

FAILED: dict[str, Any] = {
    "id": "6f82a2d8-a6d4-4e8a-a0fa-e8b09823a2d8",
    "reference_id": "my-custom-reference",
    "status": "failed",
    "created_at": "2026-04-07T10:00:00Z",
    "started_at": "2026-04-07T10:00:05Z",
    "finished_at": "2026-04-07T10:00:12Z",
    "error_message": "video URL is not accessible",
}
"""The documented response for a failed request."""

LISTED: dict[str, Any] = {
    "data": [
        {
            "id": "6f82a2d8-a6d4-4e8a-a0fa-e8b09823a2d8",
            "reference_id": "batch-2026-04",
            "status": "completed",
            "created_at": "2026-04-07T10:00:00Z",
            "started_at": "2026-04-07T10:00:05Z",
            "finished_at": "2026-04-07T10:01:30Z",
            "output_url": "https://storage.chamelaion.com/output/6f82a2d8.mp4",
        },
        {
            "id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
            "reference_id": "batch-2026-04",
            "status": "queued",
            "created_at": "2026-04-07T10:02:00Z",
        },
    ],
    "pagination": {"limit": 20, "offset": 0, "total": 2},
}
"""The documented response of the list endpoint."""


def at(hour: int, minute: int, second: int = 0, micro: int = 0) -> datetime:
    """A UTC datetime on the day of the documented examples."""
    return datetime(2026, 4, 7, hour, minute, second, micro, tzinfo=UTC)


# -- timestamps ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-04-07T10:00:00Z", at(10, 0)),
        ("2026-04-07T12:00:00+02:00", at(10, 0)),
        ("2026-04-07T05:30:00-04:30", at(10, 0)),
        ("2026-04-07T10:00:00+00:00", at(10, 0)),
        ("2026-04-07T10:00:00", at(10, 0)),
        ("  2026-04-07T10:00:00Z  ", at(10, 0)),
        ("2026-04-07T10:00:00.5Z", at(10, 0, 0, 500_000)),
        ("2026-04-07T10:00:00.12Z", at(10, 0, 0, 120_000)),
        ("2026-04-07T10:00:00.123Z", at(10, 0, 0, 123_000)),
        ("2026-04-07T10:00:00.1234Z", at(10, 0, 0, 123_400)),
        ("2026-04-07T10:00:00.12345Z", at(10, 0, 0, 123_450)),
        ("2026-04-07T10:00:00.123456Z", at(10, 0, 0, 123_456)),
        ("2026-04-07T10:00:00.1234567Z", at(10, 0, 0, 123_456)),
        ("2026-04-07T10:00:00.12345678Z", at(10, 0, 0, 123_456)),
        ("2026-04-07T10:00:00.123456789Z", at(10, 0, 0, 123_456)),
        ("2026-04-07T12:00:00.123456789+02:00", at(10, 0, 0, 123_456)),
        ("2026-04-07T10:00:00.999999999", at(10, 0, 0, 999_999)),
    ],
)
def test_timestamps_parse_to_aware_utc(raw: str, expected: datetime) -> None:
    """``Z``, numeric offsets and naive times (which mean UTC) all become aware
    UTC datetimes; fractions of 1 to 9 digits are read, beyond 6 cut."""
    parsed = parse_timestamp(raw)
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "yesterday",
        "2026-13-01T00:00:00Z",
        "2026-04-07T25:00:00Z",
        "2026-04-07T10:00:00+99:00",
        "10:00:00",
        1712484000,
        1712484000.5,
        True,
        [],
        {},
    ],
)
def test_unreadable_timestamps_are_none(raw: object) -> None:
    """Garbage, epoch numbers and non-strings are "unknown", never an error."""
    assert parse_timestamp(raw) is None


@pytest.mark.parametrize(
    "raw", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]
)
def test_timestamps_that_overflow_in_utc_are_none(raw: str) -> None:
    """Regression: a valid local time whose UTC equivalent falls outside the
    years 1-9999 raised ``OverflowError``, which escaped ``from_json`` (that
    promises only :class:`BadResponse`) and so the client's error contract."""
    assert parse_timestamp(raw) is None
    item = LipsyncRequest.from_json({"id": "x", "status": "queued", "created_at": raw})
    assert item.created_at is None


# -- one request --------------------------------------------------------------


def test_documented_completed_request_is_fully_parsed() -> None:
    """Every documented field of the completed example lands in its attribute."""
    item = LipsyncRequest.from_json(COMPLETED)
    assert item.id == "6f82a2d8-a6d4-4e8a-a0fa-e8b09823a2d8"
    assert item.reference_id == "my-custom-reference"
    assert item.status == "completed"
    assert item.known_status is Status.COMPLETED
    assert item.created_at == at(10, 0)
    assert item.started_at == at(10, 0, 5)
    assert item.finished_at == at(10, 1, 30)
    assert item.output_url == "https://storage.chamelaion.com/output/6f82a2d8.mp4"
    assert item.error_message is None
    assert item.extra == {}
    assert not item.in_flight
    assert item.short_id == "6f82a2d8"


def test_documented_failed_request_is_fully_parsed() -> None:
    """The failed example carries its ``error_message`` and no output URL."""
    item = LipsyncRequest.from_json(FAILED)
    assert item.status == "failed"
    assert item.known_status is Status.FAILED
    assert item.error_message == "video URL is not accessible"
    assert item.output_url is None
    assert item.processing_time(at(12, 0)) == timedelta(seconds=7)
    assert item.queue_wait(at(12, 0)) == timedelta(seconds=5)


def test_minimal_request_leaves_optional_fields_empty() -> None:
    """Only ``id`` and ``status`` are needed; everything else may be absent."""
    item = LipsyncRequest.from_json({"id": "abc", "status": "queued"})
    assert item == LipsyncRequest(id="abc", status="queued")
    assert item.in_flight
    assert item.reference_id is None
    assert item.created_at is None


def test_null_fields_are_absent() -> None:
    """JSON ``null`` in any optional field means the same as the field missing."""
    payload = dict.fromkeys(COMPLETED, None) | {"id": "abc", "status": "processing"}
    item = LipsyncRequest.from_json(payload)
    assert item == LipsyncRequest(id="abc", status="processing")


def test_extra_fields_are_kept_aside() -> None:
    """Fields a newer API adds are not lost (exports keep them), nor do they
    disturb the known ones, nor count when comparing two requests."""
    payload = COMPLETED | {"model": "lipsync-2", "cost": {"credits": 3}}
    item = LipsyncRequest.from_json(payload)
    assert item.extra == {"model": "lipsync-2", "cost": {"credits": 3}}
    assert item == LipsyncRequest.from_json(COMPLETED)


def test_numbers_are_accepted_as_ids_and_text() -> None:
    """A server that sends numeric ids or reference ids is still understood;
    booleans are not numbers here and count as missing."""
    item = LipsyncRequest.from_json(
        {"id": 42, "status": "queued", "reference_id": 7, "error_message": 1.5}
    )
    assert item.id == "42"
    assert item.reference_id == "7"
    assert item.error_message == "1.5"
    flag = LipsyncRequest.from_json({"id": "a", "status": True, "reference_id": False})
    assert flag.status == "unknown"
    assert flag.reference_id is None


def test_wrong_types_for_text_fields_are_absent() -> None:
    """Lists and objects where text belongs are dropped, not stringified."""
    item = LipsyncRequest.from_json(
        {"id": "a", "status": "failed", "output_url": ["x"], "error_message": {}}
    )
    assert item.output_url is None
    assert item.error_message is None


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "6f82a2d8",
        42,
        [COMPLETED],
        {},
        {"status": "queued"},
        {"id": None, "status": "queued"},
        {"id": "", "status": "queued"},
        {"id": True, "status": "queued"},
        {"id": ["a"], "status": "queued"},
    ],
)
def test_payloads_without_an_id_are_rejected(payload: object) -> None:
    """Rows are keyed by id (invariant 1): without one there is nothing to show
    or poll, so the payload is a :class:`BadResponse`."""
    with pytest.raises(BadResponse):
        LipsyncRequest.from_json(payload)


@pytest.mark.parametrize("status", ["paused_by_operator", "COMPLETED", "", "Queued"])
def test_unknown_status_is_kept_as_sent_and_not_in_flight(status: str) -> None:
    """An undocumented status is shown as sent but treated as final, so it is
    never polled forever; a missing or empty one reads "unknown"."""
    item = LipsyncRequest.from_json({"id": "a", "status": status})
    assert item.status == (status or "unknown")
    assert item.known_status is None
    assert not item.in_flight


def test_missing_status_reads_unknown() -> None:
    """No status at all is not an error: the row shows "unknown"."""
    item = LipsyncRequest.from_json({"id": "a"})
    assert item.status == "unknown"
    assert not item.in_flight


def test_in_flight_statuses_are_the_two_documented_ones() -> None:
    """Only ``queued`` and ``processing`` are polled."""
    assert frozenset({"queued", "processing"}) == IN_FLIGHT
    for status in Status:
        item = LipsyncRequest(id="a", status=status.value)
        assert item.in_flight is (status.value in IN_FLIGHT)


def test_finished_before_started_gives_zero_processing_time() -> None:
    """Clock skew on the server must not show a negative duration."""
    item = LipsyncRequest.from_json(
        COMPLETED
        | {"started_at": "2026-04-07T10:05:00Z", "finished_at": "2026-04-07T10:01:00Z"}
    )
    assert item.processing_time(at(12, 0)) == timedelta(0)


def test_started_before_created_gives_zero_queue_wait() -> None:
    """The same guard holds for the time spent queued."""
    item = LipsyncRequest.from_json(COMPLETED | {"created_at": "2026-04-07T10:09:00Z"})
    assert item.queue_wait(at(12, 0)) == timedelta(0)


def test_running_durations_count_up_to_now() -> None:
    """A queued request's wait and a processing request's time run until now;
    a finished one's stop at its timestamps; unknown ends give ``None``."""
    now = at(10, 10)
    queued = LipsyncRequest(id="q", status="queued", created_at=at(10, 0))
    assert queued.queue_wait(now) == timedelta(minutes=10)
    assert queued.processing_time(now) is None
    running = LipsyncRequest(
        id="p", status="processing", created_at=at(10, 0), started_at=at(10, 4)
    )
    assert running.queue_wait(now) == timedelta(minutes=4)
    assert running.processing_time(now) == timedelta(minutes=6)
    odd = LipsyncRequest(id="o", status="completed")
    assert odd.queue_wait(now) is None
    assert odd.processing_time(now) is None


@pytest.mark.parametrize(
    ("request_id", "short"),
    [
        ("6f82a2d8-a6d4-4e8a-a0fa-e8b09823a2d8", "6f82a2d8"),
        ("abc-def", "abc-def"),
        ("averyveryverylongprefix-x", "averyver"),
        ("42", "42"),
    ],
)
def test_short_id(request_id: str, short: str) -> None:
    """The short id is the UUID's first block, or the first 8 characters."""
    assert LipsyncRequest(id=request_id, status="queued").short_id == short


# -- pages --------------------------------------------------------------------


def test_documented_list_response_is_fully_parsed() -> None:
    """Both documented items and the pagination block are read."""
    page = Page.from_json(LISTED, limit=20, offset=0)
    assert [item.id for item in page.items] == [
        "6f82a2d8-a6d4-4e8a-a0fa-e8b09823a2d8",
        "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    ]
    assert page.items[1].in_flight
    assert page.pagination == Pagination(limit=20, offset=0, total=2)
    assert page.dropped == 0


def test_unusable_items_are_dropped_and_counted() -> None:
    """Items that are not objects or have no id are left out, counted in
    ``dropped`` so the screen can say so, and the rest of the page survives."""
    data = [None, "x", 3, [], {"status": "queued"}, {"id": ""}, *LISTED["data"]]
    page = Page.from_json({"data": data}, limit=20, offset=0)
    assert len(page.items) == 2
    assert page.dropped == 6


def test_duplicate_ids_on_one_page_are_dropped() -> None:
    """Rows are keyed by id: a repeat keeps the first copy and counts as
    dropped, including a numeric id equal to a textual one."""
    data = [
        {"id": "a", "status": "queued"},
        {"id": "a", "status": "completed"},
        {"id": 7, "status": "queued"},
        {"id": "7", "status": "failed"},
    ]
    page = Page.from_json({"data": data}, limit=20, offset=0)
    assert [(item.id, item.status) for item in page.items] == [
        ("a", "queued"),
        ("7", "queued"),
    ]
    assert page.dropped == 2


@pytest.mark.parametrize(
    "payload",
    [None, [], "data", {}, {"data": None}, {"data": {}}, {"data": "x"}],
)
def test_a_list_response_without_a_data_list_is_rejected(payload: object) -> None:
    """Without a ``data`` list there is no page at all."""
    with pytest.raises(BadResponse):
        Page.from_json(payload, limit=20, offset=0)


def test_missing_pagination_falls_back_to_what_was_asked() -> None:
    """No ``pagination``: limit and offset are what the client asked for, and the
    total is at least what is known to exist."""
    page = Page.from_json({"data": LISTED["data"]}, limit=10, offset=40)
    assert page.pagination == Pagination(limit=10, offset=40, total=42)


@pytest.mark.parametrize(
    ("pagination", "expected"),
    [
        ({"total": 57}, Pagination(limit=10, offset=40, total=57)),
        ({"limit": 5, "total": 99}, Pagination(limit=5, offset=40, total=99)),
        ({"offset": 0}, Pagination(limit=10, offset=0, total=2)),
        (
            {"limit": "20", "offset": None, "total": -1},
            Pagination(limit=10, offset=40, total=42),
        ),
        ({"limit": 0, "offset": -5, "total": 1.5}, Pagination(10, 40, 42)),
        ({"limit": True, "offset": False, "total": True}, Pagination(10, 40, 42)),
        ({"total": 1}, Pagination(limit=10, offset=40, total=42)),
        ([1, 2], Pagination(limit=10, offset=40, total=42)),
        ("20", Pagination(limit=10, offset=40, total=42)),
    ],
)
def test_partial_or_malformed_pagination_falls_back_per_field(
    pagination: object, expected: Pagination
) -> None:
    """Each pagination field is taken if it is a sane integer and otherwise
    replaced by what was asked; a total smaller than the rows actually seen is
    raised to that count."""
    payload = {"data": LISTED["data"], "pagination": pagination}
    page = Page.from_json(payload, limit=10, offset=40)
    assert page.pagination == expected


def test_pagination_positions() -> None:
    """``first`` and ``last`` give the one-based range shown as "21–40 of 237"."""
    assert Pagination(limit=20, offset=20, total=237).first == 21
    assert Pagination(limit=20, offset=20, total=237).last(20) == 40
    assert Pagination(limit=20, offset=0, total=0).first == 0
    assert Pagination(limit=20, offset=0, total=0).last(0) == 0
    assert Pagination(limit=20, offset=300, total=237).first == 0


# -- anything at all ----------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.sampled_from(
        [
            "queued",
            "processing",
            "2026-04-07T10:00:00Z",
            "0001-01-01T00:00:00+05:00",
            "2026-04-07T10:00:00.123456789-04:30",
        ]
    )
)
"""Leaves of JSON documents, with a few values the parser treats specially."""

JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)
"""Any decoded JSON value (floats include NaN and infinities, as Python's
``json`` module accepts them)."""

FIELD_NAMES = st.sampled_from(
    [
        "id",
        "reference_id",
        "status",
        "created_at",
        "started_at",
        "finished_at",
        "output_url",
        "error_message",
    ]
)

REQUEST_LIKE = st.dictionaries(FIELD_NAMES | st.text(max_size=8), JSON, max_size=10)
"""Objects that use the request's field names with arbitrary values."""

PAGE_LIKE = st.fixed_dictionaries(
    {"data": st.lists(REQUEST_LIKE | JSON, max_size=6)},
    optional={
        "pagination": JSON
        | st.dictionaries(st.sampled_from(["limit", "offset", "total"]), JSON)
    },
)
"""Objects shaped like a list response, with arbitrary contents."""


@settings(database=None, max_examples=300)
@given(payload=JSON | REQUEST_LIKE)
def test_request_parsing_raises_only_bad_response(payload: object) -> None:
    """Whatever JSON arrives, parsing a request either succeeds with a non-empty
    id and a status, or raises :class:`BadResponse`: nothing else escapes."""
    try:
        item = LipsyncRequest.from_json(payload)
    except BadResponse:
        return
    assert item.id
    assert item.status
    for stamp in (item.created_at, item.started_at, item.finished_at):
        assert stamp is None or stamp.utcoffset() == timedelta(0)


@settings(database=None, max_examples=300)
@given(
    payload=JSON | PAGE_LIKE,
    limit=st.integers(min_value=1, max_value=100),
    offset=st.integers(min_value=0, max_value=10_000),
)
def test_page_parsing_raises_only_bad_response(
    payload: object, limit: int, offset: int
) -> None:
    """Whatever JSON arrives, parsing a page either succeeds with unique ids and
    sane pagination, or raises :class:`BadResponse`: nothing else escapes."""
    try:
        page = Page.from_json(payload, limit=limit, offset=offset)
    except BadResponse:
        return
    ids = [item.id for item in page.items]
    assert len(ids) == len(set(ids))
    assert page.pagination.limit >= 1
    assert page.pagination.offset >= 0
    assert page.pagination.total >= page.pagination.offset + len(page.items)
    assert page.dropped >= 0
