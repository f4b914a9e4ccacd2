"""The detail pane and the status line: small widgets that render text."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from chamelaion_tui.api import LipsyncRequest
from chamelaion_tui.tui.render import detail_text


class DetailPane(VerticalScroll):
    """Every field of the highlighted request, wrapped, scrollable."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Request"
        self._body = Static(Text("No request selected."), id="detail-body")
        self.shown_id: str | None = None
        """The id of the request on display, if any."""
        self._last: Text | None = None

    def compose(self) -> ComposeResult:
        """The pane holds one text block."""
        yield self._body

    def show(
        self,
        request: LipsyncRequest | None,
        now: datetime,
        theme: Mapping[str, str],
        *,
        empty_message: str = "No request selected.",
        note: str | None = None,
    ) -> None:
        """Show ``request`` as of ``now``; repaint only if the text changed.

        ``note`` goes in the border, e.g. to say the request is not on the page.
        """
        title = f"Request · {note}" if note else "Request"
        if self.border_title != title:
            self.border_title = title  # setting it, even unchanged, redraws
        if request is None:
            text = Text(empty_message, style="dim")
        else:
            text = detail_text(request, now, theme)
        if request is None or request.id != self.shown_id:
            self.scroll_home(animate=False)
        self.shown_id = request.id if request else None
        last = self._last
        if last is not None and (last.plain, last.spans) == (text.plain, text.spans):
            return
        self._last = text
        self._body.update(text)


class StatusLine(Static):
    """One line under the table: position, filter, freshness, connection."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._plain = ""

    def set_parts(self, parts: list[Text]) -> None:
        """Show ``parts`` separated by a thin bar; skip the repaint if unchanged."""
        line = Text(" │ ", style="dim").join(parts)
        if line.plain != self._plain:
            self._plain = line.plain
            # One line of fixed height: no layout pass needed, which would
            # otherwise redraw the whole screen every second.
            self.update(line, layout=False)
