"""Section A: what refreshing costs, against the API page's polling pattern.

Each job mix is played twice on the simulator, each time on a fresh world
built with the same seed and given the same submissions, so both clients see
identical job timings:

* **baseline**: the "Polling pattern" of the API's own page, one asyncio loop
  per submitted job (started when it is submitted): GET it by id, stop when
  it is final, else sleep 2 s, then 1.5 times longer each round up to 15 s,
  for at most 600 s. All its times are divided by the time scale. Every loop
  shares one ``httpx.AsyncClient``.
* **ours**: the dashboard's refresh code with no UI: a :class:`RefreshPolicy`
  on a clock that runs ``time_scale`` times faster than real time, and a
  :class:`Refresher` running as a task on the view the person looks at.

The simulator runs in its own thread (:class:`SimulatorThread`); the client
runs in the main thread, whose CPU time (``time.thread_time``) is the
client's cost. Requests are counted by the simulator itself.
"""

from __future__ import annotations

import asyncio
import math
import textwrap
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

import httpx

from benchmarks.common import (
    FINAL_STATUSES,
    Check,
    emit,
    finished_world,
    fmt,
    percentile,
    progress,
    ratio,
    scripted_world,
    table,
)
from chamelaion_tui.api import ChamelaionClient
from chamelaion_tui.refresh import (
    PageLoaded,
    Refresher,
    RefreshEvent,
    RefreshFailed,
    RefreshPolicy,
    RequestLoaded,
    View,
)
from chamelaion_tui.simulator import RunningSimulator, SimulatorThread, World

Strategy = Literal["baseline", "ours"]
"""Which client plays a mix."""

PAGE_INITIAL_DELAY = 2.0
"""The API page's first sleep between two GETs of one request (seconds)."""
PAGE_DELAY_FACTOR = 1.5
"""How much longer each following sleep is, on the API page."""
PAGE_DELAY_CAP = 15.0
"""The API page's longest sleep."""
PAGE_TIMEOUT = 600.0
"""The API page's ``wait_for_completion`` gives up after this many seconds."""
REQUEST_PATH = "v1/lipsync/requests"
"""The documented path of both endpoints, below the base URL."""

TAIL_MARGIN = 60.0
"""Simulated seconds a run may last beyond the last job's planned end."""


@dataclass(frozen=True, slots=True)
class Mix:
    """One job mix: what is submitted, what the person looks at, how fast.

    A mix with ``idle_minutes`` submits nothing: it is a finished-only
    history watched for that many simulated minutes.
    """

    key: str
    title: str
    jobs: int
    page_size: int
    filtered: bool
    time_scale: float
    queue_wait: tuple[float, float] = (1.0, 20.0)
    processing: tuple[float, float] = (10.0, 45.0)
    seed: int = 7
    idle_minutes: float = 0.0

    @property
    def reference_id(self) -> str:
        """The ``reference_id`` the mix's jobs share."""
        return f"bench-mix-{self.key}"

    @property
    def view(self) -> View:
        """The page the person (and so ``ours``) looks at."""
        reference = self.reference_id if self.filtered else None
        return View(reference_id=reference, offset=0, limit=self.page_size)

    @property
    def time_limit(self) -> float:
        """Longest a run of this mix may take, in real seconds."""
        if self.idle_minutes:
            return self.idle_minutes * 60.0 / self.time_scale
        longest = self.queue_wait[1] + self.processing[1] + TAIL_MARGIN
        return longest / self.time_scale


def standard_mixes(quick: bool) -> list[Mix]:
    """The three mixes of the brief; ``quick`` compresses them further."""
    scale = 20.0 if quick else 10.0
    return [
        Mix(
            key="1",
            title="a batch of 50 jobs finishing over about a minute",
            jobs=50,
            page_size=50,
            filtered=True,
            time_scale=scale,
        ),
        Mix(
            key="2",
            title="jobs in flight across several pages of 20, person on page 1",
            jobs=60 if quick else 200,
            page_size=20,
            filtered=False,
            time_scale=scale,
            queue_wait=(1.0, 30.0),
            processing=(20.0, 90.0),
        ),
        Mix(
            key="3",
            title="nothing in flight for 10 simulated minutes",
            jobs=0,
            page_size=20,
            filtered=False,
            time_scale=200.0 if quick else 60.0,
            idle_minutes=10.0,
        ),
    ]


class Sightings:
    """When the client first held each status of each job (monotonic seconds).

    It also knows which watched jobs the client has not yet seen final, so a
    run can end as soon as the client has caught up with every one of them.
    """

    def __init__(self, watched: Iterable[str]) -> None:
        self.first: dict[str, dict[str, float]] = {}
        self._pending = set(watched)
        self._caught_up = asyncio.Event()
        if not self._pending:
            self._caught_up.set()

    def saw(self, job_id: str, status: str) -> None:
        """Record that the client now holds ``status`` for ``job_id``."""
        seen = self.first.setdefault(job_id, {})
        if status not in seen:
            seen[status] = time.monotonic()
            if status in FINAL_STATUSES and job_id in self._pending:
                self._pending.discard(job_id)
                if not self._pending:
                    self._caught_up.set()

    async def wait_caught_up(self, within: float) -> bool:
        """Wait until every watched job was seen final; False if not ``within``."""
        try:
            await asyncio.wait_for(self._caught_up.wait(), within)
        except TimeoutError:
            return False
        return True


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one client cost and how fresh it kept the watched jobs."""

    strategy: Strategy
    list_requests: int
    get_requests: int
    cpu_seconds: float
    simulated_seconds: float
    followed: int
    """Jobs the client itself polls."""
    staleness: list[float]
    """Simulated seconds from each status change to the client holding it."""
    missed: int
    """Status changes the client had not caught up with when the run ended."""
    failures: int
    """Refresh errors the client met (expected: none)."""

    @property
    def total_requests(self) -> int:
        """List and get requests together."""
        return self.list_requests + self.get_requests


@dataclass(frozen=True, slots=True)
class _ClientRun:
    """What a client coroutine reports back to :func:`play`."""

    cpu_seconds: float
    real_seconds: float
    sightings: Sightings
    failures: int


def play(mix: Mix, strategy: Strategy) -> RunResult:
    """Play ``mix`` on a fresh simulator with one client; measure it.

    Raises:
        httpx.HTTPError: the baseline met an error (its pattern stops there,
            and so does the benchmark, rather than report a partial figure).
    """
    world = (
        finished_world(mix.seed)
        if mix.idle_minutes
        else scripted_world(mix.seed, mix.time_scale)
    )
    with SimulatorThread(world=world) as running:
        ids: list[str] = []
        if mix.jobs:
            ids = world.add_batch(
                mix.reference_id,
                mix.jobs,
                queue_wait=mix.queue_wait,
                processing=mix.processing,
            )
        watched = _watched(world, mix, ids)
        if strategy == "baseline":
            run = asyncio.run(_run_baseline(running, ids, mix.time_scale, watched))
            followed = len(ids)
        else:
            run = asyncio.run(_run_ours(running, mix, watched))
            followed = len(watched)
        list_requests = running.stats.requests("list")
        get_requests = running.stats.requests("get")
    staleness, missed = _staleness(world, run.sightings, watched, mix.time_scale)
    return RunResult(
        strategy=strategy,
        list_requests=list_requests,
        get_requests=get_requests,
        cpu_seconds=run.cpu_seconds,
        simulated_seconds=run.real_seconds * mix.time_scale,
        followed=followed,
        staleness=staleness,
        missed=missed,
        failures=run.failures,
    )


def _watched(world: World, mix: Mix, ids: list[str]) -> list[str]:
    """The submitted jobs on the page the person looks at.

    Read from the world directly, not over HTTP, so it costs no request.
    """
    if not ids:
        return []
    view = mix.view
    page, _total = world.list_jobs(
        limit=view.limit, offset=view.offset, reference_id=view.reference_id
    )
    submitted = set(ids)
    return [job["id"] for job in page if job["id"] in submitted]


async def _poll_until_final(
    http: httpx.AsyncClient, job_id: str, time_scale: float, sightings: Sightings
) -> None:
    """The API page's ``wait_for_completion`` for one job, time-compressed."""
    started = time.monotonic()
    delay = PAGE_INITIAL_DELAY
    while time.monotonic() - started < PAGE_TIMEOUT / time_scale:
        response = await http.get(f"{REQUEST_PATH}/{quote(job_id, safe='')}")
        response.raise_for_status()
        status = str(response.json()["status"])
        sightings.saw(job_id, status)
        if status in FINAL_STATUSES:
            return
        await asyncio.sleep(delay / time_scale)
        delay = min(delay * PAGE_DELAY_FACTOR, PAGE_DELAY_CAP)


async def _run_baseline(
    running: RunningSimulator, ids: list[str], time_scale: float, watched: list[str]
) -> _ClientRun:
    """One polling loop per submitted job, all on one shared client."""
    sightings = Sightings(watched)
    async with httpx.AsyncClient(
        base_url=running.base_url + "/",
        headers={"Authorization": f"Bearer {running.api_key}"},
        timeout=30.0,
    ) as http:
        cpu_started = time.thread_time()
        started = time.monotonic()
        await asyncio.gather(
            *(_poll_until_final(http, i, time_scale, sightings) for i in ids)
        )
        cpu = time.thread_time() - cpu_started
        real = time.monotonic() - started
    return _ClientRun(cpu, real, sightings, failures=0)


async def _run_ours(
    running: RunningSimulator, mix: Mix, watched: list[str]
) -> _ClientRun:
    """The dashboard's policy and refresher, headless, on the mix's view.

    Runs until the client has seen every watched job final (or, with nothing
    to watch, for the mix's whole duration), within the mix's time limit.
    """
    sightings = Sightings(watched)
    failures: list[RefreshFailed] = []
    scale = mix.time_scale

    def clock() -> float:
        return time.monotonic() * scale

    def on_event(event: RefreshEvent) -> None:
        if isinstance(event, PageLoaded):
            for item in event.page.items:
                sightings.saw(item.id, item.status)
        elif isinstance(event, RequestLoaded):
            sightings.saw(event.request.id, event.request.status)
        elif isinstance(event, RefreshFailed):
            failures.append(event)

    policy = RefreshPolicy(clock=clock, view=mix.view)
    async with ChamelaionClient(running.base_url, running.api_key) as client:
        refresher = Refresher(client, policy, on_event, time_scale=scale)
        cpu_started = time.thread_time()
        started = time.monotonic()
        task = asyncio.create_task(refresher.run(), name="benchmark refresher")
        try:
            if watched:
                await sightings.wait_caught_up(mix.time_limit)
            else:
                await asyncio.sleep(mix.time_limit)
        finally:
            task.cancel()
            (outcome,) = await asyncio.gather(task, return_exceptions=True)
        cpu = time.thread_time() - cpu_started
        real = time.monotonic() - started
    if isinstance(outcome, Exception):
        raise outcome
    return _ClientRun(cpu, real, sightings, failures=len(failures))


def _staleness(
    world: World, sightings: Sightings, watched: list[str], time_scale: float
) -> tuple[list[float], int]:
    """Staleness of every status change of the watched jobs after submission.

    For each status a job entered after being submitted (``processing``, then
    ``completed`` or ``failed``), the time from the server's change
    (``World.transitions``) to the client first holding that status or a
    later one; a client that polls too rarely may skip ``processing``
    entirely and is then caught up by the final status. Returns simulated
    seconds, and how many changes were never caught up with.
    """
    values: list[float] = []
    missed = 0
    for job_id in watched:
        entered = world.transitions(job_id)
        seen = sightings.first.get(job_id, {})
        for index in range(1, len(entered)):
            changed_at = entered[index][0]
            held = [seen[status] for _, status in entered[index:] if status in seen]
            if held:
                values.append(max(min(held) - changed_at, 0.0) * time_scale)
            else:
                missed += 1
    return values, missed


def run_section(quick: bool) -> list[Check]:
    """Play every mix with both clients, print the tables, return the targets."""
    emit("=" * 78)
    emit("A. Refresh cost: the dashboard's refresher vs the API page's pattern")
    emit("=" * 78)
    emit(SECTION_INTRO)
    checks: list[Check] = []
    for mix in standard_mixes(quick):
        results: dict[Strategy, RunResult] = {}
        for strategy in ("baseline", "ours"):
            progress(f"A{mix.key}: {mix.title}: playing with {strategy}")
            results[strategy] = play(mix, strategy)
        checks.extend(_report_mix(mix, results["baseline"], results["ours"]))
    return checks


SECTION_INTRO = """\
Each mix is played twice on the simulator (in its own thread, time-compressed),
on fresh worlds with the same seed, so both clients see identical job timings.
  baseline = the API page's "Polling pattern": one loop per submitted job, GET
             by id, sleep 2 s then x1.5 up to 15 s, until final; times divided
             by the time scale; one shared httpx client.
  ours     = the dashboard's RefreshPolicy + Refresher, headless, on the page
             the person looks at (one list call refreshes every due row).
requests   = counted by the simulator, per route (list = page reads, get =
             GETs of one request by id).
staleness  = for each status change after submission (queued->processing,
             processing->completed/failed) of the jobs named below: SIMULATED
             seconds from the server's change to the client first holding that
             status or a later one. p50/p95/max over all such changes.
client CPU = time.thread_time() of the thread running the client's event loop
             (the simulator's thread is not counted), in real seconds.
"""


def _report_mix(mix: Mix, baseline: RunResult, ours: RunResult) -> list[Check]:
    """Print one mix's table and notes; return its targets (mix 1 only)."""
    emit()
    emit(f"A{mix.key}. {mix.title} (time scale x{mix.time_scale:g})")
    emit(_mix_setup(mix))
    rows = [
        _count_row("requests: list", baseline.list_requests, ours.list_requests),
        _count_row("requests: get by id", baseline.get_requests, ours.get_requests),
        _count_row("requests: total", baseline.total_requests, ours.total_requests),
    ]
    if mix.idle_minutes:
        minutes = mix.idle_minutes
        rows.append(
            _value_row(
                "requests per simulated minute",
                baseline.total_requests / minutes,
                ours.total_requests / minutes,
            )
        )
    else:
        rows.append(
            _value_row(
                "requests per job it follows",
                ratio(baseline.total_requests, baseline.followed),
                ratio(ours.total_requests, ours.followed),
            )
        )
        for label, fraction in (("p50", 0.5), ("p95", 0.95), ("max", 1.0)):
            rows.append(
                _value_row(
                    f"staleness {label} (simulated s)",
                    percentile(baseline.staleness, fraction),
                    percentile(ours.staleness, fraction),
                )
            )
        rows.append(
            _count_row(
                "status changes measured", len(baseline.staleness), len(ours.staleness)
            )
        )
        rows.append(
            _count_row("status changes never caught", baseline.missed, ours.missed)
        )
    # With nothing to poll the baseline does not run at all: no ratio.
    comparable = baseline.followed > 0
    rows.append(
        _value_row(
            "client CPU (s, client thread)",
            baseline.cpu_seconds,
            ours.cpu_seconds,
            digits=3,
            comparable=comparable,
        )
    )
    rows.append(
        _value_row(
            "run length (simulated s)",
            baseline.simulated_seconds,
            ours.simulated_seconds,
            digits=0,
            comparable=comparable,
        )
    )
    emit(table(["", "baseline", "ours", "ours/baseline"], rows))
    for note in _mix_notes(mix, baseline, ours):
        emit(textwrap.fill(note, 78, initial_indent="  note: ", subsequent_indent="  "))
    return _mix_checks(mix, baseline, ours)


def _mix_setup(mix: Mix) -> str:
    """Say what was submitted, what the person looks at, whose staleness counts."""
    if mix.idle_minutes:
        lines = [
            "setup: a finished-only history (the simulator's generated history, "
            "every job final); no job is submitted; the person looks at page 1 "
            f"(page size {mix.page_size}), unfiltered."
        ]
    else:
        window = (
            f"queued {mix.queue_wait[0]:g}-{mix.queue_wait[1]:g} s, then "
            f"processing {mix.processing[0]:g}-{mix.processing[1]:g} s (simulated, "
            "drawn per job)"
        )
        if mix.filtered:
            lines = [
                f"setup: {mix.jobs} jobs submitted at once as one batch, {window}; "
                "the person filters by its reference_id with page size "
                f"{mix.page_size}, so the whole batch is on one page.",
                f"staleness: all {mix.jobs} jobs (both clients follow all of them).",
            ]
        else:
            pages = math.ceil(mix.jobs / mix.page_size)
            lines = [
                f"setup: {mix.jobs} jobs submitted at once, {window}; {pages} pages "
                f"of {mix.page_size}, the person on page 1, unfiltered.",
                f"staleness: the {mix.page_size} jobs on page 1 only (the baseline "
                f"follows all {mix.jobs}).",
            ]
    return "\n".join(
        textwrap.fill(line, 78, initial_indent="  ", subsequent_indent="    ")
        for line in lines
    )


def _mix_notes(mix: Mix, baseline: RunResult, ours: RunResult) -> list[str]:
    """What a reader needs to read the figures of this mix fairly."""
    notes = []
    if mix.idle_minutes:
        notes.append(
            "the baseline sends nothing: the API page's pattern only polls jobs "
            "one has just submitted and is waiting on, and there are none."
        )
        notes.append(
            "ours re-reads the visible page on a slow schedule (to show new "
            "submissions and a changed total), one list call each time."
        )
    elif not mix.filtered:
        off_page = mix.jobs - mix.page_size
        notes.append(
            f"the baseline follows all {baseline.followed} jobs it submitted; ours "
            f"follows only the {ours.followed} on the visible page. Ours sends "
            f"nothing for the other {off_page}: they are read (one list call per "
            "page) only when the person pages to them. 'Requests per job it "
            "follows' compares the two per job actually kept fresh."
        )
    failures = baseline.failures + ours.failures
    if failures:
        notes.append(f"{failures} refresh errors happened during the run.")
    if baseline.missed or ours.missed:
        notes.append(
            "a status change 'never caught' was still unseen when the run ended "
            "(time limit reached)."
        )
    return notes


def _mix_checks(mix: Mix, baseline: RunResult, ours: RunResult) -> list[Check]:
    """The brief's targets, for the batch of 50 only."""
    if mix.key != "1":
        return []
    fewer = ratio(baseline.total_requests, ours.total_requests)
    ours_p95 = percentile(ours.staleness, 0.95)
    baseline_p95 = percentile(baseline.staleness, 0.95)
    caught_all = ours.missed == 0
    return [
        Check(
            "A1 batch of 50",
            "ours >= 10x fewer requests than baseline",
            f"{baseline.total_requests} vs {ours.total_requests} = {fmt(fewer, 1)}x",
            not math.isnan(fewer) and fewer >= 10.0,
        ),
        Check(
            "A1 batch of 50",
            "ours' p95 staleness <= baseline's",
            f"{fmt(ours_p95, 1)} s vs {fmt(baseline_p95, 1)} s (simulated)",
            caught_all and ours_p95 <= baseline_p95,
        ),
    ]


def _count_row(label: str, baseline: int, ours: int) -> list[str]:
    """A table row of two counts and their ratio."""
    return [label, f"{baseline:,}", f"{ours:,}", fmt(ratio(ours, baseline), 3)]


def _value_row(
    label: str,
    baseline: float,
    ours: float,
    digits: int = 2,
    *,
    comparable: bool = True,
) -> list[str]:
    """A table row of two measurements and, if ``comparable``, their ratio."""
    shown_ratio = fmt(ratio(ours, baseline), 3) if comparable else "n/a"
    return [label, fmt(baseline, digits), fmt(ours, digits), shown_ratio]
