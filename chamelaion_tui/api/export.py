"""Writing a batch, or the whole history, to a CSV, JSON or JSON Lines file.

Streaming. Pages are read one at a time and every row is written as it
arrives, so memory holds one page and the ids of the two pages before it (to
skip a request that new submissions pushed onto the next page), whatever the
size of the export (design invariant 7). Progress is reported after each page.

What goes in the files. The two kinds of file serve different readers, and
each keeps design invariant 2 (untrusted text never reaches a terminal as
control characters) in its own way:

* JSON and JSON Lines are for programs such as ``jq``: each request is one
  object holding every documented field (``null`` when absent), timestamps in
  ISO 8601 UTC, then any undocumented fields exactly as the API sent them.
  They are written with every non-ASCII character escaped, so the data stays
  exact while the file itself is plain ASCII: printing it cannot send an
  escape sequence, and a lone surrogate (which JSON can carry) is written as
  its escape instead of breaking the encoding. JSON is one array, written
  element by element; JSON Lines is one object per line.
* CSV is for spreadsheets and people. Its header names every documented field
  and an ``extra`` column holding the undocumented fields as a JSON object.
  Cells go through :func:`~chamelaion_tui.api.visible` (newlines kept, other
  control characters shown as symbols), and a cell starting with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return gets a ``'`` in front, so a
  spreadsheet shows it as text instead of running it as a formula. The file
  is UTF-8 with a byte order mark, which spreadsheets need to read anything
  beyond ASCII correctly.

Never overwriting. The file is written under a temporary name beside the
target and moved into place only when complete; an existing file is never
replaced. If the chosen name is taken, the export goes to ``name (2).csv``,
``name (3).csv`` and so on, and :attr:`ExportResult.path` says where.
"""

from __future__ import annotations

import asyncio
import collections
import csv
import json
import math
import os
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, TextIO, get_args

from chamelaion_tui.api.client import MAX_PAGE_SIZE, ChamelaionClient
from chamelaion_tui.api.download import place_without_overwrite
from chamelaion_tui.api.errors import ApiError
from chamelaion_tui.api.models import FIELDS, LipsyncRequest, Page
from chamelaion_tui.api.text import visible

ExportFormat = Literal["csv", "json", "jsonl"]
"""The file formats an export can be written in."""

FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)
"""Every export format, for menus and argument checks."""

CSV_COLUMNS = (*FIELDS, "extra")
"""The CSV header: every documented field, then the undocumented ones as JSON."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""

REMEMBERED_PAGES = 2
"""Pages of ids kept to skip a request seen again on the next page."""

ExportProgress = Callable[[int, int], None]
"""Called after each page with (requests written, total the API reports)."""


class ExportError(ApiError):
    """An export file could not be written; the message says why."""

    title = "Export failed"


@dataclass(frozen=True, slots=True)
class ExportResult:
    """Where an export was written, how many requests it holds, in what format."""

    path: Path
    count: int
    fmt: ExportFormat


def neutralise_formula(cell: str) -> str:
    """``cell``, with a ``'`` in front if a spreadsheet would run it."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _stamp(moment: datetime | None) -> str | None:
    """An instant in ISO 8601 UTC with a ``Z``, as the API writes them."""
    if moment is None:
        return None
    return moment.isoformat().replace("+00:00", "Z")


def _finite(value: object) -> object:
    """``value`` with NaN and infinities (which JSON lacks) as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _dumps(value: object) -> str:
    """Compact, ASCII-only JSON; see the module's docstring for why ASCII."""
    return json.dumps(
        _finite(value), ensure_ascii=True, allow_nan=False, separators=(",", ":")
    )


def request_record(request: LipsyncRequest) -> dict[str, object]:
    """A request as one JSON object: documented fields, then the others."""
    record: dict[str, object] = {
        "id": request.id,
        "reference_id": request.reference_id,
        "status": request.status,
        "created_at": _stamp(request.created_at),
        "started_at": _stamp(request.started_at),
        "finished_at": _stamp(request.finished_at),
        "output_url": request.output_url,
        "error_message": request.error_message,
    }
    for key, value in request.extra.items():
        record.setdefault(str(key), value)
    return record


def csv_row(request: LipsyncRequest) -> list[str]:
    """A request as one CSV row in :data:`CSV_COLUMNS` order, safe to open."""
    record = request_record(request)
    extra = dict(request.extra)
    cells = [record[name] for name in FIELDS]
    cells.append(json.dumps(_finite(extra), ensure_ascii=True, sort_keys=True))
    if not extra:
        cells[-1] = ""
    return [
        neutralise_formula(visible(cell, keep_newlines=True)) if cell else ""
        for cell in cells
    ]


class _Writer:
    """Writes requests to an open text file in one format, start to end."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle

    def begin(self) -> None:
        """Write whatever precedes the first request."""

    def write(self, request: LipsyncRequest) -> None:
        """Write one request."""
        raise NotImplementedError

    def end(self) -> None:
        """Write whatever follows the last request."""


class _CsvWriter(_Writer):
    """A header row, then one row per request."""

    def __init__(self, handle: TextIO) -> None:
        super().__init__(handle)
        self.rows = csv.writer(handle)

    def begin(self) -> None:
        self.rows.writerow(CSV_COLUMNS)

    def write(self, request: LipsyncRequest) -> None:
        self.rows.writerow(csv_row(request))


class _JsonWriter(_Writer):
    """One array, opened first, closed last, one element per line."""

    first = True

    def begin(self) -> None:
        self.handle.write("[")

    def write(self, request: LipsyncRequest) -> None:
        self.handle.write("\n" if self.first else ",\n")
        self.handle.write(_dumps(request_record(request)))
        self.first = False

    def end(self) -> None:
        self.handle.write("\n]\n")


class _JsonLinesWriter(_Writer):
    """One object per line."""

    def write(self, request: LipsyncRequest) -> None:
        self.handle.write(_dumps(request_record(request)) + "\n")


_WRITERS: dict[ExportFormat, type[_Writer]] = {
    "csv": _CsvWriter,
    "json": _JsonWriter,
    "jsonl": _JsonLinesWriter,
}


def _open_temporary(target: Path, fmt: ExportFormat) -> tuple[Path, TextIO]:
    """Create a hidden temporary file beside ``target`` and open it for text.

    It is created exclusively (never reusing a file that exists) and with
    the permissions any new file of the user gets, which the final file keeps.
    """
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    csv_file = fmt == "csv"
    handle = temporary.open(
        "x",
        encoding="utf-8-sig" if csv_file else "ascii",
        newline="" if csv_file else "\n",
    )
    return temporary, handle


def _close(handle: TextIO) -> None:
    """Flush a finished file to disk and close it."""
    try:
        handle.flush()
        os.fsync(handle.fileno())
    finally:
        handle.close()


def _discard(handle: TextIO, temporary: Path) -> None:
    """Close and remove an unfinished temporary file."""
    try:
        handle.close()
    finally:
        temporary.unlink(missing_ok=True)


async def _write_pages(
    pages: AsyncIterator[Page],
    writer: _Writer,
    on_progress: ExportProgress | None,
) -> int:
    """Write every request of ``pages`` once; return how many were written."""
    count = 0
    recent: collections.deque[set[str]] = collections.deque(maxlen=REMEMBERED_PAGES)
    try:
        async for page in pages:
            for item in page.items:
                if not any(item.id in ids for ids in recent):
                    writer.write(item)
                    count += 1
            recent.append({item.id for item in page.items})
            writer.handle.flush()
            if on_progress is not None:
                on_progress(count, max(page.pagination.total, count))
    finally:
        aclose = getattr(pages, "aclose", None)
        if aclose is not None:
            await aclose()
    return count


async def export_requests(
    client: ChamelaionClient,
    path: Path,
    *,
    reference_id: str | None,
    fmt: ExportFormat,
    on_progress: ExportProgress | None = None,
    page_size: int = MAX_PAGE_SIZE,
) -> ExportResult:
    """Write every request of a batch (or all, if ``reference_id`` is None).

    The folder of ``path`` must exist. The file ends up at ``path`` or, if
    that is taken, at its first free numbered variant; see the module's
    docstring for the formats.

    Raises:
        ValueError: ``fmt`` is not one of :data:`FORMATS`, or ``page_size``
            is not within 1 and the API's page limit.
        ApiError: a page could not be read; no file is left behind.
        ExportError: the file could not be written.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {FORMATS}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be within 1 and {MAX_PAGE_SIZE}")
    try:
        temporary, handle = await asyncio.to_thread(_open_temporary, path, fmt)
    except OSError as exc:
        raise _file_error(exc, path) from None

    placed = False
    try:
        writer = _WRITERS[fmt](handle)
        writer.begin()
        pages = client.iter_pages(reference_id=reference_id, page_size=page_size)
        count = await _write_pages(pages, writer, on_progress)
        writer.end()
        await asyncio.to_thread(_close, handle)
        final = await asyncio.to_thread(place_without_overwrite, temporary, path)
        placed = True
    except OSError as exc:
        raise _file_error(exc, path) from None
    finally:
        if not placed:
            await asyncio.to_thread(_discard, handle, temporary)
    return ExportResult(final, count, fmt)


def _file_error(exc: OSError, path: Path) -> ExportError:
    """A message for an export file that could not be written."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return ExportError(f"cannot write {visible(str(path), limit=200)}: {reason}")
