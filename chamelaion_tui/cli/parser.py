"""The command line's grammar and its help pages.

One parser serves the dashboard (no command name) and each command. The
options every command shares (``--base-url``, ``--profile``, ``--page-size``)
are added twice: to the top level, with ``None`` defaults, and to each
command, with ``argparse.SUPPRESS`` defaults. argparse copies a command's
values over the top level's, and a suppressed option sets nothing unless it
was given, so such an option works before or after the command's name and,
given twice, the later one wins.

Parse errors raise :class:`UsageError` (one line, exit 2) instead of argparse's
usage dump. Nothing here imports Textual, httpx or the simulator at import
time, so ``--help`` and mistakes answer at once.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from chamelaion_tui import __version__

PROG = "chamelaion-tui"
MAX_PAGE_SIZE = 100
"""The API client's largest page (kept here so that help needs no httpx)."""
DEFAULT_BASE_URL = "https://api.chamelaion.com/api"

COMMANDS = ("list", "get", "watch", "config", "simulate")
DASHBOARD_ONLY = (
    "demo",
    "demo_speed",
    "log_file",
    "download_dir",
    "stuck_after",
    "bell",
    "theme",
)
"""Options that make sense only without a command."""
SHARED = ("base_url", "profile", "page_size")
"""Options that every command but ``simulate`` takes, before or after it."""


class UsageError(Exception):
    """Bad input from the person; the message is shown as one line."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports mistakes as :class:`UsageError`.

    ``epilog_factory`` builds the epilog only when help is shown, for text
    that needs a heavy import (the simulator's fault grammar).
    """

    def __init__(
        self,
        *args: Any,
        epilog_factory: Callable[[], str] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self._epilog_factory = epilog_factory

    def format_help(self) -> str:
        """The help page, with a lazily built epilog."""
        if self._epilog_factory is not None:
            self.epilog = self._epilog_factory()
            self._epilog_factory = None
        return super().format_help()

    def error(self, message: str) -> NoReturn:
        """Raise one line naming the mistake and where help is."""
        raise UsageError(f"{message} (see: {self.prog} --help)")


# -- value types ----------------------------------------------------------------


def page_size(text: str) -> int:
    """argparse type for a page size: a whole number from 1 to 100."""
    value = _whole(text, "a whole number")
    if not 1 <= value <= MAX_PAGE_SIZE:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_PAGE_SIZE}")
    return value


def positive_whole(text: str) -> int:
    """argparse type for a count of rows: a whole number of at least 1."""
    value = _whole(text, "a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def seconds(text: str) -> float:
    """argparse type for a timeout: seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be a number of seconds above 0")
    return value


def speed(text: str) -> float:
    """argparse type for a speed factor: above 0, at most 1000."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError("must be above 0 and at most 1000")
    return value


def minutes(text: str) -> float:
    """argparse type for a number of minutes above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of minutes: {text!r}") from None
    if not 0 < value <= 60 * 24 * 365:
        raise argparse.ArgumentTypeError("must be above 0 and at most a year")
    return value


def port(text: str) -> int:
    """argparse type for a TCP port (0 picks a free one)."""
    value = _whole(text, "a port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be from 0 to 65535")
    return value


def _whole(text: str, what: str) -> int:
    """``text`` as an int, or an argparse error naming ``what`` was wanted."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None


def _indent(text: str) -> str:
    """Indent each line of ``text`` by two spaces, for help sections."""
    return "".join(
        f"  {line}" if line.strip() else line for line in text.splitlines(True)
    )


# -- help text ------------------------------------------------------------------

ENVIRONMENT = f"""\
environment:
  CHAMELAION_API_KEY    the API key, sent only to the base URL's origin
  CHAMELAION_BASE_URL   the API root (default {DEFAULT_BASE_URL})
  CHAMELAION_PAGE_SIZE  requests per page, 1-100
  CHAMELAION_PROFILE    the profile to use when --profile is not given
  CHAMELAION_CONFIG     read this config file instead of the default one
  NO_COLOR              set to anything: no colour in any output
"""

SETTINGS_ORDER = """\
Each setting comes from the first of: a flag, the environment, the chosen
profile, the top of the config file, the built-in default.
"""

SEE_CONFIG_HELP = f"See '{PROG} config --help' for the file's format.\n"

EXIT_STATUS = """\
exit status:
  0  done (watch: every request completed)
  1  a watched request failed, or the API could not answer
  2  a usage mistake, a refused or missing key, an unknown id
  3  watch: the timeout passed first
"""

MAIN_DESCRIPTION = """\
A terminal dashboard for Chamelaion lip-sync requests: a page of requests, a
detail pane, a reference_id filter, and a background refresher that polls
in-flight jobs with backoff. Without a command it opens the dashboard; the
commands below do the same work headless, for scripts and CI jobs.
"""

MAIN_EPILOG = f"""\
examples:
  {PROG} --demo
      try the dashboard on the built-in simulator
  {PROG} --reference-id batch-7
      open the dashboard on your account, filtered to one batch
  {PROG} watch --reference-id batch-7 --timeout 1800
      wait for a batch in a script: exit 0, 1, 2 or 3
  {PROG} list --all --json | jq -s length
      count your whole history
  {PROG} --profile staging list
      the newest requests of another account
  {PROG} simulate --port 8080
      run the simulator alone, to develop scripts offline

--base-url, --profile and --page-size work with every command but simulate,
before or after the command's name. '{PROG} COMMAND --help' explains
each command.

dashboard keys: arrows or j/k move, / filter, Esc clear filter, n/p next and
previous page, r refresh now, q quit.

{ENVIRONMENT}
settings:
{_indent(SETTINGS_ORDER + SEE_CONFIG_HELP)}
{EXIT_STATUS}"""


LIST_DESCRIPTION = """\
Print requests as a table, newest first, or as JSON lines with --json (one
object per request, every field, absent fields null). --all reads every page
and prints each as it arrives, so a history of any size streams through in
constant memory.
"""

LIST_EPILOG = f"""\
examples:
  {PROG} list                               the newest page
  {PROG} list --reference-id batch-7        one batch
  {PROG} list --limit 250                   the newest 250
  {PROG} list --all --json | jq -s length   how many requests you have
  {PROG} list --all --json | jq -r 'select(.status == "failed") | .id'

Text from the API is printed with control characters made visible; JSON is
pure ASCII, with anything else as \\u escapes.

{EXIT_STATUS}"""

GET_DESCRIPTION = """\
Print every field of one request: its timestamps, how long it queued and
processed, its output URL or error, and any field the API added. The API
finds it by id or, failing that, as the newest request with that reference_id.
"""

GET_EPILOG = f"""\
examples:
  {PROG} get 6f82a2d8-a6d4-4e8a-a0fa-e8b09823a2d8
  {PROG} get my-reference --json | jq -r .output_url

{EXIT_STATUS}"""

WATCH_DESCRIPTION = """\
Wait until the given requests, or every request of one batch, have finished,
and exit with a status a CI pipeline can trust. It uses the dashboard's
refresher: each in-flight request is re-read after 2 s, then 1.5 times longer
each time up to 15 s (back to 2 s when its status changes); a batch page is
refreshed with one list call; a 429 waits for its Retry-After; outages back
off and are reported on stderr. A batch that has already finished returns at
once.

On a terminal, one line is redrawn in place with the counts, and each request
that finishes gets a line above it. Piped, each status change is one line:
time, status, id, reference_id, and the output URL or error when final. With
--json, each change is a JSON object (event "status": id, reference_id,
status, previous, at, and output_url or error_message), and a last object
(event "summary") gives the outcome, exit status and counts.

A batch is re-read as one page of its newest 100 requests. A larger batch is
read through once at the start; its older requests still in flight are then
followed one by one by id. Requests that join the batch while it is watched
are watched too.
"""

WATCH_EPILOG = f"""\
examples:
  {PROG} watch 6f82a2d8-a6d4-4e8a-a0fa-e8b09823a2d8
  {PROG} watch --reference-id batch-7 --timeout 1800
  {PROG} watch --reference-id batch-7 --json \\
      | jq -c 'select(.status == "failed")'
  if {PROG} watch --reference-id "$BATCH"; then publish "$BATCH"; fi

exit status:
  0  every watched request completed
  1  at least one failed (or ended in another final status, or vanished)
  2  a usage mistake, a refused or missing key, an unknown id, an empty batch
  3  the timeout passed first (counted from the start)
"""

CONFIG_DESCRIPTION = """\
Print the settings every command would use, each with where it came from
(a flag, the environment, a profile, the config file, or the default). The
key is masked; a key_command is run to show which key it gives.
"""

CONFIG_EPILOG = f"""\
the config file:
  TOML, read from $CHAMELAION_CONFIG if set, else from config.toml in your
  user config directory (this command prints which). The tool only reads it.
  Top-level keys are defaults; a [profiles.NAME] table overrides them when
  chosen with --profile NAME or CHAMELAION_PROFILE=NAME:

    base_url = "https://api.chamelaion.com/api"
    page_size = 50
    theme = "nord"        # a Textual theme for the dashboard
    bell = true           # ring the terminal bell when a request fails
    key_command = "pass show chamelaion/production"

    [profiles.staging]
    base_url = "https://staging.example.com/api"
    key_command = "op read op://work/chamelaion-staging/credential"

  key_command is run without a shell; the first line it prints is the key.
  The tool never stores a key: an api_key written in the file is ignored with
  a warning (use key_command or CHAMELAION_API_KEY, which wins over it). A
  file others can read that holds a key_command gets a warning. Unknown keys
  are named in a warning; a value of the wrong type is an error (exit 2).

{SETTINGS_ORDER}
examples:
  {PROG} config
  {PROG} --profile staging config
"""

SIMULATE_DESCRIPTION = """\
Run the built-in Chamelaion API simulator on loopback until Ctrl-C. It prints
its base URL and a key to use with it.
"""


def _simulate_epilog() -> str:
    """Examples and the fault grammar, as the simulator's fault module has it."""
    from chamelaion_tui.simulator import faults

    doc = faults.__doc__ or ""
    start = doc.find("Text form")
    grammar = doc[start:] if start >= 0 else doc
    return (
        f"examples:\n  {PROG} simulate --port 8080 --speed 10\n"
        f"  {PROG} simulate --fault status=503:count=3\n"
        "      the next three calls fail\n\n" + grammar
    )


# -- the parser -------------------------------------------------------------------


def _add_shared(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Add the options every command takes; suppressed copies go on commands."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--base-url",
        metavar="URL",
        default=default,
        help="API root (default: $CHAMELAION_BASE_URL, then the profile, then "
        f"{DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=default,
        help="use the [profiles.NAME] table of the config file "
        "(default: $CHAMELAION_PROFILE)",
    )
    parser.add_argument(
        "--page-size",
        type=page_size,
        metavar="N",
        default=default,
        help=f"requests per page, 1-{MAX_PAGE_SIZE} (default 20)",
    )


def _add_json(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--json``."""
    parser.add_argument("--json", action="store_true", help=what)


def build_parser() -> Parser:
    """The whole command line: dashboard options and every command."""
    parser = Parser(
        prog=PROG,
        usage=f"{PROG} [OPTIONS] [COMMAND [COMMAND OPTIONS]]",
        description=MAIN_DESCRIPTION,
        epilog=MAIN_EPILOG,
    )
    _add_shared(parser, suppress=False)
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run on the built-in simulator on a free loopback port; no key needed",
    )
    parser.add_argument(
        "--demo-speed",
        type=speed,
        metavar="X",
        help="with --demo, run the simulated jobs X times faster (default 1)",
    )
    parser.add_argument(
        "--reference-id", metavar="REF", help="start filtered to this reference_id"
    )
    parser.add_argument(
        "--log-file",
        metavar="PATH",
        help="write a debug log here (never holds the key; off by default)",
    )
    parser.add_argument(
        "--bell",
        action="store_const",
        const=True,
        help="ring the terminal bell when a request fails (config: bell = true)",
    )
    parser.add_argument(
        "--theme",
        metavar="NAME",
        help='a Textual colour theme, such as "nord" (config: theme = "...")',
    )
    parser.add_argument(
        "--download-dir",
        metavar="DIR",
        help="where d, D and e save files, in a folder per reference_id "
        "(default: the current directory)",
    )
    parser.add_argument(
        "--stuck-after",
        type=minutes,
        metavar="MIN",
        help="flag any request queued or processing longer than MIN minutes as "
        "stuck (requests far slower than the rest of their batch are flagged "
        "anyway)",
    )
    parser.add_argument("--version", action="version", version=__version__)

    commands = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        title="commands",
        parser_class=Parser,
        prog=PROG,
    )
    _add_list(commands)
    _add_get(commands)
    _add_watch(commands)
    _add_config(commands)
    _add_simulate(commands)
    return parser


Commands = Any
"""argparse's private ``_SubParsersAction``, which has no public type."""


def _add_list(commands: Commands) -> None:
    """``list``."""
    sub = commands.add_parser(
        "list",
        help="print requests as a table or JSON lines",
        description=LIST_DESCRIPTION,
        epilog=LIST_EPILOG,
    )
    _add_shared(sub, suppress=True)
    sub.add_argument(
        "--reference-id",
        metavar="REF",
        default=argparse.SUPPRESS,
        help="only the requests of this batch (exact match)",
    )
    group = sub.add_mutually_exclusive_group()
    group.add_argument(
        "--limit",
        type=positive_whole,
        metavar="N",
        help="print the newest N requests (default: the page size)",
    )
    group.add_argument(
        "--all",
        action="store_true",
        dest="every",
        help="print every request, reading page after page",
    )
    _add_json(sub, "one JSON object per line instead of a table")


def _add_get(commands: Commands) -> None:
    """``get``."""
    sub = commands.add_parser(
        "get",
        help="print every field of one request",
        description=GET_DESCRIPTION,
        epilog=GET_EPILOG,
    )
    _add_shared(sub, suppress=True)
    sub.add_argument(
        "id_or_reference", metavar="ID_OR_REF", help="an id or reference_id"
    )
    _add_json(sub, "print the request as one JSON object")


def _add_watch(commands: Commands) -> None:
    """``watch``."""
    sub = commands.add_parser(
        "watch",
        help="wait for requests or a batch to finish; exit 0, 1, 2 or 3",
        description=WATCH_DESCRIPTION,
        epilog=WATCH_EPILOG,
    )
    _add_shared(sub, suppress=True)
    sub.add_argument("ids", nargs="*", metavar="ID", help="request ids to watch")
    sub.add_argument(
        "--reference-id",
        metavar="REF",
        default=argparse.SUPPRESS,
        help="watch every request of this batch instead of ids",
    )
    sub.add_argument(
        "--timeout",
        type=seconds,
        metavar="S",
        help="give up after S seconds with exit status 3 (default: wait on)",
    )
    _add_json(sub, "JSON lines: one object per status change, then a summary")


def _add_config(commands: Commands) -> None:
    """``config``."""
    sub = commands.add_parser(
        "config",
        help="print the effective settings and where each came from",
        description=CONFIG_DESCRIPTION,
        epilog=CONFIG_EPILOG,
    )
    _add_shared(sub, suppress=True)


def _add_simulate(commands: Commands) -> None:
    """``simulate``: its own options only; it talks to no API."""
    sub = commands.add_parser(
        "simulate",
        help="run the API simulator on loopback, for scripts and trials",
        description=SIMULATE_DESCRIPTION,
        epilog_factory=_simulate_epilog,
    )
    sub.add_argument(
        "--port", type=port, default=8080, help="port (default 8080; 0 = any)"
    )
    sub.add_argument(
        "--seed", type=int, default=0, help="seed for the simulated history"
    )
    sub.add_argument(
        "--speed",
        type=speed,
        default=1.0,
        metavar="X",
        help="run job lifecycles X times faster than real time (default 1); "
        "timestamps follow the simulated clock, so above 1 they run ahead of "
        "yours",
    )
    sub.add_argument(
        "--key",
        metavar="KEY",
        help="the key to accept (default: a new random one each start; give "
        "one to restart the simulator without restarting its clients)",
    )
    sub.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault, such as status=503:count=3 (repeatable; the "
        "grammar is below)",
    )
    sub.add_argument(
        "--scenario",
        metavar="FILE",
        help="a JSON file of timed fault rules (format below)",
    )


def parse(arguments: Sequence[str]) -> argparse.Namespace:
    """Parse a command line and check which options go with which command.

    Raises:
        UsageError: a mistake in the command line.
        SystemExit: after printing ``--help`` or ``--version``.
    """
    args = build_parser().parse_args(list(arguments))
    args.reference_id = (args.reference_id or "").strip() or None
    command = args.command
    if command is None:
        return args
    for name in DASHBOARD_ONLY:
        if getattr(args, name) not in (None, False):
            raise _mistake(f"{_option(name)} is for the dashboard, not for '{command}'")
    if command in ("get", "config", "simulate") and args.reference_id is not None:
        raise _mistake(f"--reference-id does not apply to '{command}'", command)
    if command == "simulate":
        for name in SHARED:
            if getattr(args, name) is not None:
                raise _mistake(f"{_option(name)} does not apply to 'simulate'", command)
    if command == "watch" and bool(args.ids) == (args.reference_id is not None):
        raise _mistake(
            "watch needs request ids or --reference-id REF, one of the two", command
        )
    return args


def _option(dest: str) -> str:
    """The flag for an argparse destination: ``demo_speed`` is --demo-speed."""
    return "--" + dest.replace("_", "-")


def _mistake(message: str, command: str | None = None) -> UsageError:
    """A UsageError that ends by saying where help is."""
    where = f"{PROG} {command}" if command else PROG
    return UsageError(f"{message} (see: {where} --help)")
