"""Loading every request of one batch, once, when a person filters to it.

The summary bar of a filtered batch covers the whole batch, not the page on
screen, so the UI reads all its pages once when the filter is applied and then
keeps the tracker current from the ordinary page refreshes (never paging
through again on every refresh). The load is capped: a "batch" of a hundred
thousand requests is someone's whole history under one reference id, and
holding it would break the bound on memory; the cap is reported, not hidden.

This is the only module of the package that talks to the API, and only through
the client it is given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from chamelaion_tui.api import MAX_PAGE_SIZE, ChamelaionClient, LipsyncRequest
from chamelaion_tui.batch.tracker import MAX_BATCH

LoadProgress = Callable[[int, int], None]
"""Called after each page with (requests loaded so far, total the API reports)."""


@dataclass(frozen=True, slots=True)
class LoadedBatch:
    """The requests of a batch as loaded, and whether that is all of them.

    ``total`` is the batch's size as the API last reported it; ``truncated``
    is true when loading stopped at the cap with requests left unread, in
    which case ``requests`` holds the newest ``cap`` of them.
    """

    requests: list[LipsyncRequest]
    total: int
    truncated: bool
    dropped: int = 0
    """Items the API sent that could not be used (no id, not an object)."""


async def load_batch(
    client: ChamelaionClient,
    reference_id: str,
    page_size: int = MAX_PAGE_SIZE,
    on_progress: LoadProgress | None = None,
    *,
    cap: int = MAX_BATCH,
) -> LoadedBatch:
    """Read every page of the batch ``reference_id`` once, newest first.

    It walks pages rather than single requests so that it learns the total
    for ``on_progress`` from the first answer. A request that new submissions
    pushed onto the next page shows up twice in the raw pages; the repeat is
    skipped, as :meth:`ChamelaionClient.iter_requests` does.

    Raises:
        ValueError: ``reference_id`` is empty, ``page_size`` is not within 1
            and the API's page limit, or ``cap`` is below 1.
        ApiError: a page could not be read; nothing partial is returned.
    """
    if not reference_id:
        raise ValueError("a batch is loaded by its reference id, which is empty")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be within 1 and {MAX_PAGE_SIZE}")
    if cap < 1:
        raise ValueError(f"cap must be at least 1, got {cap}")

    loaded: list[LipsyncRequest] = []
    seen: set[str] = set()
    total = dropped = 0
    truncated = False
    pages = client.iter_pages(reference_id=reference_id, page_size=page_size)
    try:
        async for page in pages:
            total = max(page.pagination.total, total)
            dropped += page.dropped
            fresh = [item for item in page.items if item.id not in seen]
            room = cap - len(loaded)
            if len(fresh) > room:
                fresh, truncated = fresh[:room], True
            loaded.extend(fresh)
            seen.update(item.id for item in fresh)
            if on_progress is not None:
                on_progress(len(loaded), max(total, len(loaded)))
            if len(loaded) >= cap:
                truncated = truncated or total > cap
                break
    finally:
        await _close(pages)
    return LoadedBatch(
        requests=loaded,
        total=max(total, len(loaded)),
        truncated=truncated,
        dropped=dropped,
    )


async def _close(iterator: AsyncIterator[object]) -> None:
    """Close an async generator left early, so its connection work ends now.

    Left to the garbage collector, a generator abandoned at the cap would be
    finalised at some later point by the event loop instead.
    """
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
