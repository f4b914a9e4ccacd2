"""``main``: parse the command line, resolve settings, run what was asked.

Every way out is an exit status and, for a mistake, one line on stderr:
usage, settings and key problems exit 2; Ctrl-C exits 130; a reader that
closed the pipe (``| head``) exits 141 quietly. No traceback reaches the
person. The headless commands, the config file, httpx and Textual are
imported only once they are needed, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from chamelaion_tui.cli.parser import PROG, UsageError, parse

if TYPE_CHECKING:
    from chamelaion_tui.api import ChamelaionClient
    from chamelaion_tui.commands.runtime import Console, Runtime
    from chamelaion_tui.config import Settings, Sourced

USAGE = 2
INTERRUPTED = 130
BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None, *, runtime: Runtime | None = None) -> int:
    """Run the command line; returns the process exit status.

    Args:
        argv: The arguments after the program name (default: ``sys.argv``).
        runtime: Streams, environment and clocks (default: this process's).
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse(arguments)
    except UsageError as error:
        stderr = runtime.stderr if runtime else sys.stderr
        stderr.write(f"{PROG}: {error}\n")
        return USAGE
    except SystemExit as done:  # --help and --version
        return done.code if isinstance(done.code, int) else 0

    if args.command is None:
        # Cyclic garbage collection is paused while the dashboard starts:
        # importing Textual and httpx and building the first screen allocate
        # tens of thousands of objects that all live on, and collecting them
        # on the way took about a fifth of the time to the first row. The
        # dashboard collects once and turns the collector back on at its first
        # clock tick, a second after it has mounted; it is back on here in any
        # case once the dashboard has closed or failed to open.
        gc.disable()
    try:
        return _run_parsed(args, runtime)
    finally:
        gc.enable()


def _run_parsed(args: argparse.Namespace, runtime: Runtime | None) -> int:
    """Run the parsed command; an error a person can fix becomes a message."""
    from chamelaion_tui.commands.runtime import Runtime
    from chamelaion_tui.config import SettingsError

    runtime = runtime or Runtime.from_process()
    try:
        return _dispatch(args, runtime)
    except (UsageError, SettingsError) as error:
        runtime.stderr.write(f"{PROG}: {error}\n")
        return USAGE
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout(runtime)
        return BROKEN_PIPE


def _dispatch(args: argparse.Namespace, runtime: Runtime) -> int:
    """Run the dashboard, ``simulate`` or a headless command."""
    if args.command == "simulate":
        from chamelaion_tui.cli.dashboard import run_simulate

        return run_simulate(args)

    from chamelaion_tui import config

    console = runtime.console()
    config_file = config.load_config(runtime.environ)
    for warning in config_file.warnings:
        console.warn(f"warning: {warning}")
    flags = config.Flags(
        base_url=args.base_url, page_size=args.page_size, profile=args.profile
    )
    settings = config.resolve(flags, runtime.environ, config_file)

    if args.command is None:
        return _dashboard(args, settings, runtime)
    if args.command == "config":
        from chamelaion_tui.commands.show_config import config_command

        return config_command(settings, console)
    key = _required_key(settings, dashboard=False)
    return asyncio.run(_headless(args, settings, key, runtime, console))


def _required_key(settings: Settings, *, dashboard: bool) -> Sourced[str]:
    """The key, running a ``key_command`` if that is where it comes from.

    Raises:
        UsageError: no key is configured.
    """
    key = settings.api_key()
    if key is not None:
        return key
    if dashboard:
        raise UsageError(
            "no API key: set CHAMELAION_API_KEY (export CHAMELAION_API_KEY=...) "
            "or a key_command in the config file, or try the built-in simulator "
            "with --demo"
        )
    raise UsageError(
        "no API key: set CHAMELAION_API_KEY (export CHAMELAION_API_KEY=...) or a "
        f"key_command in the config file (see: {PROG} config --help)"
    )


def _dashboard(args: argparse.Namespace, settings: Settings, runtime: Runtime) -> int:
    """Check the flags that only the dashboard takes, then open it."""
    from chamelaion_tui.cli.dashboard import DashboardSettings, run_dashboard

    if args.demo and args.base_url:
        raise UsageError(
            "--demo runs its own simulator and cannot take --base-url; to use a "
            f"simulator you started, drop --demo (see: {PROG} --help)"
        )
    if args.demo_speed is not None and not args.demo:
        raise UsageError(
            f"--demo-speed sets the speed of --demo's simulator; add --demo "
            f"(see: {PROG} --help)"
        )
    if not runtime.reads_keys():
        # Textual reads keys from standard input; given a pipe or a file it
        # would spin on the end of the input at full speed instead.
        raise UsageError(
            "the dashboard reads keys from a terminal, and standard input is not "
            "one; for scripts use the list, get or watch commands "
            f"(see: {PROG} --help)"
        )
    key = None if args.demo else _required_key(settings, dashboard=True)
    return run_dashboard(
        DashboardSettings(
            base_url=settings.base_url.value,
            api_key=key.value if key else None,
            key_source=key.source if key else "CHAMELAION_API_KEY",
            renew_key=_key_renewer(settings),
            page_size=settings.page_size.value,
            reference_id=args.reference_id,
            demo=args.demo,
            demo_speed=args.demo_speed or 1.0,
            log_file=args.log_file,
            theme=args.theme or settings.theme.value,
            bell=bool(args.bell) or settings.bell.value,
            download_dir=args.download_dir,
            stuck_after_minutes=args.stuck_after,
        )
    )


def _key_renewer(settings: Settings) -> Callable[[], str] | None:
    """Runs the ``key_command`` again, if the key comes from one; else None.

    Failures become ``ValueError`` with the message, as the dashboard expects.
    """
    from chamelaion_tui.config import SettingsError

    if settings.key_from_environment is not None or settings.key_command is None:
        return None

    def renew() -> str:
        try:
            key = settings.api_key()
        except SettingsError as error:
            raise ValueError(str(error)) from error
        if key is None:
            raise ValueError("no key_command is set any more")
        return key.value

    return renew


async def _headless(
    args: argparse.Namespace,
    settings: Settings,
    key: Sourced[str],
    runtime: Runtime,
    console: Console,
) -> int:
    """Run ``list``, ``get`` or ``watch`` with one client for its whole life."""
    from chamelaion_tui.api import (
        ApiError,
        ChamelaionClient,
        LipsyncRequest,
        NotFound,
        visible,
    )
    from chamelaion_tui.cli.dashboard import plain_http_warning
    from chamelaion_tui.commands import exits

    base_url = settings.base_url.value
    warning = plain_http_warning(base_url)
    if warning:
        console.warn(warning)
    try:
        client = ChamelaionClient(base_url, key.value, key_source=key.source)
        async with client:
            return await _run_command(args, settings, client, runtime, console)
    except NotFound as error:
        if args.command == "get":
            shown = visible(args.id_or_reference, limit=100)
            console.warn(f"no request has the id or reference_id {shown!r}")
            if LipsyncRequest.looks_short(args.id_or_reference):
                console.warn(
                    "a short id, as the dashboard's table shows it, is not "
                    "enough here: give the whole id"
                )

        else:
            console.warn(f"{error.message}: is the base URL right? ({base_url})")
        return exits.USAGE
    except ApiError as error:
        console.warn(visible(error.message, limit=300))
        return exits.for_api_error(error)
    finally:
        console.clear_live()
        console.out.flush()


async def _run_command(
    args: argparse.Namespace,
    settings: Settings,
    client: ChamelaionClient,
    runtime: Runtime,
    console: Console,
) -> int:
    """Dispatch to one headless command."""
    from chamelaion_tui.commands.listing import get_command, list_command

    if args.command == "list":
        return await list_command(
            client,
            console,
            reference_id=args.reference_id,
            limit=args.limit or settings.page_size.value,
            every=args.every,
            as_json=args.json,
        )
    if args.command == "get":
        return await get_command(
            client,
            console,
            id_or_reference=args.id_or_reference,
            as_json=args.json,
            now=runtime.wall_clock(),
        )
    return await _watch(args, settings, client, runtime, console)


async def _watch(
    args: argparse.Namespace,
    settings: Settings,
    client: ChamelaionClient,
    runtime: Runtime,
    console: Console,
) -> int:
    """Run ``watch`` with the reporter that suits the output."""
    from chamelaion_tui.commands.watch import (
        JsonReporter,
        LinesReporter,
        LiveReporter,
        Reporter,
        Watch,
        WatchTarget,
    )

    target = WatchTarget(ids=tuple(args.ids), reference_id=args.reference_id)
    reporter: Reporter
    if args.json:
        reporter = JsonReporter(console, runtime.wall_clock)
    elif console.live:
        reporter = LiveReporter(console, target.describe(), bell=settings.bell.value)
    else:
        reporter = LinesReporter(console, runtime.wall_clock)
    watch = Watch(
        client,
        target,
        reporter,
        clock=runtime.clock,
        sleep=runtime.sleep,
        timeout=args.timeout,
    )
    outcome = await watch.run()
    return outcome.exit_status


def _quiet_stdout(runtime: Runtime) -> None:
    """After a closed pipe, point stdout at nothing so the exit flush is quiet."""
    if runtime.stdout is not sys.stdout:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        return
