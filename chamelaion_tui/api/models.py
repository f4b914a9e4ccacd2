"""The request and page models of the API, parsed leniently from JSON.

The parser follows one rule: keep whatever can be understood, never raise for
a field that is merely missing, malformed or new. Only a payload with no usable
shape at all (not an object, no ``id``) is rejected, with :class:`BadResponse`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from chamelaion_tui.api.errors import BadResponse


class Status(StrEnum):
    """The four statuses the API documents. Others may arrive; see ``status``."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


IN_FLIGHT = frozenset({Status.QUEUED.value, Status.PROCESSING.value})
"""Statuses that still change, and so are polled. Anything else is final."""

FIELDS = (
    "id",
    "reference_id",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "output_url",
    "error_message",
)
"""The documented fields of a request, in the order the API page lists them."""

KNOWN_FIELDS = frozenset(FIELDS)


def parse_timestamp(value: object) -> datetime | None:
    """Parse an API timestamp into an aware UTC datetime, or ``None``.

    Accepts ``Z`` or a numeric offset, fractional seconds of any length
    (beyond microseconds they are cut), and naive timestamps, which mean UTC.
    Anything else, including non-strings and local times whose UTC equivalent
    falls outside the years 1 to 9999, yields ``None``.
    """
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if "." in text:
        head, _, tail = text.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        if digits > 6:
            text = f"{head}.{tail[:6]}{tail[digits:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


def _optional_text(value: object) -> str | None:
    """Keep strings; turn numbers into strings; everything else is absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _span(start: datetime | None, end: datetime | None) -> timedelta | None:
    """The time from ``start`` to ``end``, never negative; None if unknown."""
    if start is None or end is None:
        return None
    return max(end - start, timedelta(0))


SHORT_ID = re.compile(r"[0-9a-fA-F]{4,12}")
"""A short id as the table shows one: the first block of hex digits of an id."""


@dataclass(frozen=True, slots=True)
class LipsyncRequest:
    """One lip-sync request as the API last described it.

    ``status`` is the string the API sent, so an undocumented status is shown
    as sent; :attr:`in_flight` is true only for the two documented in-flight
    statuses, so an unknown status is treated as final and not polled forever.
    """

    id: str
    status: str
    reference_id: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    output_url: str | None = None
    error_message: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)
    """Fields the API sent that this version does not know, kept for export."""

    @classmethod
    def from_json(cls, data: object) -> LipsyncRequest:
        """Build a request from one decoded JSON object.

        Raises:
            BadResponse: ``data`` is not an object or has no usable ``id``.
        """
        if not isinstance(data, Mapping):
            raise BadResponse("a request in the response is not a JSON object")
        request_id = _optional_text(data.get("id"))
        if not request_id:
            raise BadResponse("a request in the response has no id")
        status = _optional_text(data.get("status")) or "unknown"
        return cls(
            id=request_id,
            status=status,
            reference_id=_optional_text(data.get("reference_id")),
            created_at=parse_timestamp(data.get("created_at")),
            started_at=parse_timestamp(data.get("started_at")),
            finished_at=parse_timestamp(data.get("finished_at")),
            output_url=_optional_text(data.get("output_url")),
            error_message=_optional_text(data.get("error_message")),
            extra={k: v for k, v in data.items() if k not in KNOWN_FIELDS},
        )

    @property
    def in_flight(self) -> bool:
        """Whether the request may still change (queued or processing)."""
        return self.status in IN_FLIGHT

    @property
    def known_status(self) -> Status | None:
        """The documented status, or ``None`` for one the API did not document."""
        try:
            return Status(self.status)
        except ValueError:
            return None

    @property
    def short_id(self) -> str:
        """The first block of the id, enough to tell rows apart at a glance."""
        head = self.id.split("-", 1)[0]
        return head if 4 <= len(head) <= 12 else self.id[:8]

    @staticmethod
    def looks_short(text: str) -> bool:
        """Whether ``text`` looks like a :attr:`short_id` rather than a whole id."""
        return SHORT_ID.fullmatch(text) is not None

    def queue_wait(self, now: datetime) -> timedelta | None:
        """Time spent queued: until it started, or until ``now`` if still queued."""
        if self.started_at is not None:
            return _span(self.created_at, self.started_at)
        if self.status == Status.QUEUED:
            return _span(self.created_at, now)
        return None

    def processing_time(self, now: datetime) -> timedelta | None:
        """Time spent processing: until it finished, or until ``now`` if running."""
        if self.finished_at is not None:
            return _span(self.started_at, self.finished_at)
        if self.status == Status.PROCESSING:
            return _span(self.started_at, now)
        return None


@dataclass(frozen=True, slots=True)
class Pagination:
    """Where a page sits in the full result: its ``limit``, ``offset``, ``total``."""

    limit: int
    offset: int
    total: int

    @property
    def first(self) -> int:
        """One-based position of the first row, or 0 for an empty result."""
        return self.offset + 1 if self.total and self.offset < self.total else 0

    def last(self, count: int) -> int:
        """One-based position of the last row of a page holding ``count`` rows."""
        return self.offset + count if count else 0


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the list endpoint, after parsing.

    ``dropped`` counts items that could not be used (no id, not an object) or
    repeated an id already on the page; the page still carries the rest.
    """

    items: tuple[LipsyncRequest, ...]
    pagination: Pagination
    dropped: int = 0

    @classmethod
    def from_json(cls, data: object, *, limit: int, offset: int) -> Page:
        """Build a page from the decoded list response.

        ``limit`` and ``offset`` are what was asked for; they fill in for a
        ``pagination`` object that is missing or incomplete.

        Raises:
            BadResponse: the response has no ``data`` list.
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("data"), list):
            raise BadResponse("the list response has no 'data' list")
        items: list[LipsyncRequest] = []
        seen: set[str] = set()
        dropped = 0
        for raw in data["data"]:
            try:
                item = LipsyncRequest.from_json(raw)
            except BadResponse:
                dropped += 1
                continue
            if item.id in seen:
                dropped += 1
                continue
            seen.add(item.id)
            items.append(item)
        pagination = _parse_pagination(data.get("pagination"), limit, offset, items)
        return cls(items=tuple(items), pagination=pagination, dropped=dropped)


def _int_or(value: object, default: int) -> int:
    """Return ``value`` if it is a non-negative integer, else ``default``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return default


def _parse_pagination(
    raw: object, limit: int, offset: int, items: list[LipsyncRequest]
) -> Pagination:
    """Read ``pagination``, falling back to what was asked and what came back."""
    fields = raw if isinstance(raw, Mapping) else {}
    real_offset = _int_or(fields.get("offset"), offset)
    total = _int_or(fields.get("total"), real_offset + len(items))
    total = max(total, real_offset + len(items))
    return Pagination(
        limit=_int_or(fields.get("limit"), limit) or limit,
        offset=real_offset,
        total=total,
    )
