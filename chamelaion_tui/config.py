"""Settings for every command: flags, environment, a profile, the config file.

Each setting is resolved once, in one order, and remembers where its value
came from, so ``chamelaion-tui config`` can say why a value is what it is:

1. a command-line flag (``--base-url``, ``--page-size``, ``--profile``);
2. the environment (``CHAMELAION_BASE_URL``, ``CHAMELAION_PAGE_SIZE``,
   ``CHAMELAION_PROFILE``, and ``CHAMELAION_API_KEY`` for the key);
3. the chosen profile, a ``[profiles.NAME]`` table of the config file;
4. the top-level keys of the config file;
5. built-in defaults.

The config file is TOML, at ``CHAMELAION_CONFIG`` if that is set, else at
``config.toml`` in the platform's per-user config directory. The tool only
reads it, never writes it. It never holds the key itself: a ``key_command`` is
run (without a shell) to print the key, so the key can stay in a password
manager. A literal ``api_key`` in the file is refused with a warning, and a
file other users may read gets a warning when it holds a ``key_command``.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import httpx

from chamelaion_tui.api import DEFAULT_BASE_URL, MAX_PAGE_SIZE, visible

APP_NAME = "chamelaion-tui"
KEY_VARIABLE = "CHAMELAION_API_KEY"
BASE_URL_VARIABLE = "CHAMELAION_BASE_URL"
PAGE_SIZE_VARIABLE = "CHAMELAION_PAGE_SIZE"
PROFILE_VARIABLE = "CHAMELAION_PROFILE"
CONFIG_VARIABLE = "CHAMELAION_CONFIG"

DEFAULT_PAGE_SIZE = 20
KEY_COMMAND_TIMEOUT = 60.0
"""Seconds a ``key_command`` may take; a password manager may ask for a
passphrase first."""

SETTING_KEYS = ("base_url", "page_size", "theme", "bell", "key_command")
"""The keys the config file understands, at the top level and in profiles."""

Environ = Mapping[str, str]
T = TypeVar("T")


class SettingsError(Exception):
    """A setting or the config file is unusable; the message is one line."""


@dataclass(frozen=True, slots=True)
class Sourced(Generic[T]):
    """A resolved value and where it came from, in words a person reads."""

    value: T
    source: str


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """The checked contents of the config file (empty if there is none).

    ``defaults`` holds the top-level settings and ``profiles`` each named
    table; both hold only known keys with values of the right type.
    """

    path: Path
    found: bool = False
    defaults: Mapping[str, object] = field(default_factory=dict)
    profiles: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Flags:
    """The settings given on the command line; ``None`` where not given."""

    base_url: str | None = None
    page_size: int | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Every effective setting, each with its source.

    The key is not resolved here: :meth:`api_key` runs a ``key_command`` only
    when a command actually needs the key.
    """

    config: ConfigFile
    profile: Sourced[str | None]
    base_url: Sourced[str]
    page_size: Sourced[int]
    theme: Sourced[str | None]
    bell: Sourced[bool]
    key_from_environment: str | None
    key_command: Sourced[str] | None

    def api_key(self, run: Callable[[str], str] | None = None) -> Sourced[str] | None:
        """The key and its source, or ``None`` when none is configured.

        Raises:
            SettingsError: the key command failed, or the key cannot be sent.
        """
        if self.key_from_environment is not None:
            key = Sourced(self.key_from_environment, f"${KEY_VARIABLE}")
        elif self.key_command is not None:
            runner = run or run_key_command
            key = Sourced(runner(self.key_command.value), self.key_command.source)
        else:
            return None
        check_key(key)
        return key


def config_path(environ: Environ) -> Path:
    """Where the config file is: ``$CHAMELAION_CONFIG``, else the platform's.

    ``platformdirs`` is imported here so that commands which never read the
    config pay nothing for it.
    """
    override = environ.get(CONFIG_VARIABLE, "")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def load_config(environ: Environ) -> ConfigFile:
    """Read and check the config file; a missing default file is no error.

    Raises:
        SettingsError: the file named by ``CHAMELAION_CONFIG`` is missing, or
            the file cannot be read, is not TOML, or holds a wrong value.
    """
    path = config_path(environ)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
            mode = os.fstat(handle.fileno()).st_mode
    except FileNotFoundError:
        if environ.get(CONFIG_VARIABLE):
            raise SettingsError(
                f"${CONFIG_VARIABLE} names {path}, which does not exist"
            ) from None
        return ConfigFile(path)
    except IsADirectoryError:
        raise SettingsError(f"the config file {path} is a directory") from None
    except OSError as error:
        raise SettingsError(
            f"cannot read the config file {path}: {error.strerror or error}"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path} is not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{path} is not UTF-8 text") from None
    return parse_config(path, data, mode)


def parse_config(path: Path, data: Mapping[str, object], mode: int) -> ConfigFile:
    """Check decoded TOML and split it into defaults and profiles.

    ``mode`` is the file's permission bits, for the warning about a file
    other users can read.

    Raises:
        SettingsError: a known key has a value of the wrong type or range.
    """
    warnings: list[str] = []
    unknown: list[str] = []
    defaults = _check_table(path.name, "", data, unknown, warnings)
    profiles: dict[str, Mapping[str, object]] = {}
    raw_profiles = data.get("profiles", {})
    if not isinstance(raw_profiles, Mapping):
        raise SettingsError(f"{path.name}: 'profiles' must be a table of tables")
    for name, table in raw_profiles.items():
        if not isinstance(table, Mapping):
            raise SettingsError(
                f"{path.name}: profiles.{name} must be a table ([profiles.{name}])"
            )
        prefix = f"profiles.{name}."
        profiles[name] = _check_table(path.name, prefix, table, unknown, warnings)
    if unknown:
        warnings.append(
            f"{path.name}: unknown key{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)} (ignored)"
        )
    holds_key = "key_command" in defaults or any(
        "key_command" in table for table in profiles.values()
    )
    if holds_key and os.name == "posix" and mode & (stat.S_IRGRP | stat.S_IROTH):
        warnings.append(
            f"{path} can be read by other users and holds a key_command; "
            f"make it private with: chmod 600 {shlex.quote(str(path))}"
        )
    return ConfigFile(
        path=path,
        found=True,
        defaults=defaults,
        profiles=profiles,
        warnings=tuple(warnings),
    )


def _check_table(
    file_name: str,
    prefix: str,
    table: Mapping[str, object],
    unknown: list[str],
    warnings: list[str],
) -> dict[str, object]:
    """The known settings of one table, type-checked; notes what is unknown."""
    checked: dict[str, object] = {}
    for key, value in table.items():
        where = f"{file_name}: {prefix}{key}"
        if key == "profiles" and not prefix:
            continue
        if key == "api_key":
            warnings.append(
                f"{where} holds a key in plain text and is not used; remove it "
                f"and set key_command (a command that prints the key) or "
                f"{KEY_VARIABLE}"
            )
        elif key in SETTING_KEYS:
            checked[key] = _check_value(where, key, value)
        else:
            unknown.append(prefix + key)
    return checked


def _check_value(where: str, key: str, value: object) -> object:
    """Return ``value`` if it suits ``key``; otherwise raise SettingsError."""
    if key == "page_size":
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{where} must be a whole number, not {value!r}")
        return check_page_size(value, where)
    if key == "bell":
        if not isinstance(value, bool):
            raise SettingsError(f"{where} must be true or false, not {value!r}")
        return value
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(f"{where} must be a non-empty string, not {value!r}")
    if key == "base_url":
        check_base_url(value, where)
    return value


def check_page_size(value: int, where: str) -> int:
    """Return ``value`` if it is a page size the API accepts."""
    if not 1 <= value <= MAX_PAGE_SIZE:
        raise SettingsError(f"{where} must be from 1 to {MAX_PAGE_SIZE}, not {value}")
    return value


def check_base_url(base_url: str, where: str) -> None:
    """Refuse anything but an absolute http(s) URL with a host.

    ``where`` names the source (a flag, a variable, a key of the file).
    """
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError, ValueError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise SettingsError(
            f"{where} must be an http:// or https:// URL, got "
            f"{visible(base_url, limit=100)!r}"
        )
    if url.userinfo:
        # It would be shown by `config` and written to logs; the API takes
        # its key in a header anyway.
        raise SettingsError(
            f"{where} must not hold a user name or password; the key comes "
            "from CHAMELAION_API_KEY or key_command"
        )


def check_key(key: Sourced[str]) -> None:
    """Refuse a key that cannot travel in an HTTP header (spaces, non-ASCII)."""
    if not key.value or any(not "!" <= char <= "~" for char in key.value):
        raise SettingsError(
            f"the API key from {key.source} holds spaces, control or non-ASCII "
            "characters, which no API key has; check what it prints"
        )


def resolve(flags: Flags, environ: Environ, config: ConfigFile) -> Settings:
    """Combine flags, environment, profile, file and defaults into settings.

    Raises:
        SettingsError: an unknown profile, or a bad value from any source.
    """
    chosen = _flag_or_env(flags.profile, "--profile", environ, PROFILE_VARIABLE)
    profile = chosen.value if chosen else None
    profile_source = chosen.source if chosen else "default"
    table: Mapping[str, object] = {}
    if profile is not None:
        if profile not in config.profiles:
            name = visible(profile, limit=60)
            if not config.found:
                raise SettingsError(
                    f"no profile {name!r}: there is no config file at {config.path}"
                )
            known = visible(", ".join(sorted(config.profiles)) or "none", limit=200)
            raise SettingsError(
                f"no profile {name!r} in {config.path} (profiles there: {known})"
            )
        table = config.profiles[profile]
    layers = _Layers(config.defaults, table, profile)

    resolved_url = _flag_or_env(
        flags.base_url, "--base-url", environ, BASE_URL_VARIABLE
    )
    if resolved_url is not None:
        check_base_url(resolved_url.value, resolved_url.source)
    else:
        resolved_url = layers.get("base_url", str, DEFAULT_BASE_URL)

    return Settings(
        config=config,
        profile=Sourced(profile, profile_source),
        base_url=resolved_url,
        page_size=_page_size(flags.page_size, environ, layers),
        theme=layers.get("theme", str, None),
        bell=layers.get("bell", bool, False),
        key_from_environment=(environ.get(KEY_VARIABLE) or "").strip() or None,
        key_command=_key_command(layers),
    )


def _flag_or_env(
    flag: str | None, flag_name: str, environ: Environ, variable: str
) -> Sourced[str] | None:
    """The flag's value if given, else the variable's if set and not blank."""
    if flag is not None:
        return Sourced(flag, flag_name)
    text = environ.get(variable, "").strip()
    return Sourced(text, f"${variable}") if text else None


def _page_size(flag: int | None, environ: Environ, layers: _Layers) -> Sourced[int]:
    """The page size: flag, then ``CHAMELAION_PAGE_SIZE``, then the file."""
    if flag is not None:
        return Sourced(check_page_size(flag, "--page-size"), "--page-size")
    text = environ.get(PAGE_SIZE_VARIABLE, "").strip()
    if text:
        where = f"${PAGE_SIZE_VARIABLE}"
        try:
            value = int(text)
        except ValueError:
            raise SettingsError(
                f"{where} must be a whole number, not {visible(text, limit=40)!r}"
            ) from None
        return Sourced(check_page_size(value, where), where)
    return layers.get("page_size", int, DEFAULT_PAGE_SIZE)


def _key_command(layers: _Layers) -> Sourced[str] | None:
    """The ``key_command`` of the profile or the file, if either has one."""
    found = layers.get("key_command", str, "")
    if not found.value:
        return None
    return Sourced(found.value, f"key_command of {found.source}")


@dataclass(frozen=True, slots=True)
class _Layers:
    """The profile's table over the file's top level, for one lookup each."""

    defaults: Mapping[str, object]
    profile_table: Mapping[str, object]
    profile: str | None

    def get(self, key: str, kind: type[T], default: T) -> Sourced[T]:
        """The value of ``key`` from the profile, the file, or ``default``."""
        if key in self.profile_table:
            value = self.profile_table[key]
            source = f"profile {self.profile!r}"
        elif key in self.defaults:
            value = self.defaults[key]
            source = "config file"
        else:
            return Sourced(default, "default")
        if not isinstance(value, kind):  # checked on load; guards the cast
            raise SettingsError(f"{key} has the wrong type in the config file")
        return Sourced(value, source)


def run_key_command(command: str, timeout: float = KEY_COMMAND_TIMEOUT) -> str:
    """Run ``command`` (split like a shell would, but with no shell) for a key.

    The first line of what it prints, stripped, is the key (``pass show``
    prints the password on the first line). What it prints is never shown,
    even on failure, since it may be the key.

    Raises:
        SettingsError: the command cannot be parsed or run, fails, times out,
            or prints nothing.
    """
    try:
        argv = shlex.split(command)
    except ValueError as error:
        raise SettingsError(
            f"key_command is not a valid command line: {error}"
        ) from None
    if not argv:
        raise SettingsError("key_command is empty")
    program = visible(argv[0], limit=60)
    try:
        result = subprocess.run(
            argv,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise SettingsError(f"key_command: no program {program!r} found") from None
    except PermissionError:
        raise SettingsError(f"key_command: {program!r} cannot be run") from None
    except subprocess.TimeoutExpired:
        raise SettingsError(
            f"key_command {program!r} did not finish within {timeout:g} s"
        ) from None
    except OSError as error:
        raise SettingsError(
            f"key_command {program!r} could not start: {error.strerror or error}"
        ) from None
    if result.returncode != 0:
        raise SettingsError(
            f"key_command {program!r} failed with exit status {result.returncode} "
            "(its output is not shown, as it may hold the key)"
        )
    try:
        lines = result.stdout.decode("utf-8").strip().splitlines()
    except UnicodeDecodeError:
        raise SettingsError(
            f"key_command {program!r} printed non-UTF-8 bytes"
        ) from None
    if not lines or not lines[0].strip():
        raise SettingsError(f"key_command {program!r} printed nothing")
    return lines[0].strip()


def mask_key(key: str) -> str:
    """Show enough of a key to recognise it, never enough to use it.

    ``sk-live-0123456789abcdwxyz`` becomes ``sk-…wxyz``; a short key shows
    only its length.
    """
    if len(key) < 16:
        return f"(set, {len(key)} characters)"
    return visible(f"{key[:3]}…{key[-4:]}")
