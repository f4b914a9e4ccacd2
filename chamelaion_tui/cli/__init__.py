"""The command line: the dashboard, the headless commands and ``simulate``.

``main`` is the console script's entry point. The grammar and help pages are
in :mod:`~chamelaion_tui.cli.parser`, opening the dashboard and serving the
simulator in :mod:`~chamelaion_tui.cli.dashboard`, and the headless commands
themselves in :mod:`chamelaion_tui.commands`.
"""

from chamelaion_tui.cli.entry import main

__all__ = ["main"]
