"""Plain-language explanations of API errors, in one place for the whole UI."""

from __future__ import annotations

from chamelaion_tui.api import (
    ApiError,
    AuthError,
    BadResponse,
    RateLimited,
    ServerError,
    TransportError,
    visible,
)

_HINTS: tuple[tuple[type[ApiError], str], ...] = (
    (AuthError, "Polling has stopped; press r to retry once the key is fixed."),
    (RateLimited, "Waiting as the API asked; nothing is lost."),
    (ServerError, "Retrying with backoff; the data shown is kept."),
    (TransportError, "Retrying with backoff; check the network or --base-url."),
    (BadResponse, "Retrying with backoff; the data shown is kept."),
)


def hint_for(error: ApiError) -> str:
    """What the person can do about ``error``, or what the app is doing."""
    for kind, hint in _HINTS:
        if isinstance(error, kind):
            return hint
    return "Retrying with backoff."


def short_label(error: ApiError) -> str:
    """A few words for the status line, such as "API error 502"."""
    if isinstance(error, RateLimited):
        return "rate limited"
    if isinstance(error, ServerError):
        return f"API error {error.status}" if error.status else "API error"
    if isinstance(error, TransportError):
        return "API unreachable"
    if isinstance(error, BadResponse):
        return "unexpected response from the API"
    if isinstance(error, AuthError):
        return "key refused"
    return visible(error.title, limit=40)


def describe(error: ApiError) -> tuple[str, str]:
    """A notification title and body for ``error``; safe to show as is."""
    body = f"{visible(error.message, limit=300)}\n{hint_for(error)}"
    return error.title, body
