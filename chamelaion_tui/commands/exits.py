"""The exit statuses of the headless commands, in one place.

Scripts and CI pipelines branch on these, so they never change meaning:
0 success (for ``watch``: every request completed), 1 a request failed or the
API could not answer, 2 a mistake to fix before trying again (usage, the key,
an unknown id), 3 ``watch`` ran out of time.
"""

from __future__ import annotations

from chamelaion_tui.api import ApiError, AuthError, NotFound, RequestRejected

OK = 0
FAILED = 1
USAGE = 2
TIMEOUT = 3
INTERRUPTED = 130
BROKEN_PIPE = 141
"""What a shell reports for a process stopped by SIGPIPE (128 + 13)."""


def for_api_error(error: ApiError) -> int:
    """The exit status for an API call that failed with ``error``.

    A refused key, an unknown id and a rejected query will fail the same way
    next time (2); an outage, a rate limit or a broken answer may not (1).
    """
    if isinstance(error, AuthError | NotFound | RequestRejected):
        return USAGE
    return FAILED
