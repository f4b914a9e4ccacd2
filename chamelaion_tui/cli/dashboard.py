"""Opening the dashboard, and serving the simulator in the foreground.

Textual and the simulator are imported inside the functions that need them,
so the rest of the command line never pays for them.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from chamelaion_tui.api import visible
from chamelaion_tui.cli.parser import UsageError


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    """Everything the dashboard needs, resolved from flags, environment, file."""

    base_url: str
    api_key: str | None
    page_size: int
    reference_id: str | None
    demo: bool
    demo_speed: float
    log_file: str | None
    theme: str | None = None
    """A Textual theme name; the dashboard says so if it has no such theme."""
    bell: bool = False
    """Ring the terminal bell when a request fails."""
    download_dir: str | None = None
    """Where downloads and exports go; the current directory if None."""
    stuck_after_minutes: float | None = None
    """A ceiling past which any in-flight request is flagged stuck."""
    key_source: str = "CHAMELAION_API_KEY"
    """Where the key came from (an environment variable or a key_command)."""
    renew_key: Callable[[], str] | None = None
    """Runs the key_command again; see ``DashboardOptions.renew_key``."""


def plain_http_warning(base_url: str) -> str | None:
    """A warning for a plain-http base URL that is not on this machine."""
    url = httpx.URL(base_url)
    if url.scheme != "http" or _is_loopback(url.host):
        return None
    return (
        f"warning: {visible(url.host, limit=100)} is reached over plain http; "
        "the API key travels unencrypted"
    )


def _is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost`` or a loopback IP)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _configure_logging(path: str | None) -> None:
    """Log to ``path`` if asked; otherwise keep logging off the terminal."""
    if path is None:
        logging.getLogger().addHandler(logging.NullHandler())
        return
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
        os.chmod(path, 0o600)  # it names URLs and ids: for its owner only
    except OSError as error:
        raise UsageError(f"cannot write the log file: {error.strerror}") from None
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)


def run_dashboard(settings: DashboardSettings) -> int:
    """Open the dashboard on the API, or on a private simulator with --demo."""
    from chamelaion_tui.api import ChamelaionClient
    from chamelaion_tui.tui import ChamelaionApp, DashboardOptions

    _configure_logging(settings.log_file)
    simulator = None
    base_url, key, label = settings.base_url, settings.api_key, None
    wall_clock: Callable[[], datetime] | None = None
    if settings.demo:
        from chamelaion_tui.simulator import SimulatorThread

        simulator = SimulatorThread(time_scale=settings.demo_speed)
        running = simulator.start()
        base_url, key = running.base_url, running.api_key
        label = f"DEMO · simulated API at {running.base_url} · no real jobs"
        # With --demo-speed the simulated clock runs fast; "3 minutes ago"
        # must be read on that clock, not the real one.
        wall_clock = running.world.now
    warning = None if settings.demo else plain_http_warning(base_url)
    if warning:
        print(warning, file=sys.stderr)
    assert key is not None
    try:
        source = "the demo simulator's key" if settings.demo else settings.key_source
        client = ChamelaionClient(base_url, key, key_source=source)
        options = DashboardOptions(
            page_size=settings.page_size,
            reference_id=settings.reference_id,
            demo_label=label,
            theme=settings.theme,
            bell=settings.bell,
            warning=warning,
            renew_key=None if settings.demo else settings.renew_key,
            download_dir=Path(settings.download_dir).expanduser()
            if settings.download_dir
            else None,
            stuck_after=timedelta(minutes=settings.stuck_after_minutes)
            if settings.stuck_after_minutes
            else None,
        )
        ChamelaionApp(client, options, wall_clock=wall_clock).run()
    finally:
        if simulator is not None:
            simulator.stop()
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    """Serve the simulator until Ctrl-C."""
    from chamelaion_tui.simulator import Faults, serve_forever

    try:
        faults = Faults.from_file(args.scenario) if args.scenario else Faults()
    except (OSError, ValueError) as error:
        raise UsageError(f"--scenario {args.scenario}: {error}") from None
    for spec in args.fault:
        try:
            faults.add(*Faults.parse(spec).pending())
        except ValueError as error:
            raise UsageError(f"--fault {spec!r}: {error}") from None
    try:
        serve_forever(
            port=args.port,
            seed=args.seed,
            time_scale=args.speed,
            faults=faults,
            api_key=args.key,
        )
    except OSError as error:
        raise UsageError(
            f"cannot listen on port {args.port}: {error.strerror or error}"
        ) from None
    except ValueError as error:
        raise UsageError(str(error)) from None
    return 0
