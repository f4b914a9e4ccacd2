"""Settings: the config file, profiles, precedence and the key command."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import pytest

from chamelaion_tui import config
from chamelaion_tui.api import DEFAULT_BASE_URL
from chamelaion_tui.config import (
    ConfigFile,
    Flags,
    SettingsError,
    Sourced,
    load_config,
    mask_key,
    resolve,
    run_key_command,
)

FILE_URL = "https://file.example/api"
PROFILE_URL = "https://profile.example/api"
ENV_URL = "https://env.example/api"
FLAG_URL = "https://flag.example/api"

LAYERED = f"""
base_url = "{FILE_URL}"
page_size = 30

[profiles.work]
base_url = "{PROFILE_URL}"
page_size = 40
"""


def write_config(tmp_path: Path, text: str, mode: int = 0o600) -> dict[str, str]:
    """Write a config file and return an environment that points at it."""
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return {"CHAMELAION_CONFIG": str(path)}


def settings_for(
    environ: dict[str, str], flags: Flags | None = None
) -> config.Settings:
    """Load the file named in ``environ`` and resolve against it."""
    return resolve(flags or Flags(), environ, load_config(environ))


def python_command(code: str) -> str:
    """A key_command that runs ``code`` with this test's Python."""
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


# -- precedence ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ((FLAG_URL, ENV_URL, "work"), (FLAG_URL, "--base-url")),
        ((None, ENV_URL, "work"), (ENV_URL, "$CHAMELAION_BASE_URL")),
        ((None, None, "work"), (PROFILE_URL, "profile 'work'")),
        ((None, None, None), (FILE_URL, "config file")),
    ],
)
def test_base_url_precedence(
    tmp_path: Path,
    given: tuple[str | None, str | None, str | None],
    expected: tuple[str, str],
) -> None:
    """Flag beats environment beats profile beats the file's top level.

    ``given`` is (flag, environment variable, profile); ``expected`` is
    (value, source).
    """
    flag, env, profile = given
    environ = write_config(tmp_path, LAYERED)
    if env:
        environ["CHAMELAION_BASE_URL"] = env
    settings = settings_for(environ, Flags(base_url=flag, profile=profile))
    assert settings.base_url == Sourced(*expected)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ((10, "15", "work"), (10, "--page-size")),
        ((None, "15", "work"), (15, "$CHAMELAION_PAGE_SIZE")),
        ((None, None, "work"), (40, "profile 'work'")),
        ((None, None, None), (30, "config file")),
    ],
)
def test_page_size_precedence(
    tmp_path: Path,
    given: tuple[int | None, str | None, str | None],
    expected: tuple[int, str],
) -> None:
    """The same order holds for the page size."""
    flag, env, profile = given
    environ = write_config(tmp_path, LAYERED)
    if env:
        environ["CHAMELAION_PAGE_SIZE"] = env
    settings = settings_for(environ, Flags(page_size=flag, profile=profile))
    assert settings.page_size == Sourced(*expected)


def test_defaults_without_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No file at the default location: built-in defaults, no error."""
    absent = tmp_path / "absent" / "config.toml"
    monkeypatch.setattr(config, "config_path", lambda _environ: absent)
    settings = settings_for({})
    assert not settings.config.found
    assert settings.base_url == Sourced(DEFAULT_BASE_URL, "default")
    assert settings.page_size == Sourced(20, "default")
    assert settings.bell == Sourced(False, "default")
    assert settings.theme.value is None
    assert settings.api_key() is None


def test_default_path_is_the_platform_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without CHAMELAION_CONFIG the file is config.toml in platformdirs' dir."""
    import platformdirs

    seen: list[str] = []

    def fake_dir(name: str) -> Path:
        seen.append(name)
        return tmp_path

    monkeypatch.setattr(platformdirs, "user_config_path", fake_dir)
    assert config.config_path({}) == tmp_path / "config.toml"
    assert seen == ["chamelaion-tui"]
    assert config.config_path({"CHAMELAION_CONFIG": "/x/c.toml"}) == Path("/x/c.toml")


def test_profile_from_environment_and_flag(tmp_path: Path) -> None:
    """CHAMELAION_PROFILE picks a profile; --profile beats it."""
    environ = write_config(tmp_path, LAYERED + "[profiles.home]\npage_size = 5\n")
    environ["CHAMELAION_PROFILE"] = "home"
    settings = settings_for(environ)
    assert settings.profile == Sourced("home", "$CHAMELAION_PROFILE")
    assert settings.page_size.value == 5
    settings = settings_for(environ, Flags(profile="work"))
    assert settings.profile == Sourced("work", "--profile")
    assert settings.base_url.value == PROFILE_URL


def test_unknown_profile_names_the_known_ones(tmp_path: Path) -> None:
    """A profile not in the file is an error that lists those that are."""
    environ = write_config(tmp_path, LAYERED)
    with pytest.raises(SettingsError, match=r"no profile 'play'.*work"):
        settings_for(environ, Flags(profile="play"))


def test_bad_environment_values(tmp_path: Path) -> None:
    """A bad CHAMELAION_PAGE_SIZE or CHAMELAION_BASE_URL is named."""
    environ = write_config(tmp_path, "")
    with pytest.raises(SettingsError, match=r"\$CHAMELAION_PAGE_SIZE"):
        settings_for({**environ, "CHAMELAION_PAGE_SIZE": "lots"})
    with pytest.raises(SettingsError, match="from 1 to 100"):
        settings_for({**environ, "CHAMELAION_PAGE_SIZE": "500"})
    with pytest.raises(SettingsError, match=r"\$CHAMELAION_BASE_URL must be an http"):
        settings_for({**environ, "CHAMELAION_BASE_URL": "ftp://x"})


# -- the file -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('page_size = "20"', "page_size must be a whole number"),
        ("page_size = 0", "page_size must be from 1 to 100"),
        ("page_size = true", "page_size must be a whole number"),
        ('bell = "yes"', "bell must be true or false"),
        ("base_url = 5", "base_url must be a non-empty string"),
        ('base_url = "api.example.com"', "base_url must be an http"),
        ("theme = []", "theme must be a non-empty string"),
        ("profiles = 3", "'profiles' must be a table"),
        ("[profiles]\nwork = 1", "profiles.work must be a table"),
        ('[profiles.work]\npage_size = "x"', "profiles.work.page_size must be"),
        ("base_url = ", "is not valid TOML"),
    ],
)
def test_wrong_values_are_errors(tmp_path: Path, text: str, message: str) -> None:
    """Each wrong type or value is one clear error naming the key."""
    environ = write_config(tmp_path, text)
    with pytest.raises(SettingsError, match=message):
        load_config(environ)


def test_unknown_keys_are_named_in_a_warning(tmp_path: Path) -> None:
    """Unknown keys anywhere are listed in one warning and otherwise ignored."""
    environ = write_config(
        tmp_path, 'colour = "blue"\n[profiles.work]\npage_sise = 5\n'
    )
    loaded = load_config(environ)
    assert len(loaded.warnings) == 1
    assert "colour" in loaded.warnings[0]
    assert "profiles.work.page_sise" in loaded.warnings[0]
    assert loaded.profiles["work"] == {}


def test_named_file_must_exist(tmp_path: Path) -> None:
    """A CHAMELAION_CONFIG that names nothing is an error, not silence."""
    with pytest.raises(SettingsError, match="does not exist"):
        load_config({"CHAMELAION_CONFIG": str(tmp_path / "missing.toml")})


def test_plain_api_key_is_refused(tmp_path: Path) -> None:
    """A key written in the file is not used, and a warning says what to do."""
    environ = write_config(tmp_path, 'api_key = "sk-plain-text-key-123456"\n')
    settings = settings_for(environ)
    assert settings.api_key() is None
    (warning,) = settings.config.warnings
    assert "plain text" in warning
    assert "key_command" in warning
    assert "sk-plain" not in warning


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize(
    ("mode", "holds_command", "warned"),
    [
        (0o644, True, True),
        (0o640, True, True),
        (0o600, True, False),
        (0o644, False, False),
    ],
)
def test_readable_file_with_a_key_command_warns(
    tmp_path: Path, mode: int, holds_command: bool, warned: bool
) -> None:
    """Only a file others can read that holds a key_command gets the warning."""
    text = 'key_command = "pass show x"\n' if holds_command else "page_size = 5\n"
    loaded = load_config(write_config(tmp_path, text, mode))
    assert any("chmod 600" in warning for warning in loaded.warnings) is warned


# -- the key --------------------------------------------------------------------


def test_key_command_gives_the_first_line(tmp_path: Path) -> None:
    """The first line printed, stripped, is the key; its source is named."""
    command = python_command('print("  sk-from-command-0001  "); print("meta")')
    environ = write_config(tmp_path, f"key_command = {json.dumps(command)}\n")
    key = settings_for(environ).api_key()
    assert key == Sourced("sk-from-command-0001", "key_command of config file")


def test_environment_key_wins_and_the_command_is_not_run(tmp_path: Path) -> None:
    """CHAMELAION_API_KEY beats a key_command, which then never runs."""
    environ = write_config(tmp_path, "key_command = 'never-run'\n")
    environ["CHAMELAION_API_KEY"] = "sk-env-0123456789"

    def refuse(command: str) -> str:
        raise AssertionError(f"ran {command}")

    key = settings_for(environ).api_key(refuse)
    assert key == Sourced("sk-env-0123456789", "$CHAMELAION_API_KEY")


def test_profile_key_command_beats_the_top_level_one(tmp_path: Path) -> None:
    """A profile's key_command replaces the file's."""
    text = "key_command = 'top'\n[profiles.work]\nkey_command = 'work-cmd'\n"
    environ = write_config(tmp_path, text)
    settings = settings_for(environ, Flags(profile="work"))
    assert settings.key_command == Sourced("work-cmd", "key_command of profile 'work'")
    assert settings.api_key(lambda command: f"sk-{command}-0123456789") == Sourced(
        "sk-work-cmd-0123456789", "key_command of profile 'work'"
    )


def test_key_command_failure_never_shows_its_output() -> None:
    """A failing command is one line with its status, not what it printed."""
    command = python_command("print('sk-secret-output'); raise SystemExit(3)")
    with pytest.raises(SettingsError) as caught:
        run_key_command(command)
    message = str(caught.value)
    assert "exit status 3" in message
    assert "sk-secret" not in message
    assert "\n" not in message


def test_key_command_problems(tmp_path: Path) -> None:
    """Missing program, empty output, bad quoting, too slow: each one line."""
    with pytest.raises(SettingsError, match="no program"):
        run_key_command(shlex.quote(str(tmp_path / "no-such-program")))
    with pytest.raises(SettingsError, match="printed nothing"):
        run_key_command(python_command("print()"))
    with pytest.raises(SettingsError, match="not a valid command line"):
        run_key_command("pass show 'unclosed")
    with pytest.raises(SettingsError, match="did not finish"):
        run_key_command(python_command("import time; time.sleep(10)"), timeout=0.2)


def test_unsendable_keys_are_refused() -> None:
    """A key with spaces or control characters would break the header."""
    settings = resolve(
        Flags(), {"CHAMELAION_API_KEY": "sk-has space"}, ConfigFile(Path("c.toml"))
    )
    with pytest.raises(SettingsError, match="spaces, control or non-ASCII"):
        settings.api_key()


def test_mask_key() -> None:
    """Long keys show their first three and last four characters only."""
    assert mask_key("sk-live-0123456789abcdwxyz") == "sk-…wxyz"
    assert mask_key("short-key") == "(set, 9 characters)"
