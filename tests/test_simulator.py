"""The simulator's world and HTTP server against the documented API contract.

Everything runs on loopback, and simulated time moves only when a test
advances its `ManualClock`.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chamelaion_tui.simulator import (
    MAX_LIMIT,
    ManualClock,
    RunningSimulator,
    SimulatorThread,
    World,
    check_loopback,
    run_simulator,
    serve_forever,
)
from chamelaion_tui.simulator.server import API_PATH, Target, route_of

KEY = "sk-sim-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
LIST = "/v1/lipsync/requests"
EPOCH = datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC)
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
FIELDS = {
    "id",
    "reference_id",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "output_url",
    "error_message",
}
REPO = Path(__file__).resolve().parent.parent


def segment(job_id: str) -> str:
    """Percent-encode an id as one path segment, dots too, so `..` survives."""
    return quote(job_id, safe="").replace(".", "%2E")


def all_jobs(world: World) -> list[dict[str, str]]:
    """Every job of the world, newest first, read page by page."""
    jobs: list[dict[str, str]] = []
    total = 1
    while len(jobs) < total:
        page, total = world.list_jobs(100, len(jobs))
        jobs.extend(page)
    return jobs


@pytest.fixture
def manual_clock() -> ManualClock:
    """The clock of the world under test."""
    return ManualClock()


@pytest.fixture
def world(manual_clock: ManualClock) -> World:
    """A world with the default history, fixed seed and epoch, no arrivals."""
    return World(seed=7, clock=manual_clock, epoch=EPOCH, arrivals=False)


@pytest.fixture
async def sim(world: World) -> AsyncIterator[RunningSimulator]:
    """The simulator serving `world` with a known key."""
    async with run_simulator(world=world, api_key=KEY) as running:
        yield running


@pytest.fixture
async def client(sim: RunningSimulator) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated client of `sim` that ignores proxy settings."""
    async with httpx.AsyncClient(
        base_url=sim.base_url, headers=AUTH, trust_env=False
    ) as http:
        yield http


# -- the world, without HTTP ---------------------------------------------------


def check_fields(job: dict[str, str]) -> None:
    """Assert the documented fields are present exactly when they should be."""
    assert set(job) <= FIELDS
    assert TIMESTAMP.fullmatch(job["created_at"])
    status = job["status"]
    assert ("started_at" in job) == (status != "queued")
    assert ("finished_at" in job) == (status in ("completed", "failed"))
    assert ("output_url" in job) == (status == "completed")
    assert ("error_message" in job) == (status == "failed")
    for name in ("started_at", "finished_at"):
        if name in job:
            assert TIMESTAMP.fullmatch(job[name])
    if "finished_at" in job:
        assert job["created_at"] <= job["started_at"] <= job["finished_at"]


def test_history_is_realistic(world: World) -> None:
    jobs = all_jobs(world)
    assert len(jobs) == 237

    for job in jobs:
        check_fields(job)
    statuses = Counter(job["status"] for job in jobs)
    assert statuses["completed"] > statuses["failed"] > 0
    assert 0 < world.jobs_in_flight() == statuses["queued"] + statuses["processing"]
    batches = Counter(job.get("reference_id") for job in jobs)
    assert max(batches.values()) > 40
    assert batches[None] > 0


def test_order_is_newest_first_then_id(world: World) -> None:
    keys = [(job["created_at"], job["id"]) for job in all_jobs(world)]
    by_id = sorted(keys, key=lambda key: key[1])
    assert keys == sorted(by_id, key=lambda key: key[0], reverse=True)


def test_lifecycle_follows_the_clock(manual_clock: ManualClock) -> None:
    world = World(history=0, arrivals=False, clock=manual_clock, epoch=EPOCH)
    job_id = world.add_job("one", queue_wait=10, processing=30, outcome="completed")

    job = world.get_job(job_id)
    assert job is not None
    assert job["status"] == "queued"
    assert "started_at" not in job

    manual_clock.advance(9.5)
    assert world.get_job(job_id) == job
    manual_clock.advance(0.5)
    job = world.get_job(job_id)
    assert job is not None
    assert job["status"] == "processing"
    assert job["started_at"] == "2026-12-04T10:00:10Z"
    assert "finished_at" not in job

    manual_clock.advance(30)
    job = world.get_job(job_id)
    assert job is not None
    assert job["status"] == "completed"
    assert job["finished_at"] == "2026-12-04T10:00:40Z"
    assert job["output_url"].endswith(f"/output/{job_id}.mp4")
    check_fields(job)


def test_failed_job_carries_its_reason(manual_clock: ManualClock) -> None:
    world = World(history=0, arrivals=False, clock=manual_clock)
    job_id = world.add_job(queue_wait=1, processing=1, error_message="no face detected")
    manual_clock.advance(2)
    job = world.get_job(job_id)
    assert job is not None
    assert job["status"] == "failed"
    assert job["error_message"] == "no face detected"
    assert "reference_id" not in job
    check_fields(job)


def test_time_scale_and_transitions_in_clock_units() -> None:
    clock = ManualClock(100.0)
    world = World(history=0, arrivals=False, clock=clock, time_scale=10)
    job_id = world.add_job(queue_wait=20, processing=50, outcome="failed")
    assert world.transitions(job_id) == [(100.0, "queued")]

    clock.advance(2.5)
    assert world.elapsed() == 25
    assert world.transitions(job_id) == [(100.0, "queued"), (102.0, "processing")]

    clock.advance(5)
    assert world.transitions(job_id) == [
        (100.0, "queued"),
        (102.0, "processing"),
        (107.0, "failed"),
    ]
    with pytest.raises(KeyError):
        world.transitions("no-such-job")


def test_same_seed_same_story() -> None:
    def story(seed: int) -> list[dict[str, str]]:
        clock = ManualClock()
        world = World(seed=seed, clock=clock, epoch=EPOCH)
        clock.advance(300)
        world.add_batch("scripted", 3)
        return all_jobs(world)

    assert story(3) == story(3)
    assert story(3) != story(4)


def test_reads_do_not_change_the_story() -> None:
    often, seldom = ManualClock(), ManualClock()
    busy = World(seed=5, clock=often, epoch=EPOCH)
    quiet = World(seed=5, clock=seldom, epoch=EPOCH)
    for _ in range(60):
        often.advance(10)
        busy.list_jobs(5)
    seldom.advance(600)
    assert all_jobs(busy) == all_jobs(quiet)


def test_demo_shows_movement_in_the_first_minute() -> None:
    for seed in range(5):
        clock = ManualClock()
        world = World(seed=seed, clock=clock, arrivals=False)
        before = {job["id"]: job["status"] for job in all_jobs(world)}
        clock.advance(60)
        after = {job["id"]: job["status"] for job in all_jobs(world)}
        changed = [key for key in before if before[key] != after[key]]
        assert len(changed) >= 3, seed


def test_arrivals_come_over_time(manual_clock: ManualClock) -> None:
    world = World(history=0, clock=manual_clock)
    assert world.job_count() == 0
    manual_clock.advance(1200)
    assert 20 < world.job_count() < 400
    for job in all_jobs(world):
        check_fields(job)

    still = World(history=0, arrivals=False, clock=manual_clock)
    manual_clock.advance(1200)
    assert still.job_count() == 0


def test_memory_is_capped(manual_clock: ManualClock) -> None:
    world = World(history=0, clock=manual_clock, max_jobs=50)
    manual_clock.advance(50_000)
    assert world.job_count() == 50
    newest, total = world.list_jobs(1)
    assert total == 50

    # A month away must not generate every arrival in between.
    manual_clock.advance(30 * 86_400)
    assert world.job_count() == 50
    assert world.list_jobs(1)[0] != newest


def test_cap_keeps_jobs_in_flight(manual_clock: ManualClock) -> None:
    world = World(history=0, arrivals=False, clock=manual_clock, max_jobs=3)
    slow = world.add_job(queue_wait=1000, processing=1)
    for _ in range(3):
        world.add_job(queue_wait=0, processing=1)
        manual_clock.advance(5)
    assert world.job_count() == 3
    assert world.get_job(slow) is not None


def test_get_by_reference_returns_newest(manual_clock: ManualClock) -> None:
    world = World(history=0, arrivals=False, clock=manual_clock)
    world.add_batch("promo", 3)
    manual_clock.advance(5)
    newest = world.add_job("promo")
    job = world.get_job("promo")
    assert job is not None
    assert job["id"] == newest
    assert world.get_job("nothing") is None


def test_scripted_batch(manual_clock: ManualClock) -> None:
    world = World(history=0, arrivals=False, clock=manual_clock)
    ids = world.add_batch(
        "night", 5, queue_wait=(1, 2), processing=(3, 4), failure_rate=1.0
    )
    assert len(set(ids)) == 5
    assert world.jobs_in_flight() == 5
    manual_clock.advance(6)
    assert world.jobs_in_flight() == 0
    jobs, total = world.list_jobs(20, 0, "night")
    assert total == 5
    assert {job["status"] for job in jobs} == {"failed"}
    assert all(job["error_message"] for job in jobs)


@pytest.mark.parametrize(
    "call",
    [
        lambda w: w.add_job(job_id=""),
        lambda w: w.add_job(outcome="completed", error_message="x"),
        lambda w: w.add_job(queue_wait=-1),
        lambda w: w.add_job(processing=(5, 1)),
        lambda w: w.add_job(processing=float("inf")),
        lambda w: w.add_batch("x", 0),
        lambda w: w.add_batch("x", 2, failure_rate=2),
        lambda w: w.list_jobs(0),
        lambda w: w.list_jobs(1, -1),
    ],
)
def test_world_rejects_bad_scripts(call: Any) -> None:
    world = World(history=0, arrivals=False, clock=ManualClock())
    with pytest.raises(ValueError):
        call(world)


def test_world_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        World(time_scale=0)
    with pytest.raises(ValueError):
        World(history=-1)
    with pytest.raises(ValueError):
        World(epoch=datetime(2026, 1, 1))
    world = World(history=0, arrivals=False)
    world.add_job(job_id="taken")
    with pytest.raises(ValueError):
        world.add_job(job_id="taken")
    with pytest.raises(ValueError):
        ManualClock().advance(-1)


def test_world_survives_concurrent_readers(manual_clock: ManualClock) -> None:
    world = World(history=50, clock=manual_clock, max_jobs=100)
    failures: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(200):
                jobs, total = world.list_jobs(20)
                assert len(jobs) == min(20, total)
        except AssertionError as error:
            failures.append(error)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for _ in range(200):
        manual_clock.advance(30)
        world.add_job()
    for reader in readers:
        reader.join()
    assert not failures
    assert world.job_count() == 100


# -- authentication -------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong", f"Token {KEY}", f"Basic {KEY}", KEY, f"Bearer  {KEY}"],
)
async def test_api_routes_need_the_key(
    sim: RunningSimulator, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    async with httpx.AsyncClient(base_url=sim.base_url, trust_env=False) as http:
        for path in (LIST, f"{LIST}/some-id"):
            response = await http.get(path, headers=headers)
            assert response.status_code == 401
            assert response.json() == {"error": "invalid or missing API key"}


async def test_scheme_is_case_insensitive(sim: RunningSimulator) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url, trust_env=False) as http:
        response = await http.get(LIST, headers={"Authorization": f"bearer {KEY}"})
    assert response.status_code == 200


async def test_random_key_by_default() -> None:
    async with run_simulator(world=World(history=0, arrivals=False)) as running:
        assert running.api_key.startswith("sk-sim-")
        assert len(running.api_key) > 20
        assert running.base_url == running.origin + "/api"
        assert running.origin.startswith("http://127.0.0.1:")


# -- listing --------------------------------------------------------------------


async def test_list_pages_through_everything(
    client: httpx.AsyncClient, world: World
) -> None:
    first = (await client.get(LIST)).json()
    assert first["pagination"] == {"limit": 20, "offset": 0, "total": 237}
    assert len(first["data"]) == 20

    seen: list[str] = []
    offset = 0
    while True:
        response = await client.get(LIST, params={"limit": 50, "offset": offset})
        body = response.json()
        assert body["pagination"]["total"] == 237
        seen.extend(job["id"] for job in body["data"])
        if offset + 50 >= body["pagination"]["total"]:
            break
        offset += 50
    assert seen == [job["id"] for job in all_jobs(world)]

    past_end = (await client.get(LIST, params={"offset": 500})).json()
    assert past_end == {
        "data": [],
        "pagination": {"limit": 20, "offset": 500, "total": 237},
    }


async def test_list_output_urls_point_at_the_simulator(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    jobs = (await client.get(LIST, params={"limit": MAX_LIMIT})).json()["data"]
    urls = [job["output_url"] for job in jobs if "output_url" in job]
    assert urls
    assert all(url.startswith(sim.origin + "/output/") for url in urls)


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        f"limit={MAX_LIMIT + 1}",
        "limit=abc",
        "limit=1.5",
        "limit=",
        "limit=-3",
        "limit=%205",
        "limit=1&limit=2",
        "offset=-1",
        "offset=x",
        "offset=99999999999999999999",
        "reference_id=a&reference_id=b",
    ],
)
async def test_bad_queries_get_422(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"{LIST}?{query}")
    assert response.status_code == 422
    assert isinstance(response.json()["error"], str)


async def test_largest_limit_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.get(LIST, params={"limit": MAX_LIMIT})
    assert response.status_code == 200
    assert len(response.json()["data"]) == MAX_LIMIT


async def test_reference_filter_is_exact(
    client: httpx.AsyncClient, world: World
) -> None:
    sizes = Counter(job.get("reference_id") for job in all_jobs(world))
    reference, size = next(
        (ref, n) for ref, n in sizes.most_common() if ref is not None
    )
    assert size > 40

    body = (await client.get(LIST, params={"reference_id": reference})).json()
    assert body["pagination"]["total"] == size
    assert {job["reference_id"] for job in body["data"]} == {reference}

    for near in (reference[:-1], reference.upper(), f" {reference}", f"{reference}%"):
        other = (await client.get(LIST, params={"reference_id": near})).json()
        assert other["pagination"]["total"] == 0
        assert other["data"] == []


async def test_reference_with_odd_characters(
    client: httpx.AsyncClient, world: World
) -> None:
    world.add_batch("a&b=c #1 +?/", 2)
    body = (await client.get(LIST, params={"reference_id": "a&b=c #1 +?/"})).json()
    assert body["pagination"]["total"] == 2


# -- one job --------------------------------------------------------------------


async def test_get_by_id_and_by_reference(
    client: httpx.AsyncClient, world: World
) -> None:
    job = all_jobs(world)[30]
    response = await client.get(f"{LIST}/{job['id']}")
    assert response.status_code == 200
    assert response.json() == job

    ref = world.add_batch("get-me", 2)
    by_reference = (await client.get(f"{LIST}/get-me")).json()
    assert by_reference["id"] == min(ref)  # same created_at: ties go by id


async def test_unknown_job_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{LIST}/no-such-request")
    assert response.status_code == 404
    assert response.json() == {"error": "request not found"}
    assert (await client.get(f"{LIST}/")).status_code == 404


@given(st.text(st.characters(codec="utf-8"), min_size=1))
def test_any_id_survives_the_path(job_id: str) -> None:
    assert route_of(f"{API_PATH}/{segment(job_id)}?limit=1") == Target("get", job_id)


@pytest.mark.parametrize(
    "job_id",
    [
        "a/b",
        "what?x=1",
        "frag#ment",
        "100%",
        "%2F",
        "with space",
        "..",
        ".",
        "a/../b",
        "../../etc",
        "ünï cødé",
        "tab\tand+plus",
    ],
)
async def test_encoded_ids_reach_the_job(
    client: httpx.AsyncClient, world: World, job_id: str
) -> None:
    world.add_job("decoy", job_id=job_id)
    response = await client.get(f"{LIST}/{segment(job_id)}")
    assert response.status_code == 200
    assert response.json()["id"] == job_id


async def test_literal_slash_is_another_path(
    client: httpx.AsyncClient, world: World
) -> None:
    world.add_job(job_id="a/b")
    response = await client.get(f"{LIST}/a/b")
    assert response.status_code == 404


async def test_other_paths_and_methods(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v2/lipsync/requests")).status_code == 404
    assert (await client.get("/")).status_code == 404
    response = await client.post(LIST, json={})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


# -- output files ---------------------------------------------------------------


async def test_output_is_served_without_the_key(
    client: httpx.AsyncClient, sim: RunningSimulator, manual_clock: ManualClock
) -> None:
    job_id = sim.world.add_job(queue_wait=1, processing=1, outcome="completed")
    pending = sim.world.get_job(job_id)
    assert pending is not None
    assert "output_url" not in pending

    async with httpx.AsyncClient(trust_env=False) as storage:
        early = await storage.get(f"{sim.origin}/output/{job_id}.mp4")
        assert early.status_code == 404

        manual_clock.advance(3)
        url = (await client.get(f"{LIST}/{job_id}")).json()["output_url"]
        video = await storage.get(url)

    assert video.status_code == 200
    assert video.headers["Content-Type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"
    assert 1000 < len(video.content) < 20_000
    assert sim.stats.authorizations("output") == {None}


async def test_output_of_unknown_or_failed_job_is_404(
    sim: RunningSimulator, manual_clock: ManualClock
) -> None:
    failed = sim.world.add_job(queue_wait=0, processing=0, outcome="failed")
    manual_clock.advance(1)
    async with httpx.AsyncClient(base_url=sim.origin, trust_env=False) as storage:
        assert (await storage.get("/output/nope.mp4")).status_code == 404
        assert (await storage.get(f"/output/{failed}.mp4")).status_code == 404
        assert (await storage.get(f"/output/{failed}")).status_code == 404


# -- counters -------------------------------------------------------------------


async def test_stats_count_routes_statuses_and_headers(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    await client.get(LIST)
    await client.get(LIST, params={"limit": 0})
    await client.get(f"{LIST}/missing")
    await client.get(f"{LIST}/missing", headers={"Authorization": "Bearer nope"})
    await client.get("/elsewhere")

    stats = sim.stats
    assert stats.requests() == 5
    assert stats.requests("list") == 2
    assert stats.requests("get") == 2
    assert stats.requests("unknown") == 1
    assert stats.responses(200) == 1
    assert stats.responses(422, "list") == 1
    assert stats.responses(404) == 2
    assert stats.responses(401, "get") == 1
    assert stats.authorizations("get") == {f"Bearer {KEY}", "Bearer nope"}
    assert stats.snapshot().requests == {"list": 2, "get": 2, "unknown": 1}

    stats.reset()
    assert stats.requests() == 0


# -- where it may listen ---------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "192.168.1.10", "localhost", "example.com", ""]
)
async def test_only_loopback_hosts(host: str) -> None:
    with pytest.raises(ValueError):
        check_loopback(host)
    with pytest.raises(ValueError):
        async with run_simulator(host=host):
            pytest.fail("the simulator started on a non-loopback host")
    with pytest.raises(ValueError):
        SimulatorThread(host=host)
    with pytest.raises(ValueError):
        serve_forever(host=host)


def test_loopback_hosts_are_allowed() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1"):
        check_loopback(host)


# -- running in a thread or in the foreground ----------------------------------


def test_thread_starts_and_stops() -> None:
    world = World(history=5, arrivals=False)
    thread = SimulatorThread(world=world, api_key=KEY)
    running = thread.start()
    assert running is thread.running
    try:
        with httpx.Client(
            base_url=running.base_url, headers=AUTH, trust_env=False
        ) as http:
            body = http.get(LIST).json()
        assert body["pagination"]["total"] == 5
        assert running.stats.requests("list") == 1

        clash = SimulatorThread(port=int(running.origin.rsplit(":", 1)[1]))
        with pytest.raises(OSError):
            clash.start()
        with pytest.raises(RuntimeError):
            thread.start()
    finally:
        thread.stop()
    thread.stop()
    with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as http:
        http.get(running.base_url + LIST)


def test_thread_as_context_manager() -> None:
    with SimulatorThread(seed=1, time_scale=60) as running:
        with httpx.Client(trust_env=False) as http:
            response = http.get(
                running.base_url + LIST,
                headers={"Authorization": f"Bearer {running.api_key}"},
            )
        assert response.status_code == 200
        assert running.world.time_scale == 60


def pass_lines(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    """Hand each line the process prints to `lines`, until its output ends."""
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)


def test_serve_forever_prints_how_to_connect_and_stops_on_ctrl_c() -> None:
    script = "from chamelaion_tui.simulator import serve_forever; serve_forever(seed=2)"
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-u", "-c", script]
    lines: queue.Queue[str] = queue.Queue()
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    ) as process:
        reader = threading.Thread(target=pass_lines, args=(process, lines), daemon=True)
        reader.start()
        try:
            printed = [lines.get(timeout=15) for _ in range(4)]
            base_url, key = exported_settings(printed[2])
            with httpx.Client(trust_env=False) as http:
                response = http.get(
                    base_url + LIST, headers={"Authorization": f"Bearer {key}"}
                )
            assert response.status_code == 200

            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=15) == 0
            reader.join(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()

    assert printed[0] == f"Chamelaion simulator listening on {base_url}\n"
    assert printed[1] == f"API key: {key}\n"
    assert printed[3] == "Press Ctrl-C to stop.\n"
    assert lines.get_nowait() == "Simulator stopped.\n"


def exported_settings(line: str) -> tuple[str, str]:
    """Read the base URL and key from the printed `export` line."""
    match = re.fullmatch(
        r"export CHAMELAION_BASE_URL=(http://127\.0\.0\.1:\d+/api) "
        r"CHAMELAION_API_KEY=(sk-sim-\S+)\n",
        line,
    )
    assert match is not None, line
    return match[1], match[2]
