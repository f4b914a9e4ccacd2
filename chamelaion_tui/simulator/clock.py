"""Time sources for the simulator.

The simulated world never reads the wall clock directly: it asks a `Clock`
for monotonic seconds. Production code passes `time.monotonic`; tests pass a
`ManualClock` and move time forward by hand, so a job's whole lifecycle can be
checked without sleeping.
"""

from __future__ import annotations

import math
from typing import Protocol


class Clock(Protocol):
    """Anything that returns monotonic seconds when called, like `time.monotonic`."""

    def __call__(self) -> float:
        """Return the current time in seconds; only differences are meaningful."""
        ...


class ManualClock:
    """A clock that stands still until a test advances it.

    It starts at 0.0 and only ever moves forward, which is what the world
    expects of a monotonic clock.
    """

    def __init__(self, start: float = 0.0) -> None:
        """Create a clock reading `start` seconds."""
        self._now = start

    def __call__(self) -> float:
        """Return the current reading."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by `seconds` and return the new reading.

        Raises:
            ValueError: if `seconds` is negative or not finite, since a
                monotonic clock cannot go back.
        """
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(
                f"a clock can only advance by a finite amount >= 0, got {seconds!r}"
            )
        self._now += seconds
        return self._now
