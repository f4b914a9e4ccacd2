"""Fault injection: the text and file forms, and every kind over loopback HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from chamelaion_tui.simulator import (
    FaultRule,
    Faults,
    ManualClock,
    RunningSimulator,
    World,
    run_simulator,
)
from chamelaion_tui.simulator.mangle import HOSTILE_TEXTS

KEY = "sk-sim-fault-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
LIST = "/v1/lipsync/requests"
EPOCH = datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def manual_clock() -> ManualClock:
    """The clock of the world under test."""
    return ManualClock()


@pytest.fixture
async def sim(manual_clock: ManualClock) -> AsyncIterator[RunningSimulator]:
    """A simulator over a fixed history, with no faults yet."""
    world = World(seed=11, clock=manual_clock, epoch=EPOCH, arrivals=False)
    async with run_simulator(world=world, api_key=KEY) as running:
        yield running


@pytest.fixture
async def client(sim: RunningSimulator) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated client of `sim` that ignores proxy settings."""
    async with httpx.AsyncClient(
        base_url=sim.base_url, headers=AUTH, trust_env=False
    ) as http:
        yield http


def some_id(sim: RunningSimulator) -> str:
    """The id of the newest job."""
    jobs, _ = sim.world.list_jobs(1)
    return jobs[0]["id"]


# -- the text form ----------------------------------------------------------------


def test_parse_examples() -> None:
    faults = Faults.parse(
        "status=503:count=3, rate_limit=5:count=1,rate_limit=date:count=1,"
        "malformed:count=2,drop:count=1,delay=3:count=1,hostile,"
        "status=502:path=list:start=30:duration=20"
    )
    assert faults.pending() == [
        FaultRule("status", 503, count=3),
        FaultRule("rate_limit", 5, count=1),
        FaultRule("rate_limit", "date", count=1),
        FaultRule("malformed", count=2),
        FaultRule("drop", count=1),
        FaultRule("delay", 3.0, count=1),
        FaultRule("hostile"),
        FaultRule("status", 502, path="list", start=30, duration=20),
    ]


def test_parse_fills_defaults() -> None:
    rules = Faults.parse(
        "rate_limit,total_drift,unknown_status,redirect,rate_limit=none"
    ).pending()
    assert [rule.value for rule in rules] == [1, 5, "archived", 302, "none"]
    assert all(rule.count is None and rule.path == "any" for rule in rules)


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("", "empty fault spec"),
        (" , ", "empty fault spec"),
        ("bogus", "unknown fault kind 'bogus'"),
        ("status", "status needs a whole number"),
        ("status=", "empty value"),
        ("status=200", "400-599"),
        ("status=abc", "whole number"),
        ("rate_limit=-1", "rate_limit needs seconds"),
        ("rate_limit=soon", "whole number"),
        ("malformed=3", "malformed takes no value"),
        ("delay", "delay needs a number of seconds"),
        ("delay=0", "delay must be within"),
        ("delay=nan", "delay needs a number of seconds"),
        ("delay=99999", "delay must be within"),
        ("status=503:count=0", "count must be >= 1"),
        ("status=503:count=x", "count needs a whole number"),
        ("status=503:count", "bad option"),
        ("status=503:often=1", "bad option 'often=1'"),
        ("status=503:count=1:count=2", "given twice"),
        ("status=503:path=both", "path must be list, get or any"),
        ("duplicate:path=get", "only applies to the list route"),
        ("unknown_status=completed", "a status the API does not use"),
        ("unknown_status=Bad Word", "lowercase word"),
        ("total_drift=0", "would change nothing"),
        ("redirect=200", "redirect needs one of"),
        ("hostile:duration=0", "duration must be > 0"),
        ("hostile:start=-5", "start needs a number of seconds"),
    ],
)
def test_parse_errors_say_what_is_wrong(spec: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        Faults.parse(spec)


def test_scenario_file(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(
        json.dumps(
            {
                "faults": [
                    {"kind": "status", "value": 503, "path": "list", "start": 30},
                    {"kind": "rate_limit", "value": "date", "count": 1},
                    {"kind": "delay", "value": 0.5, "duration": 10},
                ]
            }
        )
    )
    assert Faults.from_file(scenario).pending() == [
        FaultRule("status", 503, path="list", start=30),
        FaultRule("rate_limit", "date", count=1),
        FaultRule("delay", 0.5, duration=10),
    ]

    scenario.write_text(json.dumps([{"kind": "hostile"}]))
    assert Faults.from_file(scenario).pending() == [FaultRule("hostile")]


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("{not json", "is not valid JSON"),
        ('{"rules": []}', "a scenario is a list"),
        ('[{"value": 3}]', "rule 0 must be an object with a 'kind'"),
        ('[{"kind": "drop"}, {"kind": "drop", "when": 3}]', "rule 1 has unknown keys"),
        ('[{"kind": "status", "value": 200}]', "rule 0: status needs an error code"),
        ('[{"kind": "drop", "count": "many"}]', "count needs a whole number"),
    ],
)
def test_scenario_file_errors(tmp_path: Path, content: str, complaint: str) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(content)
    with pytest.raises(ValueError, match=re.escape(complaint)):
        Faults.from_file(scenario)


def test_add_and_clear() -> None:
    faults = Faults()
    faults.add("drop:count=1", FaultRule("hostile"), "garbage,malformed")
    assert [rule.kind for rule in faults.pending()] == [
        "drop",
        "hostile",
        "garbage",
        "malformed",
    ]
    faults.clear("hostile")
    assert [rule.kind for rule in faults.pending()] == ["drop", "garbage", "malformed"]
    faults.clear()
    assert faults.pending() == []


def test_take_picks_one_replacing_rule_and_counts_down() -> None:
    faults = Faults.parse(
        "delay=1:count=1,hostile:count=1,status=500:count=1,drop:count=1"
    )
    first = [hit.rule.kind for hit in faults.take("get", 0.0)]
    assert first == ["delay", "status"]
    assert [rule.kind for rule in faults.pending()] == ["hostile", "drop"]
    assert [hit.rule.kind for hit in faults.take("get", 0.0)] == ["drop"]
    assert [hit.rule.kind for hit in faults.take("get", 0.0)] == ["hostile"]
    assert faults.take("get", 0.0) == []


# -- each kind over HTTP ----------------------------------------------------------


async def test_status_faults(client: httpx.AsyncClient, sim: RunningSimulator) -> None:
    sim.faults.add("status=503:count=2")
    for _ in range(2):
        response = await client.get(LIST)
        assert response.status_code == 503
        assert response.headers["Content-Type"].startswith("text/html")
        assert "<h1>503 Service Unavailable</h1>" in response.text
    assert (await client.get(LIST)).status_code == 200

    sim.faults.add("status=401:count=1", "status=403:count=1")
    unauthorized = await client.get(LIST)
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {"error": "invalid or missing API key"}
    forbidden = await client.get(LIST)
    assert forbidden.status_code == 403
    assert isinstance(forbidden.json()["error"], str)
    assert sim.stats.responses(503, "list") == 2


async def test_rate_limit_in_seconds_date_or_none(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    sim.faults.add("rate_limit=5:count=1", "rate_limit=date:count=1")
    sim.faults.add("rate_limit=none:count=1")

    seconds = await client.get(LIST)
    assert seconds.status_code == 429
    assert seconds.headers["Retry-After"] == "5"
    assert seconds.json() == {"error": "rate limit exceeded"}

    dated = await client.get(LIST)
    assert dated.status_code == 429
    retry_at = parsedate_to_datetime(dated.headers["Retry-After"])
    ahead = (retry_at - datetime.now(UTC)).total_seconds()
    assert 3 < ahead <= 7

    bare = await client.get(LIST)
    assert bare.status_code == 429
    assert "Retry-After" not in bare.headers
    assert (await client.get(LIST)).status_code == 200


async def test_malformed_bodies_are_not_json(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    sim.faults.add("malformed:count=6")
    for _ in range(6):
        response = await client.get(f"{LIST}/{some_id(sim)}")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        with pytest.raises(ValueError):
            json.loads(response.content)
    assert (await client.get(LIST)).json()["data"]


async def test_garbage_bodies_have_the_wrong_shape(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    sim.faults.add("garbage:path=list")
    for _ in range(6):
        body = (await client.get(LIST)).json()
        well_formed = (
            isinstance(body, dict)
            and isinstance(body.get("data"), list)
            and isinstance(body.get("pagination"), dict)
            and all(isinstance(job.get("id"), str) for job in body["data"])
            and isinstance(body["pagination"].get("total"), int)
            and body["pagination"]["total"] >= 0
        )
        assert not well_formed, body
    assert (await client.get(f"{LIST}/{some_id(sim)}")).status_code == 200


async def test_duplicate_ids_on_a_page(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    sim.faults.add("duplicate:count=1")
    assert (await client.get(f"{LIST}/{some_id(sim)}")).status_code == 200
    ids = [job["id"] for job in (await client.get(LIST)).json()["data"]]
    assert len(ids) == 20
    assert len(set(ids)) == 19
    assert ids[0] == ids[-1]
    assert sim.faults.pending() == []


async def test_total_drifts_between_pages(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    sim.faults.add("total_drift=3:count=2")
    first = (await client.get(LIST)).json()["pagination"]["total"]
    second = (await client.get(LIST, params={"offset": 20})).json()["pagination"][
        "total"
    ]
    third = (await client.get(LIST, params={"offset": 40})).json()["pagination"][
        "total"
    ]
    assert (first, second) == (third + 3, third + 6)


async def test_unknown_status(client: httpx.AsyncClient, sim: RunningSimulator) -> None:
    sim.faults.add("unknown_status:count=1", "unknown_status=purged:path=get:count=1")
    page = (await client.get(LIST)).json()["data"]
    assert page[0]["status"] == "archived"
    assert {job["status"] for job in page[1:]} <= {
        "queued",
        "processing",
        "completed",
        "failed",
    }
    one = (await client.get(f"{LIST}/{some_id(sim)}")).json()
    assert one["status"] == "purged"


async def test_hostile_text(
    client: httpx.AsyncClient, sim: RunningSimulator, manual_clock: ManualClock
) -> None:
    sim.world.add_batch("failing", 3, queue_wait=0, processing=0, failure_rate=1.0)
    manual_clock.advance(1)
    sim.faults.add("hostile")

    response = await client.get(LIST)
    jobs = response.json()["data"]
    references = {job["reference_id"] for job in jobs}
    assert references == set(HOSTILE_TEXTS)
    messages = [job["error_message"] for job in jobs if job["status"] == "failed"]
    assert len(messages) >= 3
    assert set(messages) <= set(HOSTILE_TEXTS)

    everything = "".join(HOSTILE_TEXTS)
    for needle in ("[bold red]x[/]", "\x1b[31m", "\x1b]52;c;", "\x1b]0;", "\x9b", "\t"):
        assert needle in everything
    assert "\u202e" in everything
    assert "\u5168" in everything
    assert max(len(text) for text in HOSTILE_TEXTS) == 20_000
    # C1 controls travel as raw UTF-8, not as JSON escapes.
    assert "\x9b".encode() in response.content

    one = (await client.get(f"{LIST}/{some_id(sim)}")).json()
    assert one["reference_id"] in HOSTILE_TEXTS


async def test_odd_timestamps(client: httpx.AsyncClient, sim: RunningSimulator) -> None:
    sim.faults.add("odd_timestamps:count=1")
    jobs = (await client.get(LIST, params={"limit": 60})).json()["data"]
    stamps = [
        job[name]
        for job in jobs
        for name in ("created_at", "started_at", "finished_at")
        if isinstance(job.get(name), str)
    ]
    assert any(re.search(r":\d\d\.5Z$", stamp) for stamp in stamps)
    assert any(re.search(r":\d\d\.123456789Z$", stamp) for stamp in stamps)
    assert any(stamp.endswith("+02:00") for stamp in stamps)
    assert any(re.fullmatch(r"[\d\-]+T[\d:]+", stamp) for stamp in stamps)
    assert any(" " in stamp and stamp.endswith("z") for stamp in stamps)
    assert any(None in job.values() for job in jobs)
    assert any(
        isinstance(job.get("finished_at"), str)
        and job["finished_at"] < job["started_at"]
        for job in jobs
    )
    normal = (await client.get(LIST)).json()["data"]
    assert all(job["created_at"].endswith("Z") for job in normal)


async def test_delay_makes_a_client_time_out(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    # The delay is real time by nature: it exists to trip client timeouts.
    sim.faults.add("delay=5:count=1")
    with pytest.raises(httpx.ReadTimeout):
        await client.get(LIST, timeout=0.05)
    assert (await client.get(LIST)).status_code == 200


async def test_delay_then_answer(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    sim.faults.add("delay=0.05:count=1", "unknown_status:count=1")
    response = await client.get(LIST)
    assert response.status_code == 200
    assert response.json()["data"][0]["status"] == "archived"


async def test_drop_closes_without_answer(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    sim.faults.add("drop:count=1")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(LIST)
    assert (await client.get(LIST)).status_code == 200
    assert sim.stats.dropped("list") == 1
    assert sim.stats.responses(route="list") == 1


async def test_redirect_to_another_origin(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    sim.faults.add("redirect:count=2")
    response = await client.get(LIST, params={"limit": 5})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == f"{sim.redirect_origin}/api/v1/lipsync/requests?limit=5"
    assert sim.redirect_origin != sim.origin
    assert sim.redirect_origin.startswith("http://127.0.0.1:")

    # httpx drops the key when a redirect leaves the origin; the other
    # origin sees no key and refuses.
    followed = await client.get(LIST, follow_redirects=True)
    assert followed.status_code == 401
    assert sim.stats.authorizations("foreign") == {None}

    # Sent the key on purpose, the other origin serves the same data.
    async with httpx.AsyncClient(trust_env=False) as leaky:
        served = await leaky.get(location, headers=AUTH)
    assert served.json()["pagination"]["limit"] == 5
    assert f"Bearer {KEY}" in sim.stats.authorizations("foreign")


async def test_path_restricts_a_rule(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    sim.faults.add("status=500:path=get")
    assert (await client.get(LIST)).status_code == 200
    assert (await client.get(f"{LIST}/{some_id(sim)}")).status_code == 500
    assert (await client.get(f"{LIST}/{some_id(sim)}")).status_code == 500
    sim.faults.clear()
    assert (await client.get(f"{LIST}/{some_id(sim)}")).status_code == 200


async def test_rejected_requests_do_not_use_up_faults(
    client: httpx.AsyncClient, sim: RunningSimulator
) -> None:
    sim.faults.add("status=502:count=1")
    async with httpx.AsyncClient(base_url=sim.base_url, trust_env=False) as anonymous:
        assert (await anonymous.get(LIST)).status_code == 401
    assert (await client.get(LIST, params={"limit": 0})).status_code == 422
    async with httpx.AsyncClient(base_url=sim.origin, trust_env=False) as storage:
        assert (await storage.get("/output/missing.mp4")).status_code == 404
    assert (await client.get(LIST)).status_code == 502


async def test_scenario_windows_follow_simulated_time(
    client: httpx.AsyncClient, sim: RunningSimulator, manual_clock: ManualClock
) -> None:
    sim.faults.add(FaultRule("status", 503, start=30, duration=20))
    assert (await client.get(LIST)).status_code == 200
    manual_clock.advance(30)
    assert (await client.get(LIST)).status_code == 503
    manual_clock.advance(19)
    assert (await client.get(LIST)).status_code == 503
    manual_clock.advance(1)
    assert (await client.get(LIST)).status_code == 200
    assert sim.faults.pending() == []


async def test_faults_given_at_start(manual_clock: ManualClock) -> None:
    world = World(history=3, arrivals=False, clock=manual_clock)
    faults = Faults.parse("status=504:count=1")
    async with (
        run_simulator(world=world, faults=faults, api_key=KEY) as running,
        httpx.AsyncClient(
            base_url=running.base_url, headers=AUTH, trust_env=False
        ) as http,
    ):
        assert running.faults is faults
        assert (await http.get(LIST)).status_code == 504
        assert (await http.get(LIST)).status_code == 200
