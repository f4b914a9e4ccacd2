"""Counters of what the simulator was asked and what it answered.

Tests and benchmarks read them to check how a client behaves: how many
requests of each kind it made, which status codes it got, and which
`Authorization` headers reached each route (the output files and the redirect
target must never see the API key).

Route labels are "list", "get", "output", "unknown" (any other path) and
"foreign" (anything that reached the second origin used for redirects).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

MAX_DISTINCT_AUTHORIZATIONS = 64
"""Distinct header values remembered per route, so memory stays bounded."""


@dataclass(frozen=True)
class StatsSnapshot:
    """A consistent copy of all counters at one moment."""

    requests: dict[str, int]
    """Requests received, by route label."""
    responses: dict[tuple[str, int], int]
    """Responses sent, by (route label, status code)."""
    dropped: dict[str, int]
    """Connections closed without an answer, by route label."""


class Stats:
    """Thread-safe counters the server updates on every request."""

    def __init__(self) -> None:
        """Start with every counter at zero."""
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._responses: Counter[tuple[str, int]] = Counter()
        self._dropped: Counter[str] = Counter()
        self._authorizations: dict[str, set[str | None]] = {}

    def record_request(self, route: str, authorization: str | None) -> None:
        """Count a request and remember its `Authorization` header (or None)."""
        with self._lock:
            self._requests[route] += 1
            seen = self._authorizations.setdefault(route, set())
            if len(seen) < MAX_DISTINCT_AUTHORIZATIONS:
                seen.add(authorization)

    def record_response(self, route: str, status: int) -> None:
        """Count an answer with status code `status`."""
        with self._lock:
            self._responses[(route, status)] += 1

    def record_drop(self, route: str) -> None:
        """Count a connection closed without an answer."""
        with self._lock:
            self._dropped[route] += 1

    def requests(self, route: str | None = None) -> int:
        """Requests received on `route`, or on all routes."""
        with self._lock:
            if route is None:
                return self._requests.total()
            return self._requests[route]

    def responses(self, status: int | None = None, route: str | None = None) -> int:
        """Answers sent, optionally only those with `status` and/or on `route`."""
        with self._lock:
            return sum(
                number
                for (label, code), number in self._responses.items()
                if (status is None or code == status) and route in (None, label)
            )

    def dropped(self, route: str | None = None) -> int:
        """Connections closed without an answer, on `route` or on all routes."""
        with self._lock:
            if route is None:
                return self._dropped.total()
            return self._dropped[route]

    def authorizations(self, route: str) -> frozenset[str | None]:
        """The distinct `Authorization` values seen on `route`; None means absent."""
        with self._lock:
            return frozenset(self._authorizations.get(route, ()))

    def snapshot(self) -> StatsSnapshot:
        """Copy every counter at once."""
        with self._lock:
            return StatsSnapshot(
                requests=dict(self._requests),
                responses=dict(self._responses),
                dropped=dict(self._dropped),
            )

    def reset(self) -> None:
        """Set every counter back to zero, e.g. between benchmark phases."""
        with self._lock:
            self._requests.clear()
            self._responses.clear()
            self._dropped.clear()
            self._authorizations.clear()
