"""The table of requests, updated in place and keyed by request id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowDoesNotExist

from chamelaion_tui.api import LipsyncRequest
from chamelaion_tui.tui.render import COARSE_AFTER, COARSE_STEP, COLUMNS, RowCells

CACHE_SIZES = {
    "_cell_render_cache": 600,
    "_row_render_cache": 120,
    "_row_renderable_cache": 120,
    "_line_cache": 120,
}
"""Render cache sizes: the rows one tall screen shows (up to about 60), each of
6 cells, in the two looks a cell has (plain, and under the cursor)."""


class RequestsTable(DataTable[object]):
    """One page of requests; rows are keyed by id and change cell by cell.

    :meth:`show` takes the page as the API returned it and makes the table
    match with as little change as possible: when the same ids arrive in the
    same order only cells whose text changed are touched; otherwise the rows
    are rebuilt in one batch, and in both cases the cursor stays on the request
    it was on (or, if that request left, on its nearest neighbour).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._requests: dict[str, LipsyncRequest] = {}
        self._cells: dict[str, RowCells] = {}
        self._outcome_width = COLUMNS[-1][2]
        self._changed: frozenset[str] = frozenset()
        self._stuck: frozenset[str] = frozenset()
        self._size_caches()

    def _size_caches(self) -> None:
        """Size DataTable's render caches to one screen of one page.

        Any cell update makes every cached render stale (the keys hold an
        update count), and the stock sizes (10,000 cells, 1,000 rows) then
        fill with dead entries: over 10 MB after a few thousand refreshes.
        A page of at most 100 rows, of which a screen shows fewer, needs far
        less. These are private attributes of Textual's DataTable; if a
        release renames them this does nothing and only memory grows.
        """
        for name, size in CACHE_SIZES.items():
            cache = getattr(self, name, None)
            if isinstance(cache, LRUCache):
                cache.maxsize = size

    def on_mount(self) -> None:
        """Create the fixed-width columns, so nothing shifts as data changes.

        Labels are given as text, which Textual would otherwise parse as markup.
        """
        for key, label, width in COLUMNS:
            self.add_column(Text(label), key=key, width=width)

    def on_resize(self) -> None:
        """Give the last column whatever width the fixed columns leave."""
        *fixed, (last_key, _, minimum) = COLUMNS
        padding = 2 * self.cell_padding * len(COLUMNS)
        used = sum(width for _, _, width in fixed) + padding
        width = max(self.scrollable_content_region.width - used - 1, minimum)
        column = self.columns.get(ColumnKey(last_key))
        if column is not None and column.width != width:
            column.width = width
            self._outcome_width = width
            # DataTable has no public call to re-measure after a width change;
            # this flag is what its own width updates set.
            self._require_update_dimensions = True
            self.refresh(layout=True)

    def set_marks(self, changed: frozenset[str], stuck: frozenset[str]) -> None:
        """Which rows to mark as changed and as stuck from the next paint on."""
        self._changed, self._stuck = changed, stuck

    def _cells_of(
        self, request: LipsyncRequest, now: datetime, theme: Mapping[str, str]
    ) -> RowCells:
        """One row's cells, with its marks."""
        return RowCells.of(
            request,
            now,
            theme,
            self._outcome_width,
            changed=request.id in self._changed,
            stuck=request.id in self._stuck,
        )

    def time_beat(self, now: datetime) -> int:
        """A number that changes whenever a row's text may change with time.

        Per second while a row is in flight or young enough to show seconds
        or fine minutes; else per :data:`COARSE_STEP` seconds.
        """
        second = int(now.timestamp())
        young = now - COARSE_AFTER - timedelta(minutes=1)
        for request in self._requests.values():
            created = request.created_at
            if request.in_flight or created is None or created > young:
                return second
        return second // COARSE_STEP

    @property
    def order(self) -> list[str]:
        """Request ids in the order they are shown."""
        return list(self._requests)

    @property
    def current_id(self) -> str | None:
        """The id of the request under the cursor, if any."""
        if not self._requests or not self.is_valid_row_index(self.cursor_row):
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return key.value

    def request(self, request_id: str) -> LipsyncRequest | None:
        """The request shown with this id, if it is on the table."""
        return self._requests.get(request_id)

    def show(
        self,
        requests: Sequence[LipsyncRequest],
        now: datetime,
        theme: Mapping[str, str],
        *,
        keep: str | None = None,
    ) -> None:
        """Make the table show ``requests``, in order, as of ``now``.

        Args:
            keep: The id the cursor should rest on; defaults to the current.
        """
        target = keep or self.current_id
        old_order = self.order
        old_index = self.cursor_row
        new = {request.id: request for request in requests}
        if list(new) == old_order:
            self._requests = new
            self.repaint(now, theme)
            return
        with self.app.batch_update():
            scroll_y = self.scroll_y
            self.clear()
            self._requests = new
            self._cells = {}
            for request_id, request in new.items():
                cells = self._cells_of(request, now, theme)
                self._cells[request_id] = cells
                self.add_row(*cells.as_tuple(), key=request_id)
            index = self._cursor_index_for(target, old_order, old_index)
            self.move_cursor(row=index, animate=False, scroll=False)
            self.scroll_y = scroll_y
            self.call_after_refresh(self._restore_scroll, scroll_y)

    def repaint(self, now: datetime, theme: Mapping[str, str]) -> int:
        """Re-render every row as of ``now``; touch only cells that changed.

        Returns how many cells were updated (the clock tick uses this too).
        """
        changed = 0
        for request_id, request in self._requests.items():
            cells = self._cells_of(request, now, theme)
            before = self._cells.get(request_id)
            self._cells[request_id] = cells
            for (key, _, _), old, fresh in zip(
                COLUMNS,
                before.as_tuple() if before else (None,) * len(COLUMNS),
                cells.as_tuple(),
                strict=True,
            ):
                if old is None or not _same(old, fresh):
                    try:
                        self.update_cell(request_id, key, fresh)
                    except RowDoesNotExist:
                        continue
                    changed += 1
        return changed

    def _cursor_index_for(
        self, target: str | None, old_order: list[str], old_index: int
    ) -> int:
        """Where the cursor goes: its request, else the nearest survivor."""
        order = self.order
        if not order:
            return 0
        if target in self._requests:
            return order.index(target)
        if target in old_order:
            position = old_order.index(target)
            neighbours = old_order[position + 1 :] + old_order[:position][::-1]
            for candidate in neighbours:
                if candidate in self._requests:
                    return order.index(candidate)
        return min(old_index, len(order) - 1)

    def _restore_scroll(self, scroll_y: float) -> None:
        """Put the scroll position back once the rebuilt rows are laid out."""
        self.scroll_to(y=scroll_y, animate=False)
        self.move_cursor(row=self.cursor_row, animate=False, scroll=True)


def _same(old: Text, new: Text) -> bool:
    """Whether two cells would look the same (text, base style and spans)."""
    return old.plain == new.plain and old.style == new.style and old.spans == new.spans
