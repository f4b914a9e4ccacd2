"""Modal screens: key help, "go to a request", failure groups, and export."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioButton, RadioSet, Static, Tree

from chamelaion_tui.api import visible


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


class FailuresScreen(ModalScreen[str | None]):
    """Failures grouped by error message; choosing one returns its id.

    Args:
        groups: Error message to the ids that failed with it, largest first.
        labels: A short label per id (reference and short id), for the leaves.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f", "cancel", "Close"),
    ]

    def __init__(
        self, groups: Mapping[str, Sequence[str]], labels: Mapping[str, str]
    ) -> None:
        super().__init__()
        self._groups = groups
        self._labels = labels

    def compose(self) -> ComposeResult:
        """A title and a tree of messages with their requests."""
        count = sum(len(ids) for ids in self._groups.values())
        tree: Tree[str] = Tree(Text(f"{count} failed"), id="failures-tree")
        tree.show_root = False
        for message, ids in self._groups.items():
            group = tree.root.add(
                Text(f"{len(ids)} × {visible(message, limit=200)}"), expand=True
            )
            for request_id in ids:
                label = self._labels.get(request_id, visible(request_id, limit=60))
                group.add_leaf(Text(label), data=request_id)
        with Vertical(id="failures-box"):
            yield Label("Failures by error message · Enter jumps to the request")
            if self._groups:
                yield tree
            else:
                yield Label("Nothing has failed in this view.")

    def on_mount(self) -> None:
        """Start on the first request, so Enter jumps at once."""
        for tree in self.query(Tree):
            tree.focus()
            tree.cursor_line = 1

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        """A request was chosen: close and return its id."""
        if event.node.data is not None:
            self.dismiss(event.node.data)

    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(None)


class ExportScreen(ModalScreen[tuple[str, str] | None]):
    """Asks for a format and a file name; returns them, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, what: str, default_stem: str) -> None:
        super().__init__()
        self._what = what
        self._stem = default_stem

    def compose(self) -> ComposeResult:
        """Format choice, file name, and a hint."""
        with Vertical(id="export-box"):
            yield Label(Text(f"Export {self._what} (every page)"))
            with RadioSet(id="export-format"):
                yield RadioButton("CSV (spreadsheets)", value=True, name="csv")
                yield RadioButton("JSON (one array, for jq)", name="json")
                yield RadioButton("JSON lines (one object per line)", name="jsonl")
            yield Input(
                value=f"{self._stem}.csv", id="export-path", select_on_focus=False
            )
            yield Label("Enter exports; an existing file is never overwritten.")

    def on_mount(self) -> None:
        """Start in the file name, so Enter exports at once; Tab reaches the
        formats."""
        self.query_one("#export-path", Input).focus()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        """Keep the file's extension in step with the chosen format."""
        box = self.query_one("#export-path", Input)
        stem, dot, _ = box.value.rpartition(".")
        box.value = f"{stem if dot else box.value}.{event.pressed.name}"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Return the format and the path."""
        pressed = self.query_one(RadioSet).pressed_button
        fmt = pressed.name if pressed is not None and pressed.name else "csv"
        path = event.value.strip()
        self.dismiss((fmt, path) if path else None)

    def action_cancel(self) -> None:
        """Close without exporting."""
        self.dismiss(None)
