"""How one request is written out: a JSON object, a table row, a field list.

Every string that came from the API goes through ``visible`` before it reaches
a terminal. JSON is written with ``ensure_ascii``, so escape sequences, C1
controls and bidi marks arrive as ``\\u`` escapes, never as raw characters.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from chamelaion_tui.api import LipsyncRequest, visible
from chamelaion_tui.api.spans import span_text
from chamelaion_tui.commands.runtime import Console

ID_WIDTH = 36
"""Columns for an id: a UUID fits exactly; longer ids push the line wider."""
REFERENCE_WIDTH = 24
STATUS_WIDTH = 10
TIME_WIDTH = 20
LONG_TEXT = 500
"""The most characters of a URL or message shown on one line."""


def json_line(data: object) -> str:
    """``data`` as one line of JSON, pure ASCII whatever the API sent."""
    return json.dumps(data, ensure_ascii=True, separators=(",", ":"))


def stamp(moment: datetime | None) -> str | None:
    """An instant as ``2026-04-07T10:00:05Z``, or ``None``."""
    if moment is None:
        return None
    text = moment.isoformat(timespec="seconds")
    return text.removesuffix("+00:00") + "Z"


def request_json(item: LipsyncRequest) -> dict[str, object]:
    """Every field of a request, for JSON output; absent fields are null.

    Fields the API sent that this version does not know go under ``extra``.
    """
    data: dict[str, object] = {
        "id": item.id,
        "reference_id": item.reference_id,
        "status": item.status,
        "created_at": stamp(item.created_at),
        "started_at": stamp(item.started_at),
        "finished_at": stamp(item.finished_at),
        "output_url": item.output_url,
        "error_message": item.error_message,
    }
    if item.extra:
        data["extra"] = dict(item.extra)
    return data


def duration(span: timedelta | None) -> str:
    """A span as ``45s``, ``3m 07s`` or ``2h 05m``; ``-`` when unknown."""
    return span_text(span, unknown="-")


def outcome_text(item: LipsyncRequest, limit: int = LONG_TEXT) -> str:
    """The output URL of a completed request or the error of a failed one."""
    return visible(item.output_url or item.error_message or "", limit=limit)


def _cell(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` columns, cut with an ellipsis."""
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.ljust(width)


def table_header(console: Console) -> str:
    """The header line of the request table."""
    columns = (
        _cell("STATUS", STATUS_WIDTH),
        "ID".ljust(ID_WIDTH),
        _cell("REFERENCE", REFERENCE_WIDTH),
        _cell("CREATED", TIME_WIDTH),
        "OUTPUT OR ERROR",
    )
    return console.dim("  ".join(columns))


def table_row(item: LipsyncRequest, console: Console) -> str:
    """One request as a table line.

    The id is never shortened (scripts copy it); the reference is cut to its
    column; on a terminal the last column is cut to the width left.
    """
    status = visible(item.status, limit=STATUS_WIDTH)
    head = "  ".join(
        (
            console.status(item.status, status.ljust(STATUS_WIDTH)),
            visible(item.id, limit=100).ljust(ID_WIDTH),
            _cell(visible(item.reference_id or "-"), REFERENCE_WIDTH),
            _cell(stamp(item.created_at) or "-", TIME_WIDTH),
        )
    )
    room = LONG_TEXT
    if console.tty:
        separators = 2 * 4
        used = STATUS_WIDTH + ID_WIDTH + REFERENCE_WIDTH + TIME_WIDTH + separators
        room = max(console.width - used, 12)
    return f"{head}  {outcome_text(item, room)}".rstrip()


def field_lines(item: LipsyncRequest, now: datetime, console: Console) -> list[str]:
    """Every field of one request as ``name  value`` lines, for ``get``."""
    rows: list[tuple[str, str]] = [
        ("id", visible(item.id)),
        ("reference_id", visible(item.reference_id or "-")),
        ("status", console.status(item.status, visible(item.status, limit=60))),
        ("created_at", stamp(item.created_at) or "-"),
        ("started_at", stamp(item.started_at) or "-"),
        ("finished_at", stamp(item.finished_at) or "-"),
        ("queue wait", duration(item.queue_wait(now))),
        ("processing", duration(item.processing_time(now))),
        ("output_url", visible(item.output_url or "-")),
        ("error_message", visible(item.error_message or "-")),
    ]
    for name, value in item.extra.items():
        shown = value if isinstance(value, str) else json_line(value)
        rows.append((visible(name, limit=40), visible(shown, limit=LONG_TEXT)))
    width = max(len(name) for name, _ in rows)
    return [f"{name.ljust(width)}  {value}" for name, value in rows]
