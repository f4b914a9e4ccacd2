"""Starting and stopping the simulator: in a test's event loop, in a
background thread, or in the foreground until Ctrl-C.

The simulator only ever listens on a loopback address: it is a development
tool with a throwaway key, and must not be reachable from other machines.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType

from aiohttp import web

from chamelaion_tui.simulator.clock import Clock
from chamelaion_tui.simulator.faults import Faults
from chamelaion_tui.simulator.server import ApiService, load_sample_video
from chamelaion_tui.simulator.stats import Stats
from chamelaion_tui.simulator.world import World

DEFAULT_HOST = "127.0.0.1"
"""Where the simulator listens unless told otherwise."""

SHUTDOWN_GRACE = 2.0
"""Seconds given to requests still being answered when the server stops."""


@dataclass(frozen=True)
class RunningSimulator:
    """How to reach a running simulator, and handles on its state."""

    base_url: str
    """What a client uses as its base URL, e.g. ``http://127.0.0.1:54321/api``."""
    origin: str
    """Scheme, host and port, e.g. ``http://127.0.0.1:54321``."""
    redirect_origin: str
    """The second origin that `redirect` faults point at."""
    api_key: str
    """The bearer token the API routes accept."""
    world: World
    faults: Faults
    stats: Stats


def check_loopback(host: str) -> None:
    """Refuse any host that is not a loopback IP address.

    Names are refused too, even "localhost", since what a name resolves to is
    up to the machine's configuration.

    Raises:
        ValueError: if `host` is not a loopback address like 127.0.0.1 or ::1.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"the simulator only listens on a loopback IP address such as "
            f"127.0.0.1, not {host!r}"
        ) from None
    if not address.is_loopback:
        raise ValueError(
            f"the simulator only listens on loopback addresses; {host} is not one"
        )


def new_api_key() -> str:
    """Return a fresh random key of the simulator's own recognizable form."""
    return "sk-sim-" + secrets.token_urlsafe(24)


def _origin(host: str, port: int) -> str:
    """Format an http origin, bracketing IPv6 addresses."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def _listen(
    stack: contextlib.AsyncExitStack, app: web.Application, host: str, port: int
) -> int:
    """Serve `app` on host:port until `stack` closes; return the bound port."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound: int = runner.addresses[0][1]
    return bound


@contextlib.asynccontextmanager
async def run_simulator(
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    api_key: str | None = None,
    seed: int = 0,
    time_scale: float = 1.0,
    clock: Clock = time.monotonic,
    world: World | None = None,
    faults: Faults | None = None,
) -> AsyncIterator[RunningSimulator]:
    """Run the simulator on the current event loop for the `async with` body.

    Args:
        host: a loopback IP address to listen on.
        port: the port, or 0 for any free one.
        api_key: the key to accept; a random ``sk-sim-...`` key if None.
        seed, time_scale, clock: used to build the world when `world` is
            None, and ignored otherwise.
        world: an existing world to serve, e.g. one scripted by a test.
        faults: rules to obey; none if None (rules can be added later).

    Raises:
        ValueError: if `host` is not a loopback address or the key is empty.
        OSError: if the port cannot be bound.
    """
    check_loopback(host)
    if api_key == "":
        raise ValueError("api_key must not be empty")
    key = api_key if api_key is not None else new_api_key()
    if world is None:
        world = World(seed=seed, time_scale=time_scale, clock=clock)
    if faults is None:
        faults = Faults()
    stats = Stats()
    video = load_sample_video()
    closing = asyncio.Event()

    async with contextlib.AsyncExitStack() as stack:
        other = ApiService(
            world=world,
            stats=stats,
            api_key=key,
            video=video,
            closing=closing,
            label="foreign",
        )
        other_port = await _listen(stack, other.application(), host, 0)
        redirect_origin = _origin(host, other_port)

        main = ApiService(
            world=world,
            stats=stats,
            api_key=key,
            video=video,
            closing=closing,
            faults=faults,
            redirect_origin=redirect_origin,
        )
        main_port = await _listen(stack, main.application(), host, port)
        origin = _origin(host, main_port)
        world.output_base = origin
        # Runs first on exit, so answers held back by `delay` faults end now.
        stack.callback(closing.set)

        yield RunningSimulator(
            base_url=origin + "/api",
            origin=origin,
            redirect_origin=redirect_origin,
            api_key=key,
            world=world,
            faults=faults,
            stats=stats,
        )


class SimulatorThread:
    """The simulator on its own event loop in a daemon thread.

    Used where the simulator must not share a loop with its client: the
    `--demo` mode next to the UI, and benchmarks. Usable as a context manager.
    """

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        api_key: str | None = None,
        seed: int = 0,
        time_scale: float = 1.0,
        clock: Clock = time.monotonic,
        world: World | None = None,
        faults: Faults | None = None,
    ) -> None:
        """Prepare a simulator with the options of `run_simulator`.

        Raises:
            ValueError: if `host` is not a loopback address.
        """
        check_loopback(host)
        self._open = functools.partial(
            run_simulator,
            host=host,
            port=port,
            api_key=api_key,
            seed=seed,
            time_scale=time_scale,
            clock=clock,
            world=world,
            faults=faults,
        )
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._running: RunningSimulator | None = None
        self._error: OSError | None = None

    @property
    def running(self) -> RunningSimulator:
        """How to reach the simulator, once `start` has returned."""
        if self._running is None:
            raise RuntimeError("the simulator thread has not been started")
        return self._running

    def start(self, timeout: float = 10.0) -> RunningSimulator:
        """Start serving and return once the server listens.

        Raises:
            OSError: if the port could not be bound.
            RuntimeError: if started twice or not listening within `timeout`.
        """
        if self._thread is not None:
            raise RuntimeError("a SimulatorThread can only be started once")
        self._thread = threading.Thread(
            target=self._run, name="chamelaion-simulator", daemon=True
        )
        self._thread.start()
        self._ready.wait(timeout)
        if self._error is not None:
            self._thread.join(timeout)
            raise self._error
        if self._running is None:
            raise RuntimeError(f"the simulator did not start within {timeout} s")
        return self._running

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down and wait for its thread; safe to call twice."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None or loop is None or stop is None:
            return
        if thread.is_alive():
            loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError(f"the simulator thread did not stop within {timeout} s")

    def __enter__(self) -> RunningSimulator:
        """Start, and hand out how to reach the simulator."""
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop."""
        self.stop()

    def _run(self) -> None:
        """Thread body: run the server's loop until `stop` is called."""
        try:
            asyncio.run(self._serve())
        except OSError as error:
            # Binding failed; `start` re-raises this in the caller's thread.
            self._error = error
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        """Serve until the stop event is set."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self._open() as running:
            self._running = running
            self._ready.set()
            await self._stop.wait()


def serve_forever(
    port: int = 0,
    *,
    host: str = DEFAULT_HOST,
    seed: int = 0,
    time_scale: float = 1.0,
    faults: Faults | None = None,
    print_fn: Callable[[str], object] = print,
    api_key: str | None = None,
) -> None:
    """Run the simulator in the foreground until Ctrl-C.

    For the ``simulate`` command: prints the base URL, the key and a line to
    paste into a shell, then serves. Ctrl-C stops it cleanly, without a
    traceback.

    Raises:
        ValueError: if `host` is not a loopback address.
        OSError: if the port cannot be bound.
    """
    check_loopback(host)
    simulator = run_simulator(
        host=host,
        port=port,
        api_key=api_key,
        seed=seed,
        time_scale=time_scale,
        faults=faults,
    )
    try:
        asyncio.run(_announce_and_serve(simulator, print_fn))
    except KeyboardInterrupt:
        print_fn("Simulator stopped.")


async def _announce_and_serve(
    simulator: contextlib.AbstractAsyncContextManager[RunningSimulator],
    print_fn: Callable[[str], object],
) -> None:
    """Start, say how to connect, and serve until this task is cancelled."""
    async with simulator as running:
        print_fn(f"Chamelaion simulator listening on {running.base_url}")
        print_fn(f"API key: {running.api_key}")
        print_fn(
            f"export CHAMELAION_BASE_URL={running.base_url} "
            f"CHAMELAION_API_KEY={running.api_key}"
        )
        print_fn("Press Ctrl-C to stop.")
        await asyncio.Event().wait()
