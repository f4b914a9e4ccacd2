"""The headless commands: ``list``, ``get``, ``watch`` and ``config``.

They share the dashboard's client and refresh engine, print through a
:class:`~chamelaion_tui.commands.runtime.Console` that knows whether it talks
to a terminal or a pipe, and return the process exit status. None imports
Textual.
"""

from chamelaion_tui.commands.runtime import Console, Runtime

__all__ = ["Console", "Runtime"]
