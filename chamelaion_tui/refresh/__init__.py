"""When to ask the API what: per-request backoff, coalescing and pauses."""

from chamelaion_tui.refresh.loop import (
    PageLoaded,
    Refresher,
    RefreshEvent,
    RefreshFailed,
    RequestGone,
    RequestLoaded,
    Source,
)
from chamelaion_tui.refresh.policy import (
    Backoff,
    Clock,
    PauseReason,
    Plan,
    RefreshPolicy,
    View,
)

__all__ = [
    "Backoff",
    "Clock",
    "PageLoaded",
    "PauseReason",
    "Plan",
    "RefreshEvent",
    "RefreshFailed",
    "RefreshPolicy",
    "Refresher",
    "RequestGone",
    "RequestLoaded",
    "Source",
    "View",
]
