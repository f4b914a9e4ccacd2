"""A bug in the app ends it with one line, never a traceback with locals."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from chamelaion_tui.tui import ChamelaionApp
from tests.conftest import SIZE, WALL, FakeClock
from tests.fake_api import KEY, FakeApi


class Broken(RuntimeError):
    """The bug this test plants."""


def check_report(stderr: str) -> None:
    """The message names a private report that holds the error, not the key."""
    assert "chamelaion-tui stopped because of an internal error" in stderr
    assert "Traceback" not in stderr
    match = re.search(r"chamelaion-tui-crash-\S+?\.txt", stderr.replace("\n", ""))
    assert match is not None
    report = Path(tempfile.gettempdir()) / match.group(0)
    try:
        text = report.read_text(encoding="utf-8")
        assert "Broken: planted" in text
        assert KEY not in text
        assert report.stat().st_mode & 0o077 == 0, "the report is private"
    finally:
        report.unlink()


async def test_a_crash_writes_a_report_without_locals_or_the_key(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    """The exit message points at a report; the report holds no key."""
    app = ChamelaionApp(
        fake_api.client(),
        clock=FakeClock(),
        wall_clock=lambda: WALL,
        auto_refresh=False,
    )

    def boom() -> None:
        raise Broken("planted")

    with pytest.raises(Broken):
        async with app.run_test(size=SIZE) as pilot:
            app.call_later(boom)
            await pilot.pause()
    check_report(capsys.readouterr().err)
