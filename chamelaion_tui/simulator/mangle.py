"""What a misbehaving API sends: the bodies behind each fault kind.

These are plain functions on JSON values and text, kept apart from the HTTP
server so each misbehaviour can be read (and tested) on its own. Functions
that alter a body change the dict they are given, which the server builds
afresh for every request.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from chamelaion_tui.simulator.faults import Hit, Route
from chamelaion_tui.simulator.world import TIMESTAMP_FORMAT

JsonObject = dict[str, Any]
"""A decoded JSON object, as the server is about to send it."""

JobLike = dict[str, Any]
"""One job in a body being altered; fields may end up with any JSON type."""

_CLIPBOARD_PAYLOAD = base64.b64encode(b"echo the API wrote to your clipboard").decode()

HOSTILE_TEXTS: tuple[str, ...] = (
    # Rich and Textual markup, including a Textual click action.
    "[bold red]x[/]",
    "[@click=app.quit]quit[/] [reverse]inverted[/reverse] [link=file:///]f[/link]",
    # CSI colour, clear screen and cursor home.
    "\x1b[31mred text\x1b[0m then \x1b[2J\x1b[Hthe screen is cleared",
    # OSC 52: write to the terminal's clipboard.
    f"\x1b]52;c;{_CLIPBOARD_PAYLOAD}\x07clipboard written",
    # OSC 0 and OSC 2: set the window title, ended by BEL and by ST.
    "\x1b]0;title set by the API\x07\x1b]2;another title\x1b\\",
    # C1 controls: CSI, OSC with its string terminator, next line.
    "C1 \x9b31m CSI, \x9d0;title\x9c OSC, \x85 NEL",
    # Tabs, newlines, carriage return, backspace, bell, NUL and DEL.
    "tab\there\nnew line\r\nreturn\x08\x07 bell \x00 nul \x7f del",
    # Right-to-left override, then Hebrew and Arabic words.
    "\u202eright-to-left override\u202c \u05e9\u05dc\u05d5\u05dd "
    "\u0645\u0631\u062d\u0628\u0627",
    # Double-width CJK, an emoji family joined by ZWJ, zero-width space.
    "\u5168\u89d2\u30c6\u30ad\u30b9\u30c8 \U0001f3ac\U0001f469\u200d\U0001f469\u200d"
    "\U0001f467 zero\u200bwidth",
    # 20,000 characters with no space to wrap at.
    "long-" * 4000,
)
"""Untrusted text a hostile API could put in reference_id or error_message."""

MALFORMED_BODIES: tuple[bytes, ...] = (
    b'{"data": [{"id": "6f82a2d8-a6d4-4e8a',
    b"<html><body>upstream sent something else</body></html>",
    b'{"data": [], "pagination": {"limit": 20,}}',
    b"",
    b"{'data': [], 'pagination': {}}",
    b'{"data": []} trailing',
)
"""Bodies sent as `application/json` that are not JSON, tried in turn."""

GARBAGE_BODIES: tuple[Any, ...] = (
    [],
    {"items": [], "count": 0},
    {"data": {"id": "not-a-list"}, "pagination": "none"},
    {
        "data": [{"id": 42, "status": None, "created_at": 1765000000}],
        "pagination": {"limit": "20", "offset": None, "total": -1},
    },
    "ok",
    None,
)
"""Valid JSON of the wrong shape for either route, tried in turn."""

_TIMESTAMP_FIELDS = ("created_at", "started_at", "finished_at")
_OPTIONAL_FIELDS = (
    "reference_id",
    "started_at",
    "finished_at",
    "output_url",
    "error_message",
)


def proxy_error_page(status: int, reason: str) -> str:
    """Return the HTML error page a reverse proxy sends for a 5xx."""
    title = f"{status} {reason}"
    return (
        "<!DOCTYPE html>\n"
        f"<html><head><title>{title}</title></head>\n"
        f"<body><h1>{title}</h1>\n"
        "<p>The gateway could not get an answer from the service behind it.</p>\n"
        "<hr><address>simulated-gateway</address></body></html>\n"
    )


def malformed_body(ordinal: int) -> bytes:
    """Return the `ordinal`-th broken body, cycling through the list."""
    return MALFORMED_BODIES[ordinal % len(MALFORMED_BODIES)]


def garbage_body(ordinal: int) -> Any:
    """Return the `ordinal`-th wrongly shaped body, cycling through the list."""
    return GARBAGE_BODIES[ordinal % len(GARBAGE_BODIES)]


def apply_body_faults(body: JsonObject, route: Route, hits: list[Hit]) -> JsonObject:
    """Apply the body-altering faults among `hits` to a successful answer.

    `body` is a list page (`route == "list"`) or a single job; other kinds of
    hit are ignored here.
    """
    jobs: list[JobLike] = body["data"] if route == "list" else [body]
    for rule, ordinal in hits:
        if rule.kind == "duplicate":
            _duplicate(jobs)
        elif rule.kind == "total_drift":
            body["pagination"]["total"] += rule.int_value() * (ordinal + 1)
        elif rule.kind == "unknown_status" and jobs:
            jobs[0]["status"] = rule.text_value()
        elif rule.kind == "hostile":
            _make_hostile(jobs, ordinal)
        elif rule.kind == "odd_timestamps":
            for index, job in enumerate(jobs):
                _ODD_TIMESTAMPS[(ordinal + index) % len(_ODD_TIMESTAMPS)](job)
    return body


def _duplicate(jobs: list[JobLike]) -> None:
    """Make the page hold its first job twice, keeping its length if possible."""
    if not jobs:
        return
    copy = dict(jobs[0])
    if len(jobs) >= 2:
        jobs[-1] = copy
    else:
        jobs.append(copy)


def _make_hostile(jobs: list[JobLike], ordinal: int) -> None:
    """Fill reference ids, and failure reasons where present, with hostile text."""
    count = len(HOSTILE_TEXTS)
    for index, job in enumerate(jobs):
        pick = ordinal + index
        job["reference_id"] = HOSTILE_TEXTS[pick % count]
        if job.get("status") == "failed":
            job["error_message"] = HOSTILE_TEXTS[(pick + count // 2) % count]


def _read(stamp: str) -> datetime:
    """Parse a timestamp in the API's own format."""
    return datetime.strptime(stamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def _present(job: JobLike) -> list[str]:
    """The timestamp fields the job has, in lifecycle order."""
    return [name for name in _TIMESTAMP_FIELDS if isinstance(job.get(name), str)]


def _fractions(job: JobLike) -> None:
    """Add fractional seconds of different lengths: .5, .123456, .123456789."""
    for name, digits in zip(
        _present(job), (".5", ".123456", ".123456789"), strict=False
    ):
        job[name] = job[name].removesuffix("Z") + digits + "Z"


def _offsets(job: JobLike) -> None:
    """Write the same instants in UTC+02:00 instead of Z."""
    for name in _present(job):
        local = _read(job[name]) + timedelta(hours=2)
        job[name] = local.strftime("%Y-%m-%dT%H:%M:%S") + "+02:00"


def _naive(job: JobLike) -> None:
    """Drop the zone designator, leaving timestamps without a time zone."""
    for name in _present(job):
        job[name] = job[name].removesuffix("Z")


def _out_of_order(job: JobLike) -> None:
    """Make the job end before it started, or start before it was created."""
    if "finished_at" in job and "started_at" in job:
        earlier = _read(job["started_at"]) - timedelta(seconds=7)
        job["finished_at"] = earlier.strftime(TIMESTAMP_FORMAT)
    elif "started_at" in job:
        earlier = _read(job["created_at"]) - timedelta(seconds=7)
        job["started_at"] = earlier.strftime(TIMESTAMP_FORMAT)


def _nulls(job: JobLike) -> None:
    """Send absent optional fields as explicit nulls."""
    for name in _OPTIONAL_FIELDS:
        job.setdefault(name, None)


def _spaced(job: JobLike) -> None:
    """Use a space instead of T and a lowercase z, as RFC 3339 allows."""
    for name in _present(job):
        job[name] = job[name].replace("T", " ").replace("Z", "z")


_ODD_TIMESTAMPS = (_fractions, _offsets, _naive, _out_of_order, _nulls, _spaced)
