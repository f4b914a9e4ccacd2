"""A progress line for long jobs the person started: downloads and exports."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar


class TransferBar(Horizontal):
    """Shows one transfer's label and progress; hidden when none runs."""

    def compose(self) -> ComposeResult:
        """A label beside a bar."""
        yield Label(id="transfer-label")
        yield ProgressBar(show_eta=False, id="transfer-progress")

    def on_mount(self) -> None:
        """Nothing runs at first."""
        self.display = False

    def start(self, label: str, total: float | None) -> None:
        """Show a transfer beginning."""
        self.display = True
        self.query_one(Label).update(Text(label))
        self.query_one(ProgressBar).update(total=total, progress=0)

    def advance(
        self, done: float, total: float | None, label: str | None = None
    ) -> None:
        """Show progress: ``done`` of ``total`` (None while unknown)."""
        if label is not None:
            self.query_one(Label).update(Text(label))
        self.query_one(ProgressBar).update(total=total, progress=done)

    def finish(self) -> None:
        """Hide the bar."""
        self.display = False
