"""The bare apps of the startup benchmark (section C): Textual and nothing else.

See :mod:`benchmarks.startup_child`, which runs them. They import no product
code; the table's columns, the dashboard's stylesheet and its key line come
from the parent in environment variables.
"""

from __future__ import annotations

import json
import os

from textual.app import App, ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, Static

from benchmarks.startup_child import (
    COLUMNS_VARIABLE,
    KEY_LINE_VARIABLE,
    STYLESHEET_VARIABLE,
    announce_and_exit,
)


def _columns() -> list[tuple[str, str, int]]:
    """The table's columns, as the parent passed them."""
    raw = json.loads(os.environ[COLUMNS_VARIABLE])
    return [(str(key), str(label), int(width)) for key, label, width in raw]


class BareApp(App[None]):
    """The dashboard's widgets and layout, one static row, no product code."""

    CSS_PATH = os.environ.get(STYLESHEET_VARIABLE)
    CSS = """
    #transfers { display: none; }
    #keys { dock: bottom; height: 1; }
    """

    def compose(self) -> ComposeResult:
        """The same regions, ids and widget kinds as the dashboard."""
        yield Header()
        yield Input(placeholder="Filter by reference_id", id="filter")
        yield Static("Recent requests · 1 request", id="summary")
        with Horizontal(id="main"):
            yield DataTable(id="requests", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="detail"):
                yield Static("static detail", id="detail-body")
        yield Static(id="transfers")
        yield Static("1–1 of 1 │ ● live", id="status")
        yield Static(os.environ.get(KEY_LINE_VARIABLE, ""), id="keys")

    def on_mount(self) -> None:
        """Add the columns and one row, then report once it is painted."""
        data = self.query_one(DataTable)
        data.focus()
        for key, label, width in _columns():
            data.add_column(label, key=key, width=width)
        data.add_row(*(f"static {label.lower()}" for _, label, _ in _columns()))
        self.call_after_refresh(announce_and_exit, self)


class MinimalBareApp(App[None]):
    """The earlier baseline: fewer widgets than the dashboard, one static row."""

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
        for key, label, width in _columns():
            data.add_column(label, key=key, width=width)
        data.add_row(*(f"static {label.lower()}" for _, label, _ in _columns()))
        self.call_after_refresh(announce_and_exit, self)
