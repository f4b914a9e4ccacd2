"""Realistic names and failure reasons for simulated lip-sync jobs.

Kept apart from the world's bookkeeping so the rules of the lifecycle are not
buried under word lists. Every choice is drawn from a `random.Random` passed
in by the caller, so a seed fixes the names as well as the timings.
"""

from __future__ import annotations

import random
import string
from collections.abc import Container, Iterable
from datetime import date

ERROR_MESSAGES: tuple[str, ...] = (
    "video URL is not accessible",
    "audio URL is not accessible",
    "no face detected in the video",
    "more than one face detected; crop the video to a single speaker",
    "audio track is shorter than 1 second",
    "input video exceeds the 10 minute limit",
    "unsupported video codec: upload H.264 or H.265",
    "face turned away from the camera for too long",
    "rendering worker ran out of memory, please retry",
)
"""Failure reasons a finished job may carry in `error_message`."""

_CAMPAIGNS: tuple[str, ...] = (
    "promo-spring",
    "promo-black-friday",
    "onboarding-v3",
    "onboarding-v4",
    "support-faq-v2",
    "product-launch-teaser",
    "course-module-4",
    "ad-variants-q3",
    "localized-es-mx",
    "localized-de-de",
    "webinar-recap",
    "holiday-greetings",
)


def batch_reference(rng: random.Random, day: date, taken: Container[str]) -> str:
    """Return a reference id for the jobs of a new batch, not one in `taken`.

    Half of the batches are named after the day they were sent plus a letter,
    as a nightly script would name them; the rest after a campaign, numbered
    when the campaign already has a batch.
    """
    candidates: Iterable[str]
    if rng.random() < 0.5:
        stem = f"batch-{day.isoformat()}"
        candidates = (f"{stem}-{letter}" for letter in string.ascii_lowercase)
    else:
        stem = rng.choice(_CAMPAIGNS)
        candidates = [stem]
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    number = 2
    while f"{stem}-{number}" in taken:
        number += 1
    return f"{stem}-{number}"


def single_reference(rng: random.Random) -> str:
    """Return a reference id for a job submitted on its own."""
    style = rng.randrange(3)
    if style == 0:
        return f"clip-{rng.randint(1000, 99999)}"
    if style == 1:
        return f"order-{rng.randint(100000, 999999)}"
    return f"user-{rng.randint(100, 9999)}-take-{rng.randint(1, 9)}"


def error_message(rng: random.Random) -> str:
    """Return one plausible reason for a failed job."""
    return rng.choice(ERROR_MESSAGES)
