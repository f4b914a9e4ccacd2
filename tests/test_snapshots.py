"""Pictures of the main states at a fixed size, compared with stored SVGs.

Each snapshot runs on the in-memory fake API with a fixed wall clock, and the
filter box's cursor does not blink, so the picture is the same on every run.
Regenerate after an intended change with ``pytest --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from textual.pilot import Pilot
from textual.widgets import Input

from chamelaion_tui.tui import ChamelaionApp, DashboardOptions
from tests.conftest import SIZE, WALL, FakeClock, sample_items
from tests.fake_api import FakeApi, make_request

SnapCompare = Callable[..., bool]


def dashboard(api: FakeApi, **options: Any) -> ChamelaionApp:
    """A dashboard on ``api`` whose refresher the snapshot drives."""
    return ChamelaionApp(
        api.client(),
        DashboardOptions(**options),
        clock=FakeClock(),
        wall_clock=lambda: WALL,
        auto_refresh=False,
    )


def driven(*keys: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    """A ``run_before`` that loads the page, presses ``keys``, and reloads."""

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, ChamelaionApp)
        app.query_one(Input).cursor_blink = False
        await app.refresher.run_once()
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
            await app.refresher.run_once()
            await pilot.pause()

    return run_before


def test_snapshot_first_page(snap_compare: SnapCompare) -> None:
    """The first page with the detail pane of the first row."""
    app = dashboard(FakeApi(items=sample_items()))
    assert snap_compare(app, terminal_size=SIZE, run_before=driven())


def test_snapshot_filtered_batch(snap_compare: SnapCompare) -> None:
    """A batch filtered on the server, cursor moved down two rows."""
    app = dashboard(FakeApi(items=sample_items()))
    keys = ("slash", *"batch-a", "enter", "j", "j")
    assert snap_compare(app, terminal_size=SIZE, run_before=driven(*keys))


def test_snapshot_api_unreachable_keeps_data(snap_compare: SnapCompare) -> None:
    """After a failed refresh the old rows stay, dimmed, with the reason."""
    api = FakeApi(items=sample_items())

    async def run_before(pilot: Pilot[None]) -> None:
        await driven()(pilot)
        api.override = lambda _r: httpx.Response(502, text="<html>bad gateway</html>")
        await pilot.press("r")
        app = pilot.app
        assert isinstance(app, ChamelaionApp)
        await app.refresher.run_once()
        await pilot.pause()

    assert snap_compare(dashboard(api), terminal_size=SIZE, run_before=run_before)


def test_snapshot_hostile_strings_in_narrow_terminal(snap_compare: SnapCompare) -> None:
    """Markup, escapes and a huge message at 100 columns: literal and cut."""
    hostile = "[red]x[/] \x1b[31mred\x1b[0m \u202eevil" + "y" * 5000
    items = [
        make_request(3, "failed", hostile, error_message=hostile),
        make_request(2, "archived", "odd-status"),
        make_request(1, "processing", "宽字符-batch"),
    ]
    app = dashboard(FakeApi(items=items))
    assert snap_compare(app, terminal_size=(100, 30), run_before=driven())


def test_snapshot_80_columns_filtered(snap_compare: SnapCompare) -> None:
    """At 80 columns: the detail pane below the table, a batch filtered."""
    app = dashboard(FakeApi(items=sample_items()))
    keys = ("slash", *"batch-a", "enter", "j")
    assert snap_compare(app, terminal_size=(80, 34), run_before=driven(*keys))
