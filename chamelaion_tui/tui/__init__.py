"""The Textual dashboard; the only layer that imports Textual."""

from chamelaion_tui.tui.app import ChamelaionApp, DashboardOptions

__all__ = ["ChamelaionApp", "DashboardOptions"]
