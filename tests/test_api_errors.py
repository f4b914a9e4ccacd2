"""Tests for the error tree and :func:`parse_retry_after`.

A 429's ``Retry-After`` decides how long the whole dashboard stays quiet, so
its parser must read both forms the HTTP standard allows (seconds and an HTTP
date) and must turn anything odd into "unknown" rather than a negative, NaN or
infinite wait.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chamelaion_tui.api.errors import (
    ApiError,
    AuthError,
    BadResponse,
    NotFound,
    RateLimited,
    RequestRejected,
    ServerError,
    TransportError,
    parse_retry_after,
)

NOW = datetime(2026, 4, 7, 10, 0, 0, tzinfo=UTC)
"""The injected "now" for HTTP-date tests (a Tuesday)."""


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("120", 120.0),
        ("1.5", 1.5),
        ("0.25", 0.25),
    ],
)
def test_seconds(header: str, seconds: float) -> None:
    """Whole and fractional seconds are taken as they are."""
    assert parse_retry_after(header, NOW) == seconds


@pytest.mark.parametrize(
    "header", ["-1", "-0.5", "nan", "NaN", "inf", "-inf", "Infinity", "1e400"]
)
def test_negative_or_non_finite_seconds_are_unknown(header: str) -> None:
    """A negative, NaN or infinite wait would stall or spin the loop; it is
    treated as no ``Retry-After`` at all."""
    assert parse_retry_after(header, NOW) is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("Tue, 07 Apr 2026 10:00:30 GMT", 30.0),
        ("Tue, 07 Apr 2026 11:00:00 GMT", 3600.0),
        ("Tue, 07 Apr 2026 12:00:30 +0200", 30.0),
        ("Tue, 07 Apr 2026 10:00:30 -0000", 30.0),
    ],
)
def test_http_date_in_the_future(header: str, seconds: float) -> None:
    """An HTTP date means "wait until then", counted from the injected now."""
    assert parse_retry_after(header, NOW) == seconds


@pytest.mark.parametrize(
    "header", ["Tue, 07 Apr 2026 09:59:59 GMT", "Mon, 01 Jan 2001 00:00:00 GMT"]
)
def test_http_date_in_the_past_means_now(header: str) -> None:
    """A date already gone (clock skew, a cached response) means retry now."""
    assert parse_retry_after(header, NOW) == 0.0


def test_http_date_uses_the_real_clock_when_no_now_is_given() -> None:
    """Without an injected now the current time is used; a date far in the past
    is then simply 0."""
    assert parse_retry_after("Mon, 01 Jan 2001 00:00:00 GMT") == 0.0


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "soon",
        "7 seconds",
        "0x10",
        "Tue, 99 Foo 2026 10:00:00 GMT",
        "Tue, 07 Apr 2026 25:61:00 GMT",
        "2026-04-07T10:00:30Z",
    ],
)
def test_garbage_is_unknown(header: str | None) -> None:
    """Anything that is neither form reads as "not said", never an error."""
    assert parse_retry_after(header, NOW) is None


@pytest.mark.parametrize(
    "error",
    [
        AuthError("a", status=401),
        NotFound("a", status=404),
        RateLimited("a", retry_after=3.0),
        ServerError("a", status=503),
        RequestRejected("a", status=422),
        TransportError("a"),
        BadResponse("a", status=200),
    ],
)
def test_every_error_is_an_api_error_with_a_title(error: ApiError) -> None:
    """The UI maps errors to messages in one place by catching ``ApiError`` and
    showing ``title`` and ``message``; every class must provide both."""
    assert isinstance(error, ApiError)
    assert error.title
    assert error.title != ApiError.title
    assert error.message == str(error) == "a"


def test_rate_limited_carries_its_wait() -> None:
    """``retry_after`` travels with the error to the policy, status 429."""
    error = RateLimited("slow down", retry_after=7.0)
    assert error.retry_after == 7.0
    assert error.status == 429
