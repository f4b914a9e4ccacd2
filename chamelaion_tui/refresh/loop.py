"""The refresh loop: carries out the policy's plans through an injected source.

The loop owns no connection of its own; it is handed something with the
client's two read methods (the real client, or a fake) and a callback that
receives what happened as events. One cycle runs at a time, the next is
planned only when the last has finished, and no error ends the loop: API
errors pause it as the policy says, anything unexpected is logged, reported
and backed off like an outage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chamelaion_tui.api.errors import ApiError, NotFound, RequestRejected
from chamelaion_tui.api.models import LipsyncRequest, Page
from chamelaion_tui.refresh.policy import PauseReason, RefreshPolicy, View

log = logging.getLogger(__name__)


class Source(Protocol):
    """The two reads the loop needs; :class:`ChamelaionClient` has both."""

    async def list_requests(
        self, *, limit: int = 20, offset: int = 0, reference_id: str | None = None
    ) -> Page:
        """One page of the list endpoint."""

    async def get_request(self, id_or_reference: str) -> LipsyncRequest:
        """One request by id."""


@dataclass(frozen=True, slots=True)
class PageLoaded:
    """The visible page was read; ``at`` is the policy clock's time."""

    view: View
    page: Page
    at: float


@dataclass(frozen=True, slots=True)
class RequestLoaded:
    """A request off the page (or pinned) was read by id."""

    request: LipsyncRequest
    at: float


@dataclass(frozen=True, slots=True)
class RequestGone:
    """A followed request is unknown to the API now (404)."""

    request_id: str


@dataclass(frozen=True, slots=True)
class RefreshFailed:
    """A refresh failed; polling is paused until ``resume_at`` (clock time)."""

    error: ApiError
    reason: PauseReason | None
    resume_at: float | None


RefreshEvent = PageLoaded | RequestLoaded | RequestGone | RefreshFailed


class UnexpectedError(ApiError):
    """A fault inside the refresh cycle itself; reported, never fatal."""

    title = "Refresh error"


class Refresher:
    """Runs refresh cycles forever, one at a time, as the policy plans them.

    Args:
        source: Where data comes from.
        policy: What to fetch when; shared with whoever changes the view.
        on_event: Called with each :data:`RefreshEvent`, in order.
        max_concurrent_gets: Bound on simultaneous GETs by id.
        time_scale: Policy seconds per real second (1 in the app; a benchmark
            on a time-compressed simulator scales both its clock and this).
    """

    def __init__(
        self,
        source: Source,
        policy: RefreshPolicy,
        on_event: Callable[[RefreshEvent], None],
        *,
        max_concurrent_gets: int = 4,
        time_scale: float = 1.0,
    ) -> None:
        self.source = source
        self.policy = policy
        self._on_event = on_event
        self._gets = asyncio.Semaphore(max_concurrent_gets)
        self._time_scale = time_scale
        self._wake = asyncio.Event()
        self.cycles = 0
        """Completed cycles that fetched something; for tests and benchmarks."""

    def wake(self) -> None:
        """Re-plan at once (the view changed, or the person asked for data)."""
        self._wake.set()

    async def run(self) -> None:
        """Refresh until cancelled."""
        while True:
            await self.run_once()
            await self._sleep_until(self.policy.plan().wake_at)

    async def run_once(self) -> None:
        """Carry out the current plan, if it asks for anything."""
        plan = self.policy.plan()
        if plan.empty:
            return
        self.cycles += 1
        try:
            if plan.list_page:
                await self._read_page()
            if plan.get_ids:
                await self._read_by_id(plan.get_ids)
        except ApiError as error:
            self._fail(error)
        except Exception as error:
            log.exception("refresh cycle failed unexpectedly")
            self._fail(UnexpectedError(f"{type(error).__name__}: {error}"))

    async def _read_page(self) -> None:
        """Read the visible page and report it, unless the view moved on."""
        generation, view = self.policy.generation, self.policy.view
        page = await self.source.list_requests(
            limit=view.limit, offset=view.offset, reference_id=view.reference_id
        )
        if generation != self.policy.generation:
            log.debug("dropped a page for a view that is gone")
            return
        self.policy.page_loaded(page.items)
        self._on_event(PageLoaded(view, page, self.policy.clock()))

    async def _read_by_id(self, request_ids: tuple[str, ...]) -> None:
        """GET each request, a few at a time; the first error stops the cycle."""
        generation = self.policy.generation

        async def read(request_id: str) -> LipsyncRequest | None:
            async with self._gets:
                try:
                    return await self.source.get_request(request_id)
                except (NotFound, RequestRejected):
                    # Unknown now, or an id the API refuses to look up: stop
                    # following it rather than back off everything else.
                    self.policy.request_gone(request_id)
                    self._on_event(RequestGone(request_id))
                    return None

        tasks = [asyncio.ensure_future(read(i)) for i in request_ids]
        try:
            results = await asyncio.gather(*tasks)
        except Exception:
            # Stop the other GETs: left running, they would keep calling the
            # API during the pause and report after this cycle has ended.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        if generation != self.policy.generation:
            return
        for request in results:
            if request is not None:
                self.policy.request_loaded(request)
                self._on_event(RequestLoaded(request, self.policy.clock()))

    def _fail(self, error: ApiError) -> None:
        """Pause as the policy says and tell the listener."""
        self.policy.failed(error)
        log.warning(
            "refresh failed (%s): %s; paused: %s",
            type(error).__name__,
            error.message,
            self.policy.pause_reason,
        )
        self._on_event(
            RefreshFailed(error, self.policy.pause_reason, self.policy.resume_at)
        )

    async def _sleep_until(self, wake_at: float | None) -> None:
        """Wait until ``wake_at`` (clock time), or until woken."""
        timeout = None
        if wake_at is not None:
            timeout = max(wake_at - self.policy.clock(), 0.0) / self._time_scale
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            return
        finally:
            self._wake.clear()
