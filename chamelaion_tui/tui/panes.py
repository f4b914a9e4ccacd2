"""Small widgets that render text: detail pane, status line, key bar."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widget import Widget
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


class KeyBar(Widget):
    """The keys along the bottom edge; clicking a key runs its action.

    One widget drawing one line. Textual's ``Footer`` mounts a widget per key
    and restyles each of them twice as it mounts, which made it the largest
    single cost of the dashboard's first frame. When the line does not fit,
    the command palette's key goes first, then the spacing tightens, then
    keys before the last (help) give way to an ellipsis.

    Args:
        keys: Per key: how it is shown, the app action it runs, its label.
    """

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    """

    PALETTE: ClassVar[tuple[str, str, str]] = ("^p", "command_palette", "Palette")
    """Textual's command palette key, drawn at the right-hand end."""

    def __init__(self, keys: Sequence[tuple[str, str, str]]) -> None:
        super().__init__()
        self._keys = list(keys)
        self._palette = _key_content(*self.PALETTE)
        self._build()

    def show_keys(self, keys: Sequence[tuple[str, str, str]]) -> None:
        """Show ``keys`` instead, such as those that work in a text box."""
        if list(keys) != self._keys:
            self._keys = list(keys)
            self._build()
            self.refresh()

    def _build(self) -> None:
        """Lay out the line's two spacings from the keys."""
        self._roomy = Content(" ").join(_key_content(*key) for key in self._keys)
        self._tight = [_key_content(*key, tight=True) for key in self._keys]

    def render(self) -> Content:
        """As much of the key line as the width allows."""
        width = self.size.width
        room = width - self._roomy.cell_length - self._palette.cell_length
        if room >= 1:
            return Content.assemble(self._roomy, " " * room, self._palette)
        if self._roomy.cell_length <= width:
            return self._roomy
        *others, last = self._tight
        for count in range(len(others), -1, -1):
            cut = [Content("…")] if count < len(others) else []
            line = Content.assemble(
                " ", Content("  ").join([*others[:count], *cut, last])
            )
            if line.cell_length <= width:
                return line
        return line.truncate(width, ellipsis=True)


def _key_content(shown: str, action: str, label: str, tight: bool = False) -> Content:
    """The key in bold and its label, the whole a link to ``app.action``."""
    key = shown if tight else f" {shown} "
    text = f" {label}" if tight else f"{label} "
    return Content.assemble((key, "bold $footer-key-foreground"), text).stylize(
        f"@click=app.{action}"
    )
