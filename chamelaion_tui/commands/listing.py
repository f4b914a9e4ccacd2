"""``list`` and ``get``: read requests once and print them.

``list --all`` streams: each page is printed as it arrives and only the ids
already seen are kept (to skip a request that new submissions pushed onto the
next page), so a history of any size costs one page of memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from chamelaion_tui.api import MAX_PAGE_SIZE, ChamelaionClient, LipsyncRequest
from chamelaion_tui.commands import exits
from chamelaion_tui.commands.records import (
    field_lines,
    json_line,
    request_json,
    table_header,
    table_row,
)
from chamelaion_tui.commands.runtime import Console


async def list_command(
    client: ChamelaionClient,
    console: Console,
    *,
    reference_id: str | None,
    limit: int,
    every: bool,
    as_json: bool,
) -> int:
    """Print the newest ``limit`` requests, or every one with ``every``.

    Raises:
        ApiError: a page could not be read; what was printed stays printed.
    """
    printer = _Printer(console, as_json)
    total: int | None = None
    if every or limit > MAX_PAGE_SIZE:
        stream = client.iter_requests(
            reference_id=reference_id, page_size=MAX_PAGE_SIZE
        )
        try:
            async for item in _first(stream, None if every else limit):
                printer.item(item)
        finally:
            await _close(stream)
    else:
        page = await client.list_requests(limit=limit, reference_id=reference_id)
        total = page.pagination.total
        for item in page.items:
            printer.item(item)
    printer.end()
    shown = printer.count
    if console.tty and not as_json:
        console.line(console.dim(_footer(shown, total, every)))
    return exits.OK


async def _first(
    items: AsyncIterator[LipsyncRequest], count: int | None
) -> AsyncIterator[LipsyncRequest]:
    """The first ``count`` items of ``items`` (all of them for ``None``)."""
    if count is not None and count <= 0:
        return
    seen = 0
    async for item in items:
        yield item
        seen += 1
        if count is not None and seen >= count:
            return


async def _close(stream: AsyncIterator[LipsyncRequest]) -> None:
    """Finish a paging generator left part-way, so it lets go of its page."""
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()


class _Printer:
    """Prints requests as rows under one header, or as JSON lines.

    The header waits for the first row, so a failed first read prints only
    the error.
    """

    def __init__(self, console: Console, as_json: bool) -> None:
        self.console = console
        self.as_json = as_json
        self.count = 0

    def item(self, item: LipsyncRequest) -> None:
        """Print one request."""
        if self.as_json:
            self.console.line(json_line(request_json(item)))
        else:
            if self.count == 0:
                self.console.line(table_header(self.console))
            self.console.line(table_row(item, self.console))
        self.count += 1

    def end(self) -> None:
        """Print the header of an empty table, so it still reads as one."""
        if self.count == 0 and not self.as_json:
            self.console.line(table_header(self.console))


def _footer(shown: int, total: int | None, every: bool) -> str:
    """The hint under a table on a terminal: how much of the history it is."""
    if shown == 0:
        return "no requests"
    noun = "request" if shown == 1 else "requests"
    if total is None or every or shown >= total:
        return f"{shown} {noun}"
    return f"{shown} of {total} {noun} · --all lists every one, --limit N more"


async def get_command(
    client: ChamelaionClient,
    console: Console,
    *,
    id_or_reference: str,
    as_json: bool,
    now: datetime,
) -> int:
    """Print every field of one request, found by id or reference id.

    Raises:
        ApiError: the request could not be read (NotFound when unknown).
    """
    item = await client.get_request(id_or_reference)
    if as_json:
        console.line(json_line(request_json(item)))
    else:
        for line in field_lines(item, now, console):
            console.line(line)
    return exits.OK
