"""Pilot tests of the dashboard's other keys: pause, go to, open, copy, help."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from chamelaion_tui.refresh import PauseReason
from chamelaion_tui.tui import ChamelaionApp
from chamelaion_tui.tui.app import KEYS, is_web_url
from chamelaion_tui.tui.panes import KeyBar
from chamelaion_tui.tui.screens import GoToScreen, HelpScreen
from tests.conftest import SIZE, WALL, FakeClock, open_dashboard, refresh
from tests.fake_api import FakeApi, make_request
from tests.test_tui import status_line


async def test_space_pauses_and_resumes(fake_api: FakeApi, clock: FakeClock) -> None:
    """Space pauses auto-refresh, visibly; space again resumes it."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        assert "space Pause" in key_line(app)
        await pilot.press("space")
        assert app.policy.pause_reason is PauseReason.USER
        assert "paused" in status_line(app)
        await pilot.pause()
        assert "space Resume" in key_line(app)
        clock.advance(600)
        assert app.policy.plan().empty, "nothing is fetched while paused"
        await pilot.press("space")
        assert app.policy.pause_reason is None
        assert app.policy.plan().list_page
        await pilot.pause()
        assert "space Pause" in key_line(app)


async def test_go_to_a_short_id_on_the_page(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """g with the short id the table shows moves the cursor to that row."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        target = fake_api.items[7]["id"]
        await pilot.press("g")
        assert isinstance(app.screen, GoToScreen)
        await pilot.press(*target[:8], "enter")
        await pilot.pause()
        assert app.table.current_id == target


async def test_go_to_a_request_on_no_loaded_page(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """g fetches a request that is on no page, shows it, and follows it by id
    until the cursor moves away."""
    fake_api.items.append(make_request(999, "processing", "far-away"))
    async with open_dashboard(fake_api, clock) as (app, pilot):
        await pilot.press("g", *"far-away", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.detail.shown_id == fake_api.items[-1]["id"]
        assert "not on this page" in str(app.detail.border_title)
        clock.advance(2)
        assert app.policy.plan().get_ids == (fake_api.items[-1]["id"],)
        fake_api.items[-1].update(make_request(999, "completed", "far-away"))
        await refresh(app, pilot)
        request = app.table.request(app.table.current_id or "")
        assert request is not None
        assert app.detail.shown_id == fake_api.items[-1]["id"]
        await pilot.press("j")
        assert app.detail.shown_id == app.table.current_id
        assert app.policy.plan().get_ids == ()


async def test_go_to_an_unknown_id_says_so(fake_api: FakeApi, clock: FakeClock) -> None:
    """g with an id nobody has leaves everything as it was, with a message."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        before = app.table.current_id
        await pilot.press("g", *"no-such-thing", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.table.current_id == before
        assert any("no-such-thing" in str(n.message) for n in app._notifications)


async def test_go_to_a_short_id_off_the_page_says_to_give_the_whole_id(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """A short id matches rows on the page only; elsewhere the message says so."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        await pilot.press("g", *"abcdef12", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]
        assert any("give the whole id" in m for m in messages), messages


async def test_help_lists_every_key(fake_api: FakeApi, clock: FakeClock) -> None:
    """? shows a screen naming every key the dashboard has."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = app.screen.query_one("#help-keys")
        text = "\n".join(keys.render_line(y).text for y in range(keys.size.height))
        for _key, shown, _action, _label, description, _show in KEYS:
            assert shown in text and description in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_offers_the_actions(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """The command palette lists the dashboard's actions by name."""
    async with open_dashboard(fake_api, clock) as (app, _pilot):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Pause or resume auto-refresh" in titles
        assert "Show a request by id or reference_id" in titles


async def test_open_only_opens_web_urls(
    fake_api: FakeApi, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """o opens an http(s) output URL and refuses any other scheme."""
    opened: list[str] = []
    fake_api.items[0:0] = [
        make_request(900, "completed", output_url="https://storage.example/a.mp4"),
        make_request(901, "completed", output_url="file:///etc/passwd"),
    ]
    async with open_dashboard(fake_api, clock) as (app, pilot):
        monkeypatch.setattr(app, "open_url", lambda url, **_: opened.append(url))
        await pilot.press("o", "j", "o")
        assert opened == ["https://storage.example/a.mp4"]


def test_is_web_url() -> None:
    """Only absolute http(s) URLs count."""
    assert is_web_url("https://x.example/v.mp4")
    assert is_web_url("http://127.0.0.1:8080/output/a.mp4")
    for bad in ["javascript:alert(1)", "file:///etc/passwd", "//x", "http://", "["]:
        assert not is_web_url(bad)


async def test_copy_sends_safe_text(clock: FakeClock) -> None:
    """c copies the output URL (or the id), with control characters made
    visible so nothing reaches the terminal through the clipboard."""
    api = FakeApi(
        items=[
            make_request(1, "completed", output_url="https://s.example/\x1b]0;x\x07")
        ]
    )
    async with open_dashboard(api, clock) as (app, pilot):
        await pilot.press("c")
        assert app.clipboard == "https://s.example/␛]0;x␇"


async def test_theme_option(fake_api: FakeApi, clock: FakeClock) -> None:
    """A known theme is used; an unknown one is reported, not fatal."""
    async with open_dashboard(fake_api, clock, theme="nord") as (app, _pilot):
        assert app.theme == "nord"
    async with open_dashboard(fake_api, clock, theme="no-such") as (app, _pilot):
        assert app.theme != "no-such"
        assert any("no-such" in str(n.message) for n in app._notifications)


async def test_empty_toast_holders_are_swept(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """A toast holder left empty (a Textual race) is removed, with its task."""
    from textual.widgets._toast import ToastHolder, ToastRack

    app = ChamelaionApp(
        fake_api.client(), clock=clock, wall_clock=lambda: WALL, auto_refresh=False
    )
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.notify("one")
        await pilot.pause()
        rack = app.screen.get_child_by_type(ToastRack)
        await rack.mount(ToastHolder(id="left-empty"))
        assert len(rack.children) == 2
        app._sweep_toast_holders()
        await pilot.pause()
        assert len(rack.children) == 1 and rack.children[0].children


async def test_paging_and_filtering_work_while_paused(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """Paused stops polling, not the person: n, a filter and r still load."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        await pilot.press("space", "n")
        await refresh(app, pilot)
        assert "21–40 of 45" in status_line(app)
        await pilot.press("slash", *"batch-a", "enter")
        await refresh(app, pilot)
        shown = [app.table.request(i) for i in app.table.order]
        assert shown and all(
            r is not None and r.reference_id == "batch-a" for r in shown
        )
        calls = len(fake_api.list_calls())
        clock.advance(600)
        await refresh(app, pilot)
        assert len(fake_api.list_calls()) == calls, "no polling while paused"
        await pilot.press("r")
        await refresh(app, pilot)
        assert len(fake_api.list_calls()) == calls + 1
        assert "paused" in status_line(app)


async def test_slash_types_a_slash_in_dialogs(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """In the go-to and export boxes "/" is a character, not the filter key."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        await pilot.press("g", *"a/b")
        box = app.screen.query_one("#goto", Input)
        assert box.value == "a/b"
        await pilot.press("escape", "e", "ctrl+u", *"sub/out.csv")
        assert app.screen.query_one("#export-path", Input).value == "sub/out.csv"
        await pilot.press("escape")
        assert app.query_one("#filter", Input).value == ""


async def test_a_start_warning_is_shown(fake_api: FakeApi, clock: FakeClock) -> None:
    """A warning from the command line (plain http) is shown in the app too."""
    async with open_dashboard(fake_api, clock, warning="travels unencrypted") as (
        app,
        _pilot,
    ):
        assert any("unencrypted" in str(n.message) for n in app._notifications)


def key_line(app: ChamelaionApp) -> str:
    """The key bar's text as drawn."""
    return app.query_one(KeyBar).render_line(0).text


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        (160, " q Quit   / Filter   n Next"),
        (100, " q Quit  / Filter  n Next"),
        (80, "…  ? Help"),
        (24, " q Quit  …  ? Help"),
    ],
)
async def test_key_bar_fits_the_width_keeping_help(
    fake_api: FakeApi, clock: FakeClock, width: int, expected: str
) -> None:
    """Wide: every shown key and the palette; narrower, tighter; help stays."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        await pilot.resize_terminal(width, SIZE[1])
        await pilot.pause()
        line = key_line(app)
        assert expected in line
        assert len(line.rstrip()) <= width
        assert "? Help" in line
        assert ("^p Palette" in line) == (width >= 120)


async def test_clicking_a_key_runs_its_action(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """A key in the bar is a link: clicking "? Help" opens the help screen."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        column = key_line(app).index("? Help")
        await pilot.click(KeyBar, offset=(column + 1, 0))
        assert isinstance(app.screen, HelpScreen)


async def test_key_line_follows_the_filter_box(
    fake_api: FakeApi, clock: FakeClock
) -> None:
    """In the filter box other keys type, so the line shows Enter and Esc; a
    click on "Enter Apply" applies; back at the table the main keys return."""
    async with open_dashboard(fake_api, clock) as (app, pilot):
        await pilot.press("slash")
        await pilot.pause()
        assert "Enter Apply" in key_line(app)
        assert "q Quit" not in key_line(app)
        await pilot.press(*"batch-a")
        column = key_line(app).index("Enter Apply")
        await pilot.click(KeyBar, offset=(column + 1, 0))
        await pilot.pause()
        assert app.policy.view.reference_id == "batch-a"
        assert "q Quit" in key_line(app)
