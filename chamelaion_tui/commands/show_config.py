"""``config``: print the effective settings and where each one came from."""

from __future__ import annotations

from collections.abc import Callable

from chamelaion_tui.api import visible
from chamelaion_tui.commands import exits
from chamelaion_tui.commands.runtime import Console
from chamelaion_tui.config import (
    KEY_VARIABLE,
    Settings,
    SettingsError,
    mask_key,
)


def config_command(
    settings: Settings,
    console: Console,
    run_key_command: Callable[[str], str] | None = None,
) -> int:
    """Print each setting, its value and its source; the key masked.

    The ``key_command``, if one applies, is run so the masked key shows what
    the commands would really send. Exit status 2 when it fails.
    """
    status = exits.OK
    try:
        key = settings.api_key(run_key_command)
    except SettingsError as error:
        key_row = (f"(unusable: {error})", "")
        status = exits.USAGE
    else:
        if key is None:
            key_row = (
                "(not set)",
                f"set {KEY_VARIABLE}, or key_command in the config file",
            )
        else:
            key_row = (mask_key(key.value), key.source)

    config = settings.config
    theme = settings.theme
    rows = [
        ("config file", str(config.path), "found" if config.found else "not found"),
        ("profile", settings.profile.value or "(none)", settings.profile.source),
        ("base_url", settings.base_url.value, settings.base_url.source),
        ("page_size", str(settings.page_size.value), settings.page_size.source),
        ("theme", theme.value or "(the dashboard's own)", theme.source),
        ("bell", "on" if settings.bell.value else "off", settings.bell.source),
        ("api_key", *key_row),
    ]
    if config.profiles:
        names = ", ".join(sorted(config.profiles))
        rows.append(("profiles", names, "config file"))
    width = max(len(name) for name, _, _ in rows)
    value_width = min(max(len(visible(value)) for _, value, _ in rows), 60)
    for name, value, source in rows:
        shown = visible(value).ljust(value_width)
        hint = console.dim(f"({source})") if source else ""
        console.line(f"{name.ljust(width)}  {shown}  {hint}".rstrip())
    return status
