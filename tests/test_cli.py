"""The command line: grammar, help pages, usage errors and the dashboard entry."""

from __future__ import annotations

import ast
import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chamelaion_tui import api
from chamelaion_tui.cli import dashboard, parser
from chamelaion_tui.cli.parser import UsageError, parse
from tests.cli_support import (
    KEY,
    SimulatedTime,
    private_environ,
    quiet_world,
    run_cli,
    simulator,
)

COMMANDS = ["list", "get", "watch", "config", "simulate"]
PACKAGE = Path(__file__).resolve().parent.parent / "chamelaion_tui"


# -- help -----------------------------------------------------------------------


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help_with_examples(
    command: str | None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--help`` exits 0 with a description, examples and no overlong lines."""
    monkeypatch.setenv("COLUMNS", "80")
    argv = [command, "--help"] if command else ["--help"]
    assert run_cli(argv, private_environ(tmp_path)).status == 0
    page = capsys.readouterr().out
    assert page.startswith("usage: chamelaion-tui")
    assert "examples:" in page
    for line in page.splitlines():
        assert len(line) <= 80 or line.startswith("usage:"), line


@pytest.mark.parametrize("command", [None, "list", "get", "watch"])
def test_help_lists_exit_statuses(
    command: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Scripts need the exit statuses; the help pages of the commands say them."""
    run_cli([command, "--help"] if command else ["--help"], private_environ(tmp_path))
    page = capsys.readouterr().out
    assert "exit status:" in page
    assert "  2  " in page


def test_watch_help_explains_large_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The choice made for batches beyond one page is written down."""
    run_cli(["watch", "--help"], private_environ(tmp_path))
    page = " ".join(capsys.readouterr().out.split())
    assert "newest 100 requests" in page
    assert "followed one by one by id" in page


def test_config_help_shows_the_file_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``config --help`` documents the file with an example and the order."""
    run_cli(["config", "--help"], private_environ(tmp_path))
    page = capsys.readouterr().out
    assert "[profiles.staging]" in page
    assert "key_command" in page
    assert "CHAMELAION_CONFIG" in page


def test_help_imports_neither_textual_nor_httpx() -> None:
    """``--help`` answers at once: no Textual, no httpx, no simulator."""
    code = (
        "import sys\n"
        "from chamelaion_tui.cli import main\n"
        "for argv in (['--help'], ['watch', '--help'], ['list', '--limit', 'x']):\n"
        "    main(argv)\n"
        "heavy = [m for m in ('textual', 'httpx', 'aiohttp') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert "HEAVY []" in result.stdout


def test_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--version`` prints the version and exits 0."""
    assert run_cli(["--version"], private_environ(tmp_path)).status == 0
    assert capsys.readouterr().out.strip() == "0.1.0"


def test_parser_constants_match_the_api() -> None:
    """The parser copies two API constants to stay light; they must agree."""
    assert parser.MAX_PAGE_SIZE == api.MAX_PAGE_SIZE
    assert parser.DEFAULT_BASE_URL == api.DEFAULT_BASE_URL


def test_headless_modules_never_import_textual() -> None:
    """Commands and settings stay out of the Textual layer entirely."""
    files = [PACKAGE / "config.py", *sorted((PACKAGE / "commands").glob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                assert not name.startswith(("textual", "chamelaion_tui.tui")), path


# -- options before or after the command -----------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--base-url", "http://127.0.0.1:1/api", "--page-size", "7", "list"],
        ["list", "--base-url", "http://127.0.0.1:1/api", "--page-size", "7"],
        ["--base-url", "http://127.0.0.1:1/api", "list", "--page-size", "7"],
    ],
)
def test_shared_options_before_or_after_the_command(argv: list[str]) -> None:
    """--base-url and --page-size mean the same on either side of the name."""
    args = parse(argv)
    assert args.command == "list"
    assert args.base_url == "http://127.0.0.1:1/api"
    assert args.page_size == 7


@pytest.mark.parametrize(
    "command", [["list"], ["get", "x"], ["watch", "x"], ["config"]]
)
def test_profile_before_or_after_every_command(command: list[str]) -> None:
    """--profile works with each command, on either side."""
    assert parse(["--profile", "work", *command]).profile == "work"
    assert parse([*command, "--profile", "work"]).profile == "work"
    assert parse(command).profile is None


def test_the_later_of_two_wins() -> None:
    """Given before and after the name, the one after it counts."""
    args = parse(["--page-size", "5", "list", "--page-size", "9"])
    assert args.page_size == 9
    args = parse(["--reference-id", "a", "list", "--reference-id", "b"])
    assert args.reference_id == "b"
    assert parse(["--reference-id", "a", "watch"]).reference_id == "a"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--demo", "list"], "--demo is for the dashboard"),
        (["--log-file", "x.log", "watch", "a"], "--log-file is for the dashboard"),
        (["--reference-id", "r", "get", "x"], "--reference-id does not apply"),
        (
            ["--base-url", "http://127.0.0.1:1", "simulate"],
            "does not apply to 'simulate'",
        ),
        (["watch"], "watch needs request ids or --reference-id"),
        (["watch", "a", "--reference-id", "b"], "one of the two"),
        (["watch", "--reference-id", "  "], "watch needs request ids"),
        (["list", "--limit", "0"], "must be at least 1"),
        (["list", "--all", "--limit", "5"], "not allowed with"),
        (["list", "--page-size", "101"], "from 1 to 100"),
        (["watch", "a", "--timeout", "-1"], "above 0"),
        (["frobnicate"], "invalid choice"),
        (["get"], "required"),
        (["simulate", "--port", "70000"], "from 0 to 65535"),
    ],
)
def test_usage_errors(argv: list[str], message: str) -> None:
    """Each mistake is a UsageError with a clear message and where help is."""
    with pytest.raises(UsageError, match=message) as caught:
        parse(argv)
    assert "--help" in str(caught.value)


def test_a_usage_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """No usage dump, no traceback: one line on stderr, status 2."""
    run = run_cli(["list", "--limit", "lots"], private_environ(tmp_path))
    assert run.status == 2
    assert run.out == ""
    assert run.err.count("\n") == 1
    assert run.err.startswith("chamelaion-tui: argument --limit: not a whole number")
    assert "chamelaion-tui list --help" in run.err


# -- the dashboard entry ----------------------------------------------------------


def test_dashboard_without_a_key_exits_2(tmp_path: Path) -> None:
    """No key and no --demo: one line naming the variable and --demo."""
    run = run_cli([], private_environ(tmp_path))
    assert run.status == 2
    assert run.err.count("\n") == 1
    assert "CHAMELAION_API_KEY" in run.err
    assert "--demo" in run.err


def test_headless_command_without_a_key_exits_2(tmp_path: Path) -> None:
    """The commands say the same, pointing at the config help instead."""
    run = run_cli(["list"], private_environ(tmp_path))
    assert run.status == 2
    assert "CHAMELAION_API_KEY" in run.err
    assert "key_command" in run.err


def capture_dashboard(
    monkeypatch: pytest.MonkeyPatch,
) -> list[dashboard.DashboardSettings]:
    """Replace the dashboard with a recorder of what it would be opened with."""
    opened: list[dashboard.DashboardSettings] = []

    def record(settings: dashboard.DashboardSettings) -> int:
        opened.append(settings)
        return 0

    monkeypatch.setattr(dashboard, "run_dashboard", record)
    return opened


def test_dashboard_takes_profile_settings_and_key_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard gets base URL, page size and key from the profile, and
    theme and bell from the file."""
    command = f"{sys.executable} -c {json.dumps('print(' + repr(KEY) + ')')}"
    (tmp_path / "config.toml").write_text(
        'theme = "nord"\nbell = true\n'
        "[profiles.work]\n"
        'base_url = "http://127.0.0.1:1/api"\n'
        "page_size = 33\n"
        f"key_command = {json.dumps(command)}\n",
        encoding="utf-8",
    )
    opened = capture_dashboard(monkeypatch)
    run = run_cli(
        ["--profile", "work", "--reference-id", " batch-1 "], private_environ(tmp_path)
    )
    assert run.status == 0, run.err
    (settings,) = opened
    assert settings.base_url == "http://127.0.0.1:1/api"
    assert settings.page_size == 33
    assert settings.api_key == KEY
    assert settings.reference_id == "batch-1"
    assert (settings.theme, settings.bell) == ("nord", True)
    assert not settings.demo
    assert settings.key_source.startswith("key_command of profile")
    assert settings.renew_key is not None, "r after a refusal runs it again"
    assert settings.renew_key() == KEY


def test_demo_needs_no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--demo opens the dashboard without asking for a key."""
    opened = capture_dashboard(monkeypatch)
    run = run_cli(["--demo", "--demo-speed", "5"], private_environ(tmp_path))
    assert run.status == 0
    assert opened[0].demo
    assert opened[0].demo_speed == 5
    assert opened[0].api_key is None
    assert opened[0].renew_key is None


def test_dashboard_flags_reach_the_dashboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--bell, --theme, --download-dir and --stuck-after are passed through,
    flags winning over the file."""
    (tmp_path / "config.toml").write_text('theme = "nord"\n', encoding="utf-8")
    opened = capture_dashboard(monkeypatch)
    run = run_cli(
        [
            "--demo",
            "--bell",
            "--theme",
            "gruvbox",
            "--download-dir",
            "out",
            "--stuck-after",
            "7.5",
        ],
        private_environ(tmp_path),
    )
    assert run.status == 0, run.err
    (settings,) = opened
    assert (settings.bell, settings.theme) == (True, "gruvbox")
    assert settings.download_dir == "out"
    assert settings.stuck_after_minutes == 7.5


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_stuck_after_must_be_positive_minutes(tmp_path: Path, value: str) -> None:
    """A bad --stuck-after is a usage error naming the option."""
    run = run_cli(["--demo", "--stuck-after", value], private_environ(tmp_path))
    assert run.status == 2
    assert "--stuck-after" in run.err


def test_config_warnings_reach_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown keys are reported before the dashboard opens."""
    (tmp_path / "config.toml").write_text("colour = 1\n", encoding="utf-8")
    capture_dashboard(monkeypatch)
    run = run_cli(["--demo"], private_environ(tmp_path))
    assert run.status == 0
    assert "warning" in run.err
    assert "colour" in run.err


def test_bad_config_file_exits_2(tmp_path: Path) -> None:
    """A broken config file stops every command with one line."""
    (tmp_path / "config.toml").write_text("page_size = 'x'\n", encoding="utf-8")
    run = run_cli(["config"], private_environ(tmp_path))
    assert run.status == 2
    assert run.err.count("\n") == 1
    assert "page_size must be a whole number" in run.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "--fault", "nonsense"], "--fault 'nonsense'"),
        (["simulate", "--scenario", "missing.json"], "--scenario missing.json"),
    ],
)
def test_simulate_usage_errors(tmp_path: Path, argv: list[str], message: str) -> None:
    """simulate still checks its faults and scenario before serving."""
    run = run_cli(argv, private_environ(tmp_path))
    assert run.status == 2
    assert message in run.err


# -- the config command -------------------------------------------------------------


def test_config_shows_sources_and_masks_the_key(tmp_path: Path) -> None:
    """Each setting with its source; the key masked, never whole."""
    (tmp_path / "config.toml").write_text(
        'page_size = 30\nbell = true\n[profiles.work]\nbase_url = "https://w.example/api"\n',
        encoding="utf-8",
    )
    environ = private_environ(tmp_path, CHAMELAION_API_KEY="sk-live-0123456789abcdwxyz")
    run = run_cli(["config", "--profile", "work"], environ)
    assert run.status == 0, run.err
    rows = {line.split()[0]: line for line in run.lines}
    assert "https://w.example/api" in rows["base_url"]
    assert "(profile 'work')" in rows["base_url"]
    assert "30" in rows["page_size"] and "(config file)" in rows["page_size"]
    assert "on" in rows["bell"]
    assert "sk-…wxyz" in rows["api_key"]
    assert "($CHAMELAION_API_KEY)" in rows["api_key"]
    assert "0123456789" not in run.out
    assert "work" in rows["profiles"]


def test_config_without_a_key(tmp_path: Path) -> None:
    """No key: shown as not set, with how to set one; still exit 0."""
    run = run_cli(["config"], private_environ(tmp_path))
    assert run.status == 0
    assert "(not set)" in run.out


def test_config_with_a_failing_key_command(tmp_path: Path) -> None:
    """A failing key_command is shown and makes the exit status 2."""
    command = f"{sys.executable} -c {json.dumps('raise SystemExit(4)')}"
    (tmp_path / "config.toml").write_text(
        f"key_command = {json.dumps(command)}\n", encoding="utf-8"
    )
    (tmp_path / "config.toml").chmod(0o600)
    run = run_cli(["config"], private_environ(tmp_path))
    assert run.status == 2
    assert "exit status 4" in run.out


def test_a_profile_switches_the_base_url(tmp_path: Path) -> None:
    """Two simulators, two profiles: each profile reaches its own API."""
    time = SimulatedTime()
    first, second = quiet_world(time), quiet_world(time)
    first.add_job("only-in-first")
    second.add_job("only-in-second")
    with simulator(first) as one, simulator(second) as two:
        (tmp_path / "config.toml").write_text(
            f'base_url = "{one.base_url}"\n'
            f'[profiles.other]\nbase_url = "{two.base_url}"\n',
            encoding="utf-8",
        )
        environ = private_environ(tmp_path, CHAMELAION_API_KEY=KEY)
        default = run_cli(["list", "--json"], environ)
        other = run_cli(["list", "--json", "--profile", "other"], environ)
        by_env = run_cli(["list", "--json"], {**environ, "CHAMELAION_PROFILE": "other"})
    assert [json.loads(x)["reference_id"] for x in default.lines] == ["only-in-first"]
    assert [json.loads(x)["reference_id"] for x in other.lines] == ["only-in-second"]
    assert by_env.lines == other.lines


def test_base_url_with_a_password_is_refused(tmp_path: Path) -> None:
    """A user name or password in the base URL would reach logs and `config`."""
    run = run_cli(
        ["--base-url", "http://user:hunter2@127.0.0.1:9/api", "list"],
        {**private_environ(tmp_path), "CHAMELAION_API_KEY": KEY},
    )
    assert run.status == 2
    assert "hunter2" not in run.err
    assert "user name or password" in run.err


def test_simulate_takes_a_fixed_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """simulate --key makes the simulator accept that key (so clients survive
    a restart of it)."""
    from chamelaion_tui import simulator

    seen: list[object] = []
    monkeypatch.setattr(simulator, "serve_forever", lambda **kw: seen.append(kw))
    run = run_cli(
        ["simulate", "--port", "0", "--key", "sk-fixed"], private_environ(tmp_path)
    )
    assert run.status == 0, run.err
    assert isinstance(seen[0], dict) and seen[0]["api_key"] == "sk-fixed"


@pytest.mark.parametrize(
    ("base_url", "warned"),
    [
        ("http://api.example.test/api", True),
        ("https://api.example.test/api", False),
        ("http://127.0.0.1:8080/api", False),
        ("http://localhost:8080/api", False),
        ("http://[::1]:8080/api", False),
    ],
)
def test_plain_http_off_this_machine_is_warned(base_url: str, warned: bool) -> None:
    """A key sent over plain http to another machine gets a warning."""
    warning = dashboard.plain_http_warning(base_url)
    assert (warning is not None) == warned
    if warning:
        assert "unencrypted" in warning


def test_demo_refuses_a_base_url(tmp_path: Path) -> None:
    """--demo with --base-url is a usage error, not a silent choice."""
    run = run_cli(
        ["--demo", "--base-url", "http://127.0.0.1:9/api"], private_environ(tmp_path)
    )
    assert run.status == 2
    assert "--demo" in run.err and "--base-url" in run.err


def test_dashboard_pauses_garbage_collection_while_it_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collector is off while the dashboard opens and on once it returns."""
    seen: list[bool] = []

    def record(settings: dashboard.DashboardSettings) -> int:
        seen.append(gc.isenabled())
        raise RuntimeError("the dashboard failed")

    monkeypatch.setattr(dashboard, "run_dashboard", record)
    with pytest.raises(RuntimeError):
        run_cli(["--demo"], private_environ(tmp_path))
    assert seen == [False]
    assert gc.isenabled()


def test_dashboard_without_a_terminal_to_read_keys_from_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a pipe or a file as stdin, the dashboard says so instead of starting.

    Textual would spin on the end of such input at full speed.
    """
    opened = capture_dashboard(monkeypatch)
    run = run_cli(["--demo"], private_environ(tmp_path), keyboard=False)
    assert run.status == 2
    assert "standard input is not" in run.err
    assert "list, get or watch" in run.err
    assert opened == []


def test_demo_speed_without_demo_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--demo-speed alone names --demo, not a missing key."""
    opened = capture_dashboard(monkeypatch)
    run = run_cli(["--demo-speed", "5"], private_environ(tmp_path))
    assert run.status == 2
    assert "--demo-speed" in run.err and "add --demo" in run.err
    assert "no API key" not in run.err
    assert opened == []
