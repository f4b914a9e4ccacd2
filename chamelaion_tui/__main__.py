"""Allows ``python -m chamelaion_tui``, the same as the console script."""

from chamelaion_tui.cli import main

raise SystemExit(main())
