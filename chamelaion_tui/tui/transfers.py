"""A progress line for long jobs the person started: downloads and exports."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from chamelaion_tui.tui.summary import progress_bar


class TransferBar(Static):
    """Shows one transfer's label and progress; hidden when none runs.

    Drawn as text rather than with Textual's ProgressBar, whose animation
    timer keeps running (and costing) even while the bar is hidden.
    """

    def __init__(self) -> None:
        super().__init__(id="transfers")
        self._label = ""

    def on_mount(self) -> None:
        """Nothing runs at first."""
        self.display = False

    def start(self, label: str, total: float | None) -> None:
        """Show a transfer beginning."""
        self.display = True
        self._label = label
        self.advance(0, total)

    def advance(
        self, done: float, total: float | None, label: str | None = None
    ) -> None:
        """Show progress: ``done`` of ``total`` (None while unknown)."""
        if label is not None:
            self._label = label
        text = Text(self._label)
        if total:
            fraction = done / total
            text.append(f"  {progress_bar(fraction, 30)} {fraction:.0%}")
        self.update(text, layout=False)

    def finish(self) -> None:
        """Hide the bar."""
        self.display = False
