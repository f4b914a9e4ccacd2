"""The child process of the startup benchmark (section C).

Run as ``python -m benchmarks.startup_child KIND``. It starts one Textual
app headless and, once the first data row is on screen (the table holds it
and the screen has been refreshed since), writes :data:`MARKER` straight to
file descriptor 1 and exits. The parent times from just before spawning this
process to reading the marker. The kinds:

* ``ours``: the dashboard as its command starts it: the command line's own
  ``main`` with no arguments, reading the API's address and key from
  ``$CHAMELAION_BASE_URL`` and ``$CHAMELAION_API_KEY`` (the parent points them
  at a simulator on loopback) and its config file from ``$CHAMELAION_CONFIG``.
  Two handlers of the app class are wrapped, as its module is imported, so
  that the app announces its first page; what they wrap runs unchanged. Standard input
  is a pseudo-terminal, as the command requires (it reads keys from it).
* ``ours-frame``: the same, announcing its first painted frame instead (the
  whole layout, with the first page if it has arrived by then).
* ``bare``: a Textual app with the same widgets as the dashboard, from
  Textual's stock: header, filter box, summary line, the table (same columns)
  beside a scrollable detail pane, a hidden transfer line, the status line and
  the key line. They are laid out by the dashboard's own stylesheet, so every
  region has the same size. It shows one static row, imports nothing of the
  product and makes no request: what Textual alone costs for this screen.
  The columns, stylesheet and key line come from the parent in environment
  variables.
* ``bare-minimal``: a smaller Textual app (header, filter box, table, one
  line, footer), the baseline of earlier versions of this benchmark; printed
  for comparison.

Each kind imports what it uses and no more: the bare apps, in
:mod:`benchmarks.startup_bare`, import Textual; ours imports the command line,
which imports the rest as a person's start would.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App

MARKER = b"FIRST-ROW-ON-SCREEN\n"
"""What the child writes when the first data row has been painted."""

COLUMNS_VARIABLE = "BENCH_COLUMNS"
"""Environment variable holding the table's columns (JSON: key, label, width)."""

STYLESHEET_VARIABLE = "BENCH_STYLESHEET"
"""Environment variable holding the path of the dashboard's stylesheet."""

KEY_LINE_VARIABLE = "BENCH_KEY_LINE"
"""Environment variable holding the text of the dashboard's key line."""

SIZE = (160, 45)
"""The headless terminal size."""

STDOUT_FD = 1
"""Written to directly: Textual captures ``sys.stdout`` while it runs."""

_written: list[bytes] = []
"""The marker once it has been written, so that it is written once."""


def announce_and_exit(app: App[None]) -> None:
    """Tell the parent the first row is on screen (once), then leave."""
    if not _written:
        _written.append(MARKER)
        os.write(STDOUT_FD, MARKER)
    app.exit()


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs a callback on one module as soon as it has been imported.

    So the dashboard can be instrumented without importing it any earlier
    than its command line does (which would also move that import out of the
    command's garbage-collection pause).
    """

    def __init__(self, name: str, then: Callable[[ModuleType], None]) -> None:
        self._name = name
        self._then = then

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        """Find ``name`` as usual, and wrap its loader to call back afterwards."""
        if fullname != self._name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        loader = spec.loader if spec is not None else None
        if spec is None or not isinstance(loader, importlib.abc.Loader):
            return spec
        own_exec = loader.exec_module
        then = self._then

        def exec_module(module: ModuleType) -> None:
            own_exec(module)
            then(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _instrument_dashboard(first_frame: bool) -> None:
    """Make the dashboard announce its first page (or first frame) when shown.

    Once its module is imported, the app class's ``on_mount`` and
    ``on_refreshed`` are replaced by wrappers that call the originals first,
    unchanged, and then ask to be called back after the next repaint. Its
    ``run`` runs headless at :data:`SIZE`, as the bare apps do.
    """

    def instrument(module: ModuleType) -> None:
        from chamelaion_tui.refresh import PageLoaded
        from chamelaion_tui.tui.app import ChamelaionApp, Refreshed

        assert module.ChamelaionApp is ChamelaionApp
        own_mount = ChamelaionApp.on_mount
        own_refreshed = ChamelaionApp.on_refreshed
        own_run = ChamelaionApp.run

        def announce_if_shown(app: ChamelaionApp) -> None:
            if app.table.order:
                announce_and_exit(app)

        def on_mount(self: ChamelaionApp) -> None:
            own_mount(self)
            if first_frame:
                self.call_after_refresh(announce_and_exit, self)

        def on_refreshed(self: ChamelaionApp, message: Refreshed) -> None:
            own_refreshed(self, message)
            if isinstance(message.event, PageLoaded) and not first_frame:
                self.call_after_refresh(announce_if_shown, self)

        def run(self: ChamelaionApp) -> None:
            own_run(self, headless=True, size=SIZE)

        ChamelaionApp.run = run  # type: ignore[method-assign, assignment]
        ChamelaionApp.on_mount = on_mount  # type: ignore[method-assign]
        ChamelaionApp.on_refreshed = on_refreshed  # type: ignore[method-assign]

    sys.meta_path.insert(0, _AfterImport("chamelaion_tui.tui.app", instrument))


def main(argv: Sequence[str]) -> int:
    """Run the app named by ``argv[0]`` until it has shown its first row."""
    kind = argv[0] if len(argv) == 1 else None
    if kind in ("bare", "bare-minimal"):
        from benchmarks.startup_bare import BareApp, MinimalBareApp

        app = BareApp() if kind == "bare" else MinimalBareApp()
        app.run(headless=True, size=SIZE)
        return 0
    if kind in ("ours", "ours-frame"):
        from chamelaion_tui.cli import main as command

        _instrument_dashboard(first_frame=kind == "ours-frame")
        _keyboard, terminal = os.openpty()
        os.dup2(terminal, 0)
        return command([])
    print(
        "usage: python -m benchmarks.startup_child ours|ours-frame|bare|bare-minimal",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
