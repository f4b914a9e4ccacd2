"""The errors the API client raises, one class per thing a person can act on.

Each carries a short ``title`` and a message in plain language. None of them
ever holds the API key: messages are built from status codes, URLs without
credentials and short excerpts of response bodies.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


class ApiError(Exception):
    """Base of every error the client raises."""

    title = "API error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class AuthError(ApiError):
    """The API refused the key (401) or the key lacks permission (403)."""

    title = "Not authorised"


class NotFound(ApiError):
    """No request has that id or reference id (404)."""

    title = "Not found"


class RateLimited(ApiError):
    """Too many requests (429); ``retry_after`` is seconds, if the API said."""

    title = "Rate limited"

    def __init__(
        self, message: str, *, retry_after: float | None, status: int = 429
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ServerError(ApiError):
    """The API or a proxy in front of it failed (5xx)."""

    title = "API unavailable"


class RequestRejected(ApiError):
    """The API rejected the request itself (another 4xx, e.g. 422)."""

    title = "Request rejected"


class TransportError(ApiError):
    """The API could not be reached, or the connection broke or timed out."""

    title = "Cannot reach the API"


class BadResponse(ApiError):
    """The API answered, but not with anything this client understands."""

    title = "Unexpected response"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Turn a ``Retry-After`` header into seconds to wait, or ``None``.

    The header holds either a number of seconds or an HTTP date. A date in the
    past means "now" (0 seconds); anything unreadable means unknown.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max((when - current).total_seconds(), 0.0)
