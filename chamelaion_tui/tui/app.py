"""The dashboard: a page of requests, a detail pane, a filter and a status line.

Data flows one way. The :class:`Refresher` runs as a worker, calls the API as
the :class:`RefreshPolicy` plans, and posts each outcome as a
:class:`Refreshed` message; the handlers update widgets. Key presses change
the policy's view and wake the refresher. A response for a view that is no
longer shown is dropped by the refresher (by generation) and again here.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Input, Static
from textual.worker import Worker, WorkerState

from chamelaion_tui.api import (
    ApiError,
    AuthError,
    ChamelaionClient,
    LipsyncRequest,
    NotFound,
    visible,
)
from chamelaion_tui.batch import Change, group_toasts, load_batch
from chamelaion_tui.refresh import (
    PageLoaded,
    PauseReason,
    Refresher,
    RefreshEvent,
    RefreshFailed,
    RefreshPolicy,
    RequestGone,
    RequestLoaded,
    View,
)
from chamelaion_tui.tui.crash import crash_message, write_crash_report
from chamelaion_tui.tui.errors import describe, short_label
from chamelaion_tui.tui.panes import DetailPane, KeyBar, StatusLine
from chamelaion_tui.tui.status import StatusState, status_parts
from chamelaion_tui.tui.summary import SummaryBar, summary_text
from chamelaion_tui.tui.table import RequestsTable
from chamelaion_tui.tui.transfers import TransferBar
from chamelaion_tui.tui.watch import RELOAD_SECONDS, BatchWatch

if TYPE_CHECKING:
    from chamelaion_tui.tui.outputs import Severity

# Screens, downloads and export are imported where first used: none of them
# is needed to show the first page, and each import delays it.

log = logging.getLogger(__name__)

WallClock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime."""

NARROW_WIDTH = 120
"""Terminals narrower than this show the detail pane below the table."""

TOAST_LIMIT = 3
"""The most toasts one refresh raises; more finished requests are grouped."""

TOAST_SWEEP_SECONDS = 30.0
"""How often empty toast holders are looked for; see ``_sweep_toast_holders``."""

SUMMARY_SECONDS = 5.0
"""How often the summary is recounted when no data changed (for the ETA)."""

EXIT_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""Signals that close the dashboard the way ``q`` does, so the terminal is put
back as it was; by default they would end the process at once, leaving the
terminal in the dashboard's screen mode."""

REMEMBERED_VIEWS = 64
"""How many views remember where their cursor was (bounded, for long runs)."""


@dataclass(frozen=True, slots=True)
class DashboardOptions:
    """What the dashboard shows and where from (never the key itself)."""

    page_size: int = 20
    reference_id: str | None = None
    demo_label: str | None = None
    """Set when running on the simulator; shown as a badge so nobody mistakes
    demo data for real jobs."""
    tick_seconds: float = 1.0
    """How often relative times and the status line are redrawn."""
    theme: str | None = None
    """A Textual theme name, such as "nord"; None keeps the default."""
    bell: bool = False
    """Ring the terminal bell when a request fails."""
    download_dir: Path | None = None
    """Where outputs are saved (in a folder per reference_id); None: here."""
    stuck_after: timedelta | None = None
    """Any request in flight longer than this is flagged stuck."""
    warning: str | None = None
    """Shown as a notification at start, e.g. that the key travels unencrypted."""
    renew_key: Callable[[], str] | None = None
    """Gets the key afresh, as running a ``key_command`` again does; called
    when ``r`` is pressed after the API refused the key. It may block, and
    raises ``ValueError`` with a message for a person when it fails. None:
    the key cannot change while the dashboard runs."""


KEYS: tuple[tuple[str, str, str, str, str, bool], ...] = (
    # key, as shown, action, footer label, what it does, in the footer
    ("q", "q", "quit", "Quit", "Quit the dashboard", True),
    # "/" is a priority binding (see BINDINGS): the app sees it before the
    # focused table does, so keys typed right after it reach the filter box.
    ("slash", "/", "focus_filter", "Filter", "Filter by reference_id", True),
    ("escape", "Esc", "clear_filter", "Clear", "Clear the filter", False),
    ("n", "n", "next_page", "Next", "Next page", True),
    ("p", "p", "previous_page", "Prev", "Previous page", True),
    ("r", "r", "refresh", "Refresh", "Refresh now; retry at once after an error", True),
    ("space", "space", "toggle_pause", "Pause", "Pause or resume auto-refresh", True),
    ("g", "g", "go_to", "Go to", "Show a request by id or reference_id", True),
    ("o", "o", "open_output", "Open", "Open the output video in the browser", False),
    ("c", "c", "copy", "Copy", "Copy the output URL, or else the id", False),
    ("d", "d", "download", "Download", "Download the highlighted output", False),
    (
        "D",
        "D",
        "download_batch",
        "Download all",
        "Download every output of the batch",
        False,
    ),
    (
        "e",
        "e",
        "export",
        "Export",
        "Export the view (all pages): CSV, JSON, JSONL",
        True,
    ),
    ("f", "f", "failures", "Failures", "Failures grouped by error message", True),
    ("question_mark", "?", "help", "Help", "Show every key", True),
)
"""Every key of the dashboard; bindings, help and command palette read it."""

FILTER_BOX_KEYS: tuple[tuple[str, str, str], ...] = (
    ("Enter", "submit_filter", "Apply"),
    ("Esc", "clear_filter", "Clear"),
)
"""The key line while the filter box has focus, where other keys type."""

TABLE_KEYS: tuple[tuple[str, str], ...] = (
    ("↑ ↓ / j k", "Move the cursor; the detail pane follows"),
    ("PgUp PgDn Home End", "Move the cursor further"),
)


class Refreshed(Message):
    """Carries one refresh outcome from the worker to the UI."""

    def __init__(self, event: RefreshEvent) -> None:
        super().__init__()
        self.event = event


class ChamelaionApp(App[None]):
    """The dashboard app.

    Args:
        client: An open API client; the app closes it when it exits.
        options: Page size, initial filter and demo marker.
        clock: Monotonic seconds for scheduling (injected by tests).
        wall_clock: The current UTC time for relative times (injected by tests).
        auto_refresh: Start the background refresher (tests may drive it).
    """

    CSS_PATH = "app.tcss"
    TITLE = "Chamelaion"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, action, label, show=show, priority=key == "slash")
        for key, _shown, action, label, _help, show in KEYS
    ]

    def __init__(
        self,
        client: ChamelaionClient,
        options: DashboardOptions | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: WallClock | None = None,
        auto_refresh: bool = True,
    ) -> None:
        super().__init__()
        self.client = client
        self.options = options or DashboardOptions()
        self._wall_clock = wall_clock or (lambda: datetime.now(UTC))
        self._auto_refresh = auto_refresh
        self.policy = RefreshPolicy(
            clock=clock,
            view=View(self.options.reference_id, 0, self.options.page_size),
        )
        self.refresher = Refresher(client, self.policy, self._forward)
        self.total: int | None = None
        """The ``total`` of the last page read, or None before the first."""
        self.shown_view: View | None = None
        """The view whose rows are on the table now."""
        self.last_success: float | None = None
        self.last_error: ApiError | None = None
        self._pinned: LipsyncRequest | None = None
        """A request shown by "go to" that is not on the page, followed by id."""
        self._pin_anchor: str | None = None
        """The row the cursor was on when it was shown; moving away drops it."""
        self._osc52_explained = False
        self._data_time: datetime | None = None
        """Wall time of the last successful read, for drawing stale rows."""
        self._cursor_by_view: dict[View, str] = {}
        self.batch = BatchWatch(
            self.options.reference_id, self._wall_clock(), self.options.stuck_after
        )
        self._summary_at: float | None = None
        self._gc_paused = False
        """Garbage collection is off until the first clock tick; see on_mount."""
        self._beat = 0
        """The time beat the rows were last drawn on; see :meth:`_clock_tick`."""
        self.summary_bar = SummaryBar(id="summary")
        self.transfers = TransferBar()
        self.table = RequestsTable(id="requests")
        self.detail = DetailPane(id="detail")
        self.status_line = StatusLine(id="status")

    # -- layout --------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Header, optional demo badge, filter, table beside detail, status."""
        yield Header()
        if self.options.demo_label:
            yield Static(Text(visible(self.options.demo_label)), id="demo-badge")
        yield Input(
            value=self.options.reference_id or "",
            placeholder="Filter by reference_id (press / to type, Enter to apply, "
            "Esc to clear)",
            id="filter",
        )
        yield self.summary_bar
        with Horizontal(id="main"):
            yield self.table
            yield self.detail
        yield self.transfers
        yield self.status_line
        yield KeyBar(self._line_keys())

    def on_mount(self) -> None:
        """Focus the table, start the clock tick and the refresher."""
        host = self.client.base_url.host
        self.sub_title = "DEMO" if self.options.demo_label else host
        self._apply_theme(self.options.theme)
        if self.options.warning:
            self.notify(self.options.warning, severity="warning", timeout=20)
        self.table.focus()
        self.table.add_class("-loading")
        self.set_interval(self.options.tick_seconds, self._clock_tick)
        self.set_interval(RELOAD_SECONDS, self._reload_batch_if_needed)
        self.set_interval(TOAST_SWEEP_SECONDS, self._sweep_toast_holders)
        if self._auto_refresh:
            self.start_refresher()
        self._load_batch()
        self.tick()
        # The command line pauses garbage collection while the dashboard
        # starts; the first clock tick, a second from now, ends the pause.
        self._gc_paused = not gc.isenabled()
        self._handle_exit_signals(True)

    def _resume_gc(self) -> None:
        """End the pause of garbage collection that began as the program started.

        Collecting once first clears what piled up during the pause, at a
        moment of our choosing: after the first page has been drawn.
        """
        self._gc_paused = False
        gc.collect()
        gc.enable()

    def _sweep_toast_holders(self) -> None:
        """Remove toast holders a Textual 8 race left empty.

        When a notification arrives as an older one expires, Textual removes
        the old toast but not the holder around it, which keeps a task. Over
        days of finishing jobs those would pile up; this clears them.
        """
        for screen in self.screen_stack:
            for holder in screen.query("ToastHolder"):
                if not holder.children:
                    holder.remove()

    def _apply_theme(self, name: str | None) -> None:
        """Use the theme ``name`` if Textual has it; say so if it does not."""
        if name is None:
            return
        if name in self.available_themes:
            self.theme = name
            return
        known = ", ".join(sorted(self.available_themes))
        self.notify(
            f"No theme named “{visible(name, limit=40)}”; known themes: {known}.",
            title="Theme",
            severity="warning",
        )

    async def on_unmount(self) -> None:
        """Close the connection pool; signals go back to their defaults."""
        self._handle_exit_signals(False)
        await self.client.aclose()

    def _handle_exit_signals(self, handle: bool) -> None:
        """Close the app on :data:`EXIT_SIGNALS`, or stop doing so.

        Where the event loop cannot handle signals (not the main thread, or
        a platform without them) the defaults stay, and the log says so.
        """
        loop = asyncio.get_running_loop()
        for number in EXIT_SIGNALS:
            try:
                if handle:
                    loop.add_signal_handler(number, self.exit)
                else:
                    loop.remove_signal_handler(number)
            except (NotImplementedError, RuntimeError, ValueError) as error:
                log.info("signal %s left to its default: %s", number, error)

    def start_refresher(self) -> None:
        """Run the refresher as the one worker of its group."""
        self.run_worker(
            self.refresher.run(),
            name="refresher",
            group="refresh",
            description="Poll the API for the visible page",
            exclusive=True,
            exit_on_error=False,
        )

    def on_resize(self, event: events.Resize) -> None:
        """Put the detail pane below the table on narrow terminals."""
        self.query_one("#main").set_class(event.size.width < NARROW_WIDTH, "-narrow")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The refresher never stops on its own; if it does, say so and restart."""
        if event.worker.group == "refresh" and event.state == WorkerState.ERROR:
            self.notify(
                f"The refresher stopped ({event.worker.error!r}); restarting it.",
                title="Refresh error",
                severity="error",
            )
            self.set_timer(5.0, self.start_refresher)

    def _fatal_error(self) -> None:
        """Exit after a bug with one line instead of Textual's traceback.

        Textual's version prints local variables, which may include the key.
        """
        error = sys.exception()
        path = write_crash_report(error) if error is not None else None
        self.bell()
        self._exit_renderables.append(Text(crash_message(path)))
        self._close_messages_no_wait()

    # -- refresh outcomes ----------------------------------------------------

    def _forward(self, event: RefreshEvent) -> None:
        """Called by the refresher; hands the event to the UI as a message."""
        self.post_message(Refreshed(event))

    def on_refreshed(self, message: Refreshed) -> None:
        """Apply one refresh outcome to the widgets."""
        event = message.event
        if isinstance(event, PageLoaded):
            self._page_loaded(event)
        elif isinstance(event, RequestLoaded):
            self._succeeded(event.at)
            if self._pinned is not None and event.request.id == self._pinned.id:
                self._pinned = event.request
            self._announce(self.batch.observe([event.request], self._wall_clock()))
        elif isinstance(event, RequestGone):
            self._succeeded(self.policy.clock())
        elif isinstance(event, RefreshFailed):
            self._failed(event)
        self.tick()

    def _page_loaded(self, event: PageLoaded) -> None:
        """Show a freshly read page, unless the person has moved on."""
        if event.view != self.policy.view:
            return
        pagination = event.page.pagination
        if not event.page.items and event.view.offset > 0 and pagination.total:
            last = (pagination.total - 1) // event.view.limit * event.view.limit
            self._change_view(replace(event.view, offset=last))
            return
        self._succeeded(event.at)
        self.total = pagination.total
        self.shown_view = event.view
        self.table.remove_class("-loading")
        now = self._wall_clock()
        self._announce(self.batch.observe_page(event.page.items, now, pagination.total))
        self._summary_at = None
        self._show_summary()  # also marks changed and stuck rows for the table
        self.table.show(
            event.page.items,
            self._as_of(),
            self.theme_variables,
            keep=self._cursor_by_view.get(event.view),
        )
        self._show_detail()

    def _succeeded(self, at: float) -> None:
        """Note a successful call; lift the stale mark."""
        self.last_success = at
        self._data_time = self._wall_clock()
        if self.last_error is not None:
            self.last_error = None
            self.table.remove_class("-stale")
            self.notify("Connected to the API again.", title="Recovered")

    def _failed(self, event: RefreshFailed) -> None:
        """Keep the data, mark it stale, and tell the person once per episode."""
        first = self.last_error is None or type(self.last_error) is not type(
            event.error
        )
        self.last_error = event.error
        self.table.add_class("-stale")
        if first:
            title, body = describe(event.error)
            if isinstance(event.error, AuthError):
                self.notify(body, title=title, severity="error", timeout=30)
            else:
                self.notify(body, title=title, severity="warning", timeout=8)

    # -- the clock -----------------------------------------------------------

    def _clock_tick(self) -> None:
        """Once a second: redraw rows only when their times can have changed.

        With something in flight (or a row younger than a few minutes) that
        is every second; otherwise relative times move on a 15-second beat
        (see :func:`~chamelaion_tui.tui.render.relative`), and in between only
        the status line is redrawn. Redrawing costs: Textual's table redraws
        every cell when any one changes.
        """
        if self._gc_paused:
            self._resume_gc()
        if not self.table.is_attached:
            return
        beat = self.table.time_beat(self._as_of())
        if beat != self._beat:
            self._beat = beat
            self.tick()
        else:
            self.status_line.set_parts(
                status_parts(self._status_state(), self.theme_variables)
            )

    def tick(self) -> None:
        """Redraw what depends on time: relative times and the status line."""
        if not self.table.is_attached:
            return  # the app is shutting down; nothing left to draw
        now = self._as_of()
        self._show_summary()
        self.table.repaint(now, self.theme_variables)
        self._show_detail(now)
        self.status_line.set_parts(
            status_parts(self._status_state(), self.theme_variables)
        )

    def _as_of(self) -> datetime:
        """The time rows are drawn at: now, or when stale, when data was read.

        While the API fails, "waiting 3m" would keep growing for a job that
        may long have started; freezing the rows at their data's time keeps
        them true, and the status line says how old that is.
        """
        if self.last_error is not None and self._data_time is not None:
            return self._data_time
        return self._wall_clock()

    def _show_detail(self, now: datetime | None = None) -> None:
        """Show the highlighted request in the detail pane."""
        request_id = self.table.current_id
        request = self.table.request(request_id) if request_id else None
        note = None
        if self._pinned is not None:
            if request_id == self._pin_anchor:
                request = self._pinned
                note = "not on this page"
            else:
                self.policy.unpin(self._pinned.id)
                self._pinned = None
        empty = "No request selected."
        if self.shown_view is not None and self.total == 0:
            ref = self.shown_view.reference_id
            empty = (
                f"No requests with reference_id “{visible(ref, limit=80)}”.\n"
                "Press Esc to clear the filter."
                if ref
                else "No requests yet."
            )
        now = now or self._as_of()
        self.detail.show(
            request, now, self.theme_variables, empty_message=empty, note=note
        )

    def _status_state(self) -> StatusState:
        """A snapshot of what the status line reports."""
        policy = self.policy
        return StatusState(
            view=policy.view,
            shown_view=self.shown_view,
            total=self.total,
            rows=len(self.table.order),
            in_flight=policy.in_flight_count,
            now=policy.clock(),
            last_success=self.last_success,
            last_error=self.last_error,
            pause_reason=policy.pause_reason,
            resume_at=policy.resume_at,
            key_source=self.client.key_source,
        )

    # -- the batch -----------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Any key or click acknowledges what changed: the marks go."""
        if isinstance(event, events.Key | events.MouseDown) and self.batch.log.pending:
            self.batch.log.acknowledge(self._wall_clock())
            self._summary_at = None
            self.call_later(self.tick)
        await super().on_event(event)

    def _announce(self, changes: list[Change]) -> None:
        """A toast per finished request (grouped when many), and the bell."""
        toasts = group_toasts(changes, limit=TOAST_LIMIT)
        for toast in toasts:
            self.notify(toast.text, severity=toast.severity, timeout=10)
        if self.options.bell and any(toast.failures for toast in toasts):
            self.bell()
        if changes:
            self._summary_at = None

    def _show_summary(self) -> None:
        """Redraw the summary bar; recount only when data changed, or every
        few seconds for the ETA, since a large batch takes a while to count."""
        now = self.policy.clock()
        if self._summary_at is not None and now - self._summary_at < SUMMARY_SECONDS:
            return
        self._summary_at = now
        wall = self._as_of()
        summary = self.batch.summary(wall)
        self.table.set_marks(self.batch.log.changed_ids, summary.stuck)
        line = summary_text(
            summary,
            self.batch.scope(),
            self.theme_variables,
            loading=self.batch.loading,
        )
        self.summary_bar.show(line, self.batch.log.line(wall))

    def _load_batch(self) -> None:
        """Read a filtered batch whole, once, so its summary covers every page."""
        watch = self.batch
        if not watch.whole_batch or watch.loading:
            return
        watch.loading = "loading the batch…"
        self.run_worker(
            self._read_batch(watch),
            name="load batch",
            group="batch",
            description="Read every page of the filtered batch once",
            exclusive=True,
            exit_on_error=False,
        )

    async def _read_batch(self, watch: BatchWatch) -> None:
        """The worker of :meth:`_load_batch`."""
        assert watch.reference_id is not None

        def progress(done: int, total: int) -> None:
            watch.loading = f"loading the batch: {done:,} of {total:,}"
            self._summary_at = None

        try:
            batch = await load_batch(
                self.client, watch.reference_id, on_progress=progress
            )
        except ApiError as error:
            watch.loading = f"could not read the whole batch: {short_label(error)}"
            return
        if watch is not self.batch:
            return  # the filter changed while the batch was read
        self._announce(watch.loaded(batch.requests, batch.total, self._wall_clock()))
        if batch.truncated:
            watch.loading = f"counts cover the newest {len(batch.requests):,}"
        self._summary_at = None
        self.tick()

    def _reload_batch_if_needed(self) -> None:
        """Re-read the batch when requests off the visible page are in flight."""
        if self.policy.pause_reason is None and self.batch.needs_reload(
            self.table.order
        ):
            self._load_batch()

    def action_failures(self) -> None:
        """Show failures grouped by error message (key ``f``)."""
        labels = {
            r.id: f"{visible(r.reference_id or '—', limit=30)}  {visible(r.id)}"
            for r in self.batch.tracker
        }
        groups = self.batch.tracker.failure_groups()
        from chamelaion_tui.tui.screens import FailuresScreen

        self.push_screen(FailuresScreen(groups, labels), callback=self._go_to)

    def action_download(self) -> None:
        """Download the highlighted output (key ``d``)."""
        request = self._highlighted()
        if request is None or not request.output_url:
            self.notify("This request has no output to download.", severity="warning")
            return
        from chamelaion_tui.tui.outputs import download_one

        self._transfer(
            download_one(request, self._folder(), self.transfers, self._tell)
        )

    def action_download_batch(self) -> None:
        """Download every completed output of the filtered batch (key ``D``)."""
        if not self.batch.whole_batch:
            self.notify(
                "Filter to one batch first (/), then D saves all its outputs.",
                severity="warning",
            )
            return
        if not self.batch.loaded_whole:
            self.notify("The batch is still loading; try again in a moment.")
            return
        requests = list(self.batch.tracker)
        from chamelaion_tui.tui.outputs import download_batch

        self._transfer(
            download_batch(requests, self._folder(), self.transfers, self._tell)
        )

    def action_export(self) -> None:
        """Export the view, every page, to CSV or JSON (key ``e``)."""
        reference = self.policy.view.reference_id
        what = f"batch {visible(reference, limit=40)}" if reference else "all requests"
        stamp = self._wall_clock().strftime("%Y%m%d-%H%M%S")
        from chamelaion_tui.api.download import safe_name
        from chamelaion_tui.tui.screens import ExportScreen

        stem = f"{safe_name(reference or '', fallback='requests')}-{stamp}"
        self.push_screen(ExportScreen(what, stem), callback=self._export)

    def _export(self, choice: tuple[str, str] | None) -> None:
        """Run the export the person asked for."""
        if choice is None:
            return
        from chamelaion_tui.api.export import FORMATS
        from chamelaion_tui.tui.outputs import export

        fmt, name = choice
        if fmt not in FORMATS:
            return
        path = self._folder() / Path(name).expanduser()
        self._transfer(
            export(
                self.client,
                path,
                reference_id=self.policy.view.reference_id,
                fmt=fmt,
                bar=self.transfers,
                notify=self._tell,
            )
        )

    def _folder(self) -> Path:
        """Where downloads and exports go."""
        return self.options.download_dir or Path.cwd()

    def _transfer(self, job: Coroutine[None, None, None]) -> None:
        """Run one download or export; one at a time."""
        if any(w.group == "transfer" and w.is_running for w in self.workers):
            self.notify("A download or export is already running.", severity="warning")
            job.close()
            return
        self.run_worker(
            job,
            name="transfer",
            group="transfer",
            description="Download outputs or export requests",
            exit_on_error=False,
        )

    def _tell(self, body: str, title: str, severity: Severity) -> None:
        """Notify, in the shape the transfer jobs use."""
        self.notify(body, title=title, severity=severity, timeout=10)

    # -- actions -------------------------------------------------------------

    def on_data_table_row_highlighted(self) -> None:
        """The detail pane follows the cursor; remember it for this view."""
        request_id = self.table.current_id
        if request_id is not None and self.shown_view is not None:
            self._remember_cursor(self.shown_view, request_id)
        self._show_detail()

    def action_focus_filter(self) -> None:
        """Move focus to the filter box (key ``/``)."""
        focused = self.screen.focused
        if isinstance(focused, Input) or self.screen is not self.screen_stack[0]:
            # In any text box (the filter, a dialog's, the command palette's)
            # "/" is just a character: a reference_id or a path may hold one.
            # Post it behind the keys already queued, to keep their order.
            if focused is not None:
                focused.post_message(events.Key("slash", "/"))
            return
        box = self.query_one("#filter", Input)
        # Focus at once, not on the next idle as ``focus()`` does, so that keys
        # typed right after "/" land in the box, not the table.
        self.screen.set_focus(box)

    def _line_keys(self) -> list[tuple[str, str, str]]:
        """The keys the key line shows now: the filter box's, or the main ones."""
        focused = self.screen.focused if self.screen_stack else None
        if focused is not None and focused.id == "filter":
            return list(FILTER_BOX_KEYS)
        paused = self.policy.pause_reason is PauseReason.USER
        return [
            (shown, action, "Resume" if action == "toggle_pause" and paused else label)
            for _, shown, action, label, _, show in KEYS
            if show
        ]

    def on_descendant_focus(self, _event: events.DescendantFocus) -> None:
        """Keys typed in the filter box are text: the line says what still works."""
        self.query_one(KeyBar).show_keys(self._line_keys())

    def on_descendant_blur(self, _event: events.DescendantBlur) -> None:
        """Back from the filter box, the key line shows the main keys again."""
        self.query_one(KeyBar).show_keys(self._line_keys())

    async def action_submit_filter(self) -> None:
        """Apply what the filter box holds (Enter there, or a click on the line)."""
        await self.query_one("#filter", Input).action_submit()

    @on(Input.Submitted, "#filter")
    def apply_filter(self, event: Input.Submitted) -> None:
        """Apply the filter on the server and go back to the table."""
        reference = event.value.strip() or None
        self.screen.set_focus(self.table)
        view = View(reference, 0, self.options.page_size)
        if view != self.policy.view:
            self._change_view(view)

    def action_clear_filter(self) -> None:
        """Clear the filter (key Esc) and return to the table."""
        self.query_one("#filter", Input).value = ""
        self.screen.set_focus(self.table)
        if self.policy.view.reference_id is not None:
            self._change_view(View(None, 0, self.options.page_size))

    def action_next_page(self) -> None:
        """Go to the next page, if there is one (key ``n``)."""
        view = self.policy.view
        if self.total is not None and view.offset + view.limit < self.total:
            self._change_view(replace(view, offset=view.offset + view.limit))
        else:
            self.bell()

    def action_previous_page(self) -> None:
        """Go to the previous page, if there is one (key ``p``)."""
        view = self.policy.view
        if view.offset > 0:
            self._change_view(replace(view, offset=max(view.offset - view.limit, 0)))
        else:
            self.bell()

    def action_refresh(self) -> None:
        """Read the page now, and retry at once after an error (key ``r``).

        After the API refused the key, a key that can be renewed (one from a
        ``key_command``) is fetched afresh first, so that a key fixed in a
        password manager is picked up without a restart.
        """
        if self.policy.pause_reason is PauseReason.AUTH and self.options.renew_key:
            self.run_worker(
                self._renew_key_and_refresh(self.options.renew_key),
                name="renew key",
                group="key",
                exclusive=True,
                exit_on_error=False,
            )
            return
        self.policy.refresh_now()
        self.refresher.wake()

    async def _renew_key_and_refresh(self, renew: Callable[[], str]) -> None:
        """Fetch the key again off the event loop, then retry with it."""
        try:
            key = await asyncio.to_thread(renew)
        except ValueError as error:
            self.notify(
                visible(str(error), limit=300),
                title="The key could not be renewed",
                severity="error",
                timeout=15,
            )
            return
        self.client.use_key(key)
        self.policy.refresh_now()
        self.refresher.wake()

    def action_toggle_pause(self) -> None:
        """Pause or resume auto-refresh (key space)."""
        paused = self.policy.pause_reason is not PauseReason.USER
        self.policy.set_user_paused(paused)
        self.refresher.wake()
        self.notify("Auto-refresh paused." if paused else "Auto-refresh resumed.")
        self.query_one(KeyBar).show_keys(self._line_keys())
        self.tick()

    def action_help(self) -> None:
        """Show every key (key ``?``)."""
        keys = [(shown, text) for _k, shown, _a, _l, text, _s in KEYS]
        from chamelaion_tui.tui.screens import HelpScreen

        self.push_screen(HelpScreen([*TABLE_KEYS, *keys]))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The command palette offers every dashboard action by name."""
        yield from super().get_system_commands(screen)
        for _key, shown, action, _label, text, _show in KEYS:
            if action != "quit":
                yield SystemCommand(
                    text, f"key: {shown}", partial(self.run_action, action)
                )

    def action_go_to(self) -> None:
        """Ask for an id or reference_id and show that request (key ``g``)."""
        from chamelaion_tui.tui.screens import GoToScreen

        self.push_screen(GoToScreen(), callback=self._go_to)

    def _go_to(self, wanted: str | None) -> None:
        """Move to ``wanted`` if it is on the page, else fetch it by id."""
        if not wanted:
            return
        on_page = [i for i in self.table.order if i == wanted or i.startswith(wanted)]
        if len(on_page) == 1 or wanted in on_page:
            # An id on this page, or the short id the table shows for one.
            target = wanted if wanted in on_page else on_page[0]
            self.table.move_cursor(row=self.table.order.index(target))
            return
        self.run_worker(
            self._fetch_one(wanted),
            name="go to",
            group="go-to",
            description="Fetch one request by id or reference_id",
            exclusive=True,
            exit_on_error=False,
        )

    async def _fetch_one(self, wanted: str) -> None:
        """Fetch one request and show it in the detail pane, following it."""
        try:
            request = await self.client.get_request(wanted)
        except NotFound:
            hint = (
                " A short id, as the table shows, finds rows on this page only;"
                " elsewhere give the whole id (c on a row copies it)."
                if LipsyncRequest.looks_short(wanted)
                else ""
            )
            self.notify(
                f"No request has the id or reference_id “{visible(wanted, limit=80)}”."
                + hint,
                title="Not found",
                severity="warning",
            )
            return
        except ApiError as error:
            title, body = describe(error)
            self.notify(body, title=title, severity="error")
            return
        if self.table.request(request.id) is not None:
            self.table.move_cursor(row=self.table.order.index(request.id))
            return
        self._pinned = request
        self._pin_anchor = self.table.current_id
        if request.in_flight:
            self.policy.pin(request.id)
            self.refresher.wake()
        self.notify("Shown in the detail pane; it is not on this page.")
        self._show_detail()

    def _highlighted(self) -> LipsyncRequest | None:
        """The request the detail pane shows."""
        if self._pinned is not None and self.table.current_id == self._pin_anchor:
            return self._pinned
        request_id = self.table.current_id
        return self.table.request(request_id) if request_id else None

    def action_open_output(self) -> None:
        """Open the highlighted output video in the browser (key ``o``)."""
        request = self._highlighted()
        url = request.output_url if request else None
        if not url:
            why = "it failed" if request and request.status == "failed" else "yet"
            self.notify(f"This request has no output ({why}).", severity="warning")
            return
        if not is_web_url(url):
            self.notify(
                f"Not opening {visible(url, limit=80)}: only http(s) URLs are opened.",
                severity="error",
            )
            return
        self.open_url(url)
        self.notify(f"Opening {visible(url, limit=120)}")

    def action_copy(self) -> None:
        """Copy the output URL, or the id, to the clipboard (key ``c``)."""
        request = self._highlighted()
        if request is None:
            return
        what, value = (
            ("output URL", request.output_url)
            if request.output_url
            else ("id", request.id)
        )
        self.copy_to_clipboard(visible(value))
        hint = ""
        if not self._osc52_explained:
            self._osc52_explained = True
            hint = (
                "\nSent with OSC 52, which works over SSH; some terminals ignore "
                "it, and tmux needs `set -g set-clipboard on`."
            )
        self.notify(f"Copied the {what}.{hint}", title="Clipboard")

    def _change_view(self, view: View) -> None:
        """Switch page or filter: remember the cursor, dim the old rows, fetch."""
        current = self.table.current_id
        if current is not None and self.shown_view is not None:
            self._remember_cursor(self.shown_view, current)
        if view.reference_id != self.policy.view.reference_id:
            self.batch = BatchWatch(
                view.reference_id, self._wall_clock(), self.options.stuck_after
            )
            self._summary_at = None
            self.policy.set_view(view)
            self._load_batch()
        else:
            self.policy.set_view(view)
        self.table.add_class("-loading")
        self.refresher.wake()
        self.tick()

    def _remember_cursor(self, view: View, request_id: str) -> None:
        """Remember where the cursor was on ``view``, within a fixed bound."""
        self._cursor_by_view.pop(view, None)
        self._cursor_by_view[view] = request_id
        while len(self._cursor_by_view) > REMEMBERED_VIEWS:
            self._cursor_by_view.pop(next(iter(self._cursor_by_view)))


def is_web_url(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL, the only kind ever opened."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)
