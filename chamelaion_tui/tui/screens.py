"""Modal screens: the key help, and the "go to a request" prompt."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class HelpScreen(ModalScreen[None]):
    """Every key the dashboard answers to, with what it does."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def __init__(self, keys: Iterable[tuple[str, str]]) -> None:
        super().__init__()
        self._keys = list(keys)

    def compose(self) -> ComposeResult:
        """A titled two-column table of keys."""
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for key, description in self._keys:
            table.add_row(Text(key), Text(description))
        with Vertical(id="help-box"):
            yield Label("Keys", id="help-title")
            yield Static(table, id="help-keys")
            yield Label("Esc closes this. Ctrl+P offers the same actions by name.")


class GoToScreen(ModalScreen[str | None]):
    """Asks for a request id or a reference_id; returns it, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
    ]

    def compose(self) -> ComposeResult:
        """A prompt with one input."""
        with Vertical(id="goto-box"):
            yield Label("Go to a request by id or reference_id")
            yield Input(placeholder="id or reference_id, then Enter", id="goto")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Return what was typed, or nothing if it was blank."""
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        """Close without going anywhere."""
        self.dismiss(None)
