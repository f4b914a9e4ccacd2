"""Batch watching: progress, ETA, stuck jobs, failure groups, what changed.

Pure logic on top of the API models: no I/O except :func:`load_batch`, which
goes through the client it is given, and no clock: every time is passed in.
The UI owns one :class:`BatchTracker` and one :class:`ChangeLog` per view and
renders what they answer.
"""

from chamelaion_tui.batch.changes import ChangeLog, Toast, group_toasts, tally
from chamelaion_tui.batch.estimate import (
    MIN_FINISHED,
    STUCK_FACTOR,
    STUCK_FLOOR,
    Estimate,
    Timing,
    estimate,
    peak_overlap,
    quantile,
    stuck_threshold,
)
from chamelaion_tui.batch.loading import LoadedBatch, LoadProgress, load_batch
from chamelaion_tui.batch.tracker import (
    COUNT_KEYS,
    MAX_BATCH,
    NO_MESSAGE,
    OTHER,
    BatchSummary,
    BatchTracker,
    Change,
)

__all__ = [
    "COUNT_KEYS",
    "MAX_BATCH",
    "MIN_FINISHED",
    "NO_MESSAGE",
    "OTHER",
    "STUCK_FACTOR",
    "STUCK_FLOOR",
    "BatchSummary",
    "BatchTracker",
    "Change",
    "ChangeLog",
    "Estimate",
    "LoadProgress",
    "LoadedBatch",
    "Timing",
    "Toast",
    "estimate",
    "group_toasts",
    "load_batch",
    "peak_overlap",
    "quantile",
    "stuck_threshold",
    "tally",
]
