"""Pilot tests of the dashboard's interactions, on the in-memory fake API."""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from rich.text import Text

from chamelaion_tui.api import ChamelaionClient
from chamelaion_tui.refresh import PauseReason
from chamelaion_tui.tui import ChamelaionApp, DashboardOptions
from chamelaion_tui.tui.panes import StatusLine
from tests.conftest import SIZE, WALL, FakeClock, open_dashboard, refresh
from tests.fake_api import BASE_URL, KEY, FakeApi, make_request


def status_line(app: Any) -> str:
    """The plain text of the status line."""
    rendered = app.query_one(StatusLine).render()
    return rendered.plain if isinstance(rendered, Text) else str(rendered)


async def test_table_has_focus_and_first_page(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """At start the table has focus and shows the first page with its position."""
    async with open_dashboard(fake_api, clock) as (app, _pilot):
        assert app.focused is app.table
        assert len(app.table.order) == 20
        assert app.table.order[0] == fake_api.items[0]["id"]
        assert "1–20 of 45" in status_line(app)


async def test_cursor_keys_move_and_detail_follows(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """j, k and the arrows move the cursor; the detail pane shows that row."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        await pilot.press("j", "j", "down")
        assert app.table.cursor_row == 3
        assert app.detail.shown_id == fake_api.items[3]["id"]
        await pilot.press("k", "up")
        assert app.table.cursor_row == 1
        assert app.detail.shown_id == fake_api.items[1]["id"]


async def test_pages_forward_and_back(fake_api: FakeApi, clock: FakeClock) -> None:
    """n and p page through; the position and the request's offset follow."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        await pilot.press("n")
        await refresh(app, pilot)
        assert fake_api.list_calls()[-1].url.params["offset"] == "20"
        assert "21–40 of 45" in status_line(app)
        await pilot.press("n")
        await refresh(app, pilot)
        assert "41–45 of 45" in status_line(app)
        assert len(app.table.order) == 5
        calls = len(fake_api.list_calls())
        await pilot.press("n")
        assert app.policy.view.offset == 40, "there is no page after the last"
        await pilot.press("p", "p")
        await refresh(app, pilot)
        assert len(fake_api.list_calls()) == calls + 1
        assert "1–20 of 45" in status_line(app)


async def test_page_size_option(fake_api: FakeApi, clock: FakeClock) -> None:
    """The page size is the list call's limit and the table's length."""
    async with open_dashboard(fake_api, clock, page_size=7) as (app, _pilot):
        assert fake_api.list_calls()[-1].url.params["limit"] == "7"
        assert len(app.table.order) == 7
        assert "1–7 of 45" in status_line(app)


async def test_filter_applies_on_server_and_escape_clears(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """/ focuses the filter, Enter filters by reference_id, Esc clears it."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        await pilot.press("slash")
        assert app.focused is not None and app.focused.id == "filter"
        await pilot.press(*"batch-a", "enter")
        await refresh(app, pilot)
        assert fake_api.list_calls()[-1].url.params["reference_id"] == "batch-a"
        assert app.focused is app.table
        shown = [app.table.request(i) for i in app.table.order]
        assert shown and all(
            r is not None and r.reference_id == "batch-a" for r in shown
        )
        assert "filter: batch-a" in status_line(app)
        assert "1–15 of 15" in status_line(app)
        await pilot.press("slash", "escape")
        await refresh(app, pilot)
        assert "reference_id" not in fake_api.list_calls()[-1].url.params
        assert app.focused is app.table
        assert "1–20 of 45" in status_line(app)


async def test_starts_filtered(fake_api: FakeApi, clock: FakeClock) -> None:
    """--reference-id starts the dashboard filtered and shows the filter."""
    async with open_dashboard(fake_api, clock, reference_id="batch-a") as (app, _p):
        assert fake_api.list_calls()[0].url.params["reference_id"] == "batch-a"
        assert "filter: batch-a" in status_line(app)


async def test_filter_with_no_match_says_so(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """An unknown batch shows an empty table and a message, not a stale page."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        await pilot.press("slash", *"nope", "enter")
        await refresh(app, pilot)
        assert app.table.order == []
        assert "0 of 0" in status_line(app)


async def test_cursor_stays_on_its_request_when_rows_arrive_and_vanish(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """New rows above and a vanished row keep the cursor on the same request."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        await pilot.press("j", "j", "j", "j")
        chosen = app.table.current_id
        fake_api.items[0:0] = [make_request(900, "queued"), make_request(901, "queued")]
        await pilot.press("r")
        await refresh(app, pilot)
        assert app.table.current_id == chosen
        assert app.table.cursor_row == 6
        neighbour = fake_api.items[7]["id"]
        fake_api.items = [i for i in fake_api.items if i["id"] != chosen]
        await pilot.press("r")
        await refresh(app, pilot)
        assert app.table.current_id == neighbour


async def test_status_change_updates_cells_in_place(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """A finished job changes its cells; other rows and the cursor stay put."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        queued = next(i for i in fake_api.items[:20] if i["status"] == "queued")
        await pilot.press("j")
        chosen = app.table.current_id
        number = int(queued["id"][:8], 16)
        queued.update(make_request(number, "completed", queued.get("reference_id")))
        await pilot.press("r")
        await refresh(app, pilot)
        assert app.table.current_id == chosen
        row = app.table.get_row(queued["id"])
        assert "completed" in str(row[0])


async def test_hostile_strings_are_shown_literally(clock: FakeClock) -> None:
    """Markup, escapes and control bytes from the API reach the screen inert."""
    hostile = "[bold red]boom[/] \x1b]52;c;aGk=\x07 \x1b[2J \x9b31m\tend"
    api = FakeApi(items=[make_request(1, "failed", hostile, error_message=hostile)])
    async with open_dashboard(api, clock) as (app, _pilot):
        lines = [app.table.render_line(y).text for y in range(3)]
        assert any("[bold red]boom[/]" in line for line in lines)
        assert not any(c in line for line in lines for c in "\x1b\x9b\x07\t")
        detail = app.detail.query_one("#detail-body").render()
        assert "␛]52;c;aGk=␇" in str(detail)
        assert "[bold red]boom[/]" in str(detail)


async def test_errors_keep_data_and_recover(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """A 503 keeps the rows, marks them stale and says so; r recovers."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        rows = app.table.order
        fake_api.override = lambda _r: httpx.Response(503, text="<html>down</html>")
        await pilot.press("r")
        await refresh(app, pilot)
        assert app.table.order == rows
        assert app.table.has_class("-stale")
        assert "API error 503" in status_line(app)
        clock.advance(1)
        fake_api.override = None
        await pilot.press("r")
        await refresh(app, pilot)
        assert not app.table.has_class("-stale")
        assert "live" in status_line(app)


async def test_refused_key_is_named_never_shown(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """A 401 names CHAMELAION_API_KEY and pauses polling; the key never shows."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        fake_api.override = lambda _r: httpx.Response(401, json={"error": "bad key"})
        await pilot.press("r")
        await refresh(app, pilot)
        assert "CHAMELAION_API_KEY" in status_line(app)
        assert app.policy.plan().empty
        assert KEY not in app.export_screenshot()


async def test_refused_key_names_where_the_key_came_from(clock: FakeClock) -> None:
    """A key from a key_command is named as such, not as the variable."""
    api = FakeApi(items=[make_request(1, "completed")])
    source = "key_command of profile work"
    client = ChamelaionClient(
        BASE_URL, KEY, transport=httpx.MockTransport(api.handle), key_source=source
    )
    app = ChamelaionApp(
        client,
        DashboardOptions(),
        clock=clock,
        wall_clock=lambda: WALL,
        auto_refresh=False,
    )
    async with app.run_test(size=SIZE) as pilot:
        api.override = lambda _r: httpx.Response(401, json={"error": "bad key"})
        await refresh(app, pilot)
        assert f"check {source}" in status_line(app)
        assert "CHAMELAION_API_KEY" not in status_line(app)
        assert "1–20 not loaded" in status_line(app), "nothing is loading"


async def test_stale_rows_are_drawn_as_of_their_data(clock: FakeClock) -> None:
    """While the API fails, in-flight times stop growing: they would lie."""
    api = FakeApi(items=[make_request(1, "queued")])
    wall = [WALL]
    app = ChamelaionApp(
        api.client(),
        DashboardOptions(),
        clock=clock,
        wall_clock=lambda: wall[0],
        auto_refresh=False,
    )
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        waiting = str(app.table.get_row_at(0)[4])
        api.override = lambda _r: httpx.Response(503)
        wall[0] = WALL + timedelta(minutes=5)
        await pilot.press("r")
        await refresh(app, pilot)
        app.tick()
        assert str(app.table.get_row_at(0)[4]) == waiting
        api.override = None
        await pilot.press("r")
        await refresh(app, pilot)
        assert str(app.table.get_row_at(0)[4]) != waiting


async def test_garbage_collection_paused_at_start_is_resumed(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """If the collector is off when the app mounts, its first tick turns it on."""
    gc.disable()
    try:
        # No real tick comes in the test's time: the test ticks by hand.
        async with open_dashboard(fake_api, clock, tick_seconds=3600) as (app, _):
            assert not gc.isenabled()
            app._clock_tick()
            assert gc.isenabled()
    finally:
        gc.enable()


async def test_sigterm_closes_the_app_as_q_does(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """SIGTERM or SIGHUP ends the app through its own exit, which puts the
    terminal back; afterwards the signals have their defaults again."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        assert app.return_code is None
        os.kill(os.getpid(), signal.SIGTERM)
        await pilot.pause()
        await pilot.pause()
        assert app.return_code == 0
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def refused_dashboard(
    api: FakeApi, clock: FakeClock, renew: Callable[[], str]
) -> ChamelaionApp:
    """A dashboard whose key the API refuses, with a way to renew it."""
    client = ChamelaionClient(
        BASE_URL,
        "sk-old-refused-key",
        transport=httpx.MockTransport(api.handle),
        key_source="key_command of profile work",
    )
    return ChamelaionApp(
        client,
        DashboardOptions(renew_key=renew),
        clock=clock,
        wall_clock=lambda: WALL,
        auto_refresh=False,
    )


async def test_r_after_a_refused_key_renews_it(clock: FakeClock) -> None:
    """r runs the key_command again and retries with the key it prints."""
    api = FakeApi(items=[make_request(1, "completed")])
    renewed: list[str] = []

    def renew() -> str:
        renewed.append(KEY)
        return KEY

    app = refused_dashboard(api, clock, renew)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        assert app.policy.pause_reason is PauseReason.AUTH
        assert not app.table.order
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await refresh(app, pilot)
        assert renewed == [KEY]
        assert app.policy.pause_reason is None
        assert app.table.order


async def test_a_key_that_cannot_be_renewed_is_said_and_stays_paused(
    clock: FakeClock,
) -> None:
    """A failing key_command is reported; polling stays paused."""
    api = FakeApi(items=[make_request(1, "completed")])

    def renew() -> str:
        raise ValueError("the key_command of profile work failed (exit 1)")

    app = refused_dashboard(api, clock, renew)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.policy.pause_reason is PauseReason.AUTH
        assert any("exit 1" in str(n.message) for n in app._notifications)
