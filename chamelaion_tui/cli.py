"""Command-line entry points: the dashboard (on the API or ``--demo``) and
``simulate``, which runs the built-in simulator on its own.

Settings come from flags first, then the environment (``CHAMELAION_API_KEY``,
``CHAMELAION_BASE_URL``), then defaults. Usage errors exit with status 2 and
one line on stderr; no code path shows a traceback to the person.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from chamelaion_tui import __version__
from chamelaion_tui.api import DEFAULT_BASE_URL, MAX_PAGE_SIZE, visible

PROG = "chamelaion-tui"
KEY_VARIABLE = "CHAMELAION_API_KEY"
BASE_URL_VARIABLE = "CHAMELAION_BASE_URL"

DASHBOARD_EPILOG = f"""\
examples:
  {PROG} --demo                   try it on the built-in simulator
  {PROG}                          watch your requests ({KEY_VARIABLE} must be set)
  {PROG} --reference-id batch-7   start filtered to one batch
  {PROG} simulate --port 8080     run the simulator alone, for scripts

keys: arrows or j/k move, / filter, Esc clear filter, n/p next/previous page,
r refresh now, q quit.

environment:
  {KEY_VARIABLE}    the API key, sent only to the base URL's origin
  {BASE_URL_VARIABLE}   the API root (default {DEFAULT_BASE_URL})
"""


class UsageError(Exception):
    """Bad input from the person; the message is shown as one line."""


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    """Everything the dashboard needs, resolved from flags and environment."""

    base_url: str
    api_key: str | None
    page_size: int
    reference_id: str | None
    demo: bool
    demo_speed: float
    log_file: str | None


def _page_size(text: str) -> int:
    """argparse type for ``--page-size``: an integer from 1 to the API's max."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_PAGE_SIZE:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_PAGE_SIZE}")
    return value


def _positive_float(text: str) -> float:
    """argparse type for a speed factor: a number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError("must be above 0 and at most 1000")
    return value


def _port(text: str) -> int:
    """argparse type for a TCP port (0 picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be from 0 to 65535")
    return value


def dashboard_parser() -> argparse.ArgumentParser:
    """The parser for the dashboard command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A terminal dashboard for Chamelaion lip-sync requests: a "
        "page of requests, a detail pane, a reference_id filter, and a "
        "background refresher that polls in-flight jobs with backoff.",
        epilog=DASHBOARD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run on the built-in simulator on a free loopback port; no key needed",
    )
    parser.add_argument(
        "--demo-speed",
        type=_positive_float,
        default=1.0,
        metavar="X",
        help="with --demo, run the simulated jobs X times faster (default 1)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help=f"API root (default: ${BASE_URL_VARIABLE}, else {DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--page-size",
        type=_page_size,
        default=20,
        metavar="N",
        help=f"requests per page, 1-{MAX_PAGE_SIZE} (default 20)",
    )
    parser.add_argument(
        "--reference-id", metavar="REF", help="start filtered to this reference_id"
    )
    parser.add_argument(
        "--log-file",
        metavar="PATH",
        help="write a debug log here (never holds the key; off by default)",
    )
    parser.add_argument("--version", action="version", version=__version__)
    return parser


def simulate_parser() -> argparse.ArgumentParser:
    """The parser for ``simulate``."""
    parser = argparse.ArgumentParser(
        prog=f"{PROG} simulate",
        description="Run the built-in Chamelaion API simulator on loopback until "
        "Ctrl-C. It prints its base URL and a key to use with it.",
        epilog=f"examples:\n  {PROG} simulate --port 8080 --speed 10\n"
        f"  {PROG} simulate --fault status=503:count=3   (the next three calls "
        "fail)\n\n" + _fault_grammar(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port", type=_port, default=8080, help="port (default 8080; 0 = any)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for the simulated history"
    )
    parser.add_argument(
        "--speed",
        type=_positive_float,
        default=1.0,
        metavar="X",
        help="run job lifecycles X times faster than real time (default 1)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault, such as status=503:count=3 (repeatable; the "
        "grammar is below)",
    )
    parser.add_argument(
        "--scenario",
        metavar="FILE",
        help="a JSON file of timed fault rules (format below)",
    )
    return parser


def _fault_grammar() -> str:
    """The fault grammar, as the simulator's fault module documents it."""
    from chamelaion_tui.simulator import faults

    doc = faults.__doc__ or ""
    start = doc.find("Text form")
    return doc[start:] if start >= 0 else doc


def resolve_settings(
    args: argparse.Namespace, environ: dict[str, str] | os._Environ[str]
) -> DashboardSettings:
    """Combine flags and environment into settings; raise UsageError if bad."""
    base_url = args.base_url or environ.get(BASE_URL_VARIABLE) or DEFAULT_BASE_URL
    key = (environ.get(KEY_VARIABLE) or "").strip() or None
    if not args.demo:
        check_base_url(base_url)
        if key is None:
            raise UsageError(
                f"no API key: set {KEY_VARIABLE} (export {KEY_VARIABLE}=...), "
                "or try the built-in simulator with --demo"
            )
    return DashboardSettings(
        base_url=base_url,
        api_key=key,
        page_size=args.page_size,
        reference_id=(args.reference_id or "").strip() or None,
        demo=args.demo,
        demo_speed=args.demo_speed,
        log_file=args.log_file,
    )


def check_base_url(base_url: str) -> None:
    """Refuse anything but an absolute http(s) URL with a host."""
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError, ValueError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise UsageError(
            f"--base-url must be an http:// or https:// URL, got "
            f"{visible(base_url, limit=100)!r}"
        )


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments[:1] == ["simulate"]:
            return run_simulate(simulate_parser().parse_args(arguments[1:]))
        args = dashboard_parser().parse_args(arguments)
        settings = resolve_settings(args, os.environ)
        return run_dashboard(settings)
    except UsageError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _configure_logging(path: str | None) -> None:
    """Log to ``path`` if asked; otherwise keep logging off the terminal."""
    if path is None:
        logging.getLogger().addHandler(logging.NullHandler())
        return
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
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
    if settings.demo:
        from chamelaion_tui.simulator import SimulatorThread

        simulator = SimulatorThread(time_scale=settings.demo_speed)
        running = simulator.start()
        base_url, key = running.base_url, running.api_key
        label = f"DEMO · simulated API at {running.base_url} · no real jobs"
    else:
        warning = plain_http_warning(base_url)
        if warning:
            print(warning, file=sys.stderr)
    assert key is not None
    try:
        client = ChamelaionClient(base_url, key)
        options = DashboardOptions(
            page_size=settings.page_size,
            reference_id=settings.reference_id,
            demo_label=label,
        )
        ChamelaionApp(client, options).run()
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
            port=args.port, seed=args.seed, time_scale=args.speed, faults=faults
        )
    except OSError as error:
        raise UsageError(
            f"cannot listen on port {args.port}: {error.strerror or error}"
        ) from None
    return 0
