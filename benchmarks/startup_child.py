"""The child process of the startup benchmark (section C).

Run as ``python -m benchmarks.startup_child ours`` or ``... bare``. It starts
one Textual app headless and, once the first data row is in the DataTable and
the screen has been refreshed, writes :data:`MARKER` straight to file
descriptor 1 and exits. The parent times from just before spawning this
process to reading the marker.

* ``ours``: the real :class:`ChamelaionApp`, on the API at
  ``$CHAMELAION_BASE_URL`` with ``$CHAMELAION_API_KEY`` (the parent points
  them at a simulator on loopback). It is subclassed only to notice the first
  page: Textual calls every class's handler of a message along the MRO, so
  this subclass's ``on_refreshed`` runs and then the app's own, unchanged.
* ``ours-frame``: the same, announcing its first painted frame (the whole
  layout, before the first page has arrived).
* ``bare``: a plain Textual app with the same widgets (Header, Input, a
  DataTable with the same columns, Static, Footer) and one static row of text.
  It imports nothing of the product, so it costs only Textual; the columns
  come from the parent in ``$BENCH_COLUMNS`` (JSON of key, label, width).

Only Textual is imported at module level, so both kinds pay the same for it.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header, Input, Static

MARKER = b"FIRST-ROW-ON-SCREEN\n"
"""What the child writes when the first data row has been painted."""

COLUMNS_VARIABLE = "BENCH_COLUMNS"
"""Environment variable holding the table's columns for the bare app."""

SIZE = (160, 45)
"""The headless terminal size."""

STDOUT_FD = 1
"""Written to directly: Textual captures ``sys.stdout`` while it runs."""


def announce_and_exit(app: App[None]) -> None:
    """Tell the parent the first row is on screen, then leave."""
    os.write(STDOUT_FD, MARKER)
    app.exit()


class BareApp(App[None]):
    """The same widgets as the dashboard with one static row, nothing else."""

    def __init__(self, columns: Sequence[tuple[str, str, int]]) -> None:
        super().__init__()
        self._columns = columns

    def compose(self) -> ComposeResult:
        """Header, filter box, table, status line, footer."""
        yield Header()
        yield Input(placeholder="Filter by reference_id")
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Static("1–1 of 1 │ ● live")
        yield Footer()

    def on_mount(self) -> None:
        """Add the columns and one row, then report once it is painted."""
        data = self.query_one(DataTable)
        for key, label, width in self._columns:
            data.add_column(label, key=key, width=width)
        data.add_row(*(f"static {label.lower()}" for _, label, _ in self._columns))
        self.call_after_refresh(announce_and_exit, self)


def _our_app(first_frame: bool = False) -> App[None]:
    """The real dashboard, wrapped to announce its first page of rows.

    With ``first_frame``, it announces its first painted frame instead (the
    whole layout, before any data has arrived).
    """
    from chamelaion_tui.api import ChamelaionClient
    from chamelaion_tui.refresh import PageLoaded
    from chamelaion_tui.tui import ChamelaionApp, DashboardOptions
    from chamelaion_tui.tui.app import Refreshed

    class FirstRowApp(ChamelaionApp):
        """The dashboard, announcing the first page once it is painted."""

        # Textual finds a relative CSS_PATH next to the module of the class
        # being run, which is this one; point it back at the dashboard's.
        CSS_PATH = str(
            Path(inspect.getfile(ChamelaionApp)).with_name(ChamelaionApp.CSS_PATH)
        )
        announced = False

        def on_mount(self) -> None:
            """Runs before the app's own; for the frame kind, the end."""
            if first_frame:
                self.call_after_refresh(announce_and_exit, self)

        def on_refreshed(self, message: Refreshed) -> None:
            """Runs before the app's own handler; checks after the repaint."""
            if isinstance(message.event, PageLoaded) and not self.announced:
                self.call_after_refresh(self._announce_if_shown)

        def _announce_if_shown(self) -> None:
            if self.table.order and not self.announced:
                self.announced = True
                announce_and_exit(self)

    client = ChamelaionClient(
        os.environ["CHAMELAION_BASE_URL"], os.environ["CHAMELAION_API_KEY"]
    )
    return FirstRowApp(client, DashboardOptions())


def main(argv: Sequence[str]) -> int:
    """Run the app named by ``argv[0]`` until it has shown its first row."""
    if list(argv) == ["bare"]:
        raw = json.loads(os.environ[COLUMNS_VARIABLE])
        app: App[None] = BareApp([(str(k), str(n), int(w)) for k, n, w in raw])
    elif list(argv) == ["ours"]:
        app = _our_app()
    elif list(argv) == ["ours-frame"]:
        app = _our_app(first_frame=True)
    else:
        print(
            "usage: python -m benchmarks.startup_child ours|ours-frame|bare",
            file=sys.stderr,
        )
        return 2
    app.run(headless=True, size=SIZE)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
