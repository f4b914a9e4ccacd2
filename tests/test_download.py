"""Tests for saving output videos: where files go, and what never happens.

A simulated batch is downloaded from the simulator on loopback, whose output
route records every ``Authorization`` header it sees, to prove the API key
never reaches the storage host. Resuming, redirects and hostile answers are
played by an in-memory storage host behind ``httpx.MockTransport``, since the
simulator's storage does not answer ``Range`` requests.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chamelaion_tui.api import (
    ChamelaionClient,
    DownloadError,
    LipsyncRequest,
    download_output,
    download_outputs,
    storage_client,
)
from chamelaion_tui.api.download import (
    MAX_NAME_BYTES,
    NO_REFERENCE,
    BatchProgress,
    batch_folder,
    numbered,
    output_filename,
    place_without_overwrite,
    safe_name,
)
from chamelaion_tui.batch import load_batch
from chamelaion_tui.simulator import ManualClock, World, run_simulator
from chamelaion_tui.simulator.server import load_sample_video

EPOCH = datetime(2026, 12, 4, 9, 0, 0, tzinfo=UTC)
STORAGE = "https://storage.test"
"""The storage host played by :class:`Storage`; nothing is ever sent there."""

VIDEO = bytes(range(256)) * 40
"""Ten kilobytes standing in for an output video."""


def completed(
    request_id: str = "6f82a2d8-a6d4-4e8a-a0fa-e8b09823a2d8",
    *,
    url: str | None = None,
    reference: str | None = "batch-2026-04",
) -> LipsyncRequest:
    """A completed request whose output lives on the fake storage host."""
    return LipsyncRequest(
        id=request_id,
        status="completed",
        reference_id=reference,
        output_url=url if url is not None else f"{STORAGE}/output/{request_id}.mp4",
    )


class BrokenStream(httpx.AsyncByteStream):
    """A body that sends ``head`` and then loses the connection."""

    def __init__(self, head: bytes) -> None:
        self.head = head

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        raise httpx.ReadError("connection reset")


class Unsized(httpx.AsyncByteStream):
    """A body sent without a ``Content-Length`` (chunked)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body


class Storage:
    """A storage host: serves ``files`` by path, honouring ``Range`` if asked.

    ``answer`` may replace the normal answer for a request; it returns None
    to let the normal one through. Every request received is kept.
    """

    def __init__(self, files: dict[str, bytes], *, ranges: bool = True) -> None:
        self.files = files
        self.ranges = ranges
        self.received: list[httpx.Request] = []
        self.answer: Callable[[httpx.Request], httpx.Response | None] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        if self.answer is not None:
            special = self.answer(request)
            if special is not None:
                return special
        body = self.files.get(request.url.path)
        if body is None:
            return httpx.Response(404)
        wanted = request.headers.get("range", "")
        if self.ranges and wanted.startswith("bytes="):
            first = int(wanted.removeprefix("bytes=").rstrip("-"))
            if first >= len(body):
                return httpx.Response(416)
            span = f"bytes {first}-{len(body) - 1}/{len(body)}"
            return httpx.Response(
                206, content=body[first:], headers={"content-range": span}
            )
        return httpx.Response(200, content=body)

    def client(self) -> httpx.AsyncClient:
        """A storage client whose requests all end up here."""
        return storage_client(transport=httpx.MockTransport(self))


@pytest.fixture
def storage() -> Storage:
    """The fake storage host, holding :data:`VIDEO` for the default request."""
    return Storage({f"/output/{completed().id}.mp4": VIDEO})


def listing(folder: Path) -> list[str]:
    """The names in ``folder``, sorted."""
    return sorted(path.name for path in folder.iterdir())


def resolved(path: Path) -> Path:
    """``path`` made absolute with every link and ``..`` resolved."""
    return path.resolve()


def target(folder: Path, request: LipsyncRequest) -> Path:
    """Where ``request``'s output is expected to be saved."""
    return batch_folder(folder, request.reference_id) / output_filename(request)


# -- the simulator: a real batch, real bytes, no key -------------------------------


async def test_downloads_every_completed_output_of_a_batch(tmp_path: Path) -> None:
    """Each completed job's video lands in the batch folder, byte for byte,
    and the storage route never sees an Authorization header."""
    clock = ManualClock()
    world = World(clock=clock, history=0, arrivals=False, epoch=EPOCH)
    world.add_batch("spring/../promo", 12, queue_wait=1, processing=5, failure_rate=0.3)
    world.add_job(
        "spring/../promo",
        job_id="../../escape",
        queue_wait=1,
        processing=5,
        outcome="completed",
    )
    clock.advance(60)
    progress: list[BatchProgress] = []

    async with run_simulator(world=world) as sim:
        async with ChamelaionClient(sim.base_url, sim.api_key) as client:
            batch = (await load_batch(client, "spring/../promo")).requests
        done = [r for r in batch if r.status == "completed"]
        failed = [r.id for r in batch if r.status == "failed"]
        assert done and failed

        result = await download_outputs(batch, tmp_path, on_progress=progress.append)
        assert sim.stats.authorizations("output") == frozenset({None})
        assert sim.stats.requests("output") == len(done)

        again = await download_outputs(batch, tmp_path)
        assert sim.stats.authorizations("output") == frozenset({None})

    sample = load_sample_video()
    folder = tmp_path / "spring_.._promo"
    assert [r.request_id for r in result.results] == [r.id for r in done]
    assert sorted(result.without_output) == sorted(failed)
    assert result.failures == {}
    for item in result.results:
        assert item.outcome == "downloaded"
        assert item.path.parent == folder
        assert item.path.read_bytes() == sample
    assert listing(tmp_path) == ["spring_.._promo"]
    assert len(listing(folder)) == len(done)
    assert progress[-1] == BatchProgress(len(done), len(done), len(done) * len(sample))

    assert {r.outcome for r in again.results} == {"already_present"}
    assert len(listing(folder)) == len(done)


# -- never overwrite ----------------------------------------------------------


async def test_same_file_is_skipped(tmp_path: Path, storage: Storage) -> None:
    """A file already there with the announced size is not fetched again."""
    request = completed()
    async with storage.client() as client:
        first = await download_output(request, tmp_path, client=client)
        second = await download_output(request, tmp_path, client=client)
    assert (first.outcome, first.received, first.size) == ("downloaded", 10240, 10240)
    assert (second.outcome, second.received) == ("already_present", 0)
    assert second.path == first.path == target(tmp_path, request)
    assert sorted(p.name for p in first.path.parent.iterdir()) == [first.path.name]


async def test_a_different_file_is_never_overwritten(
    tmp_path: Path, storage: Storage
) -> None:
    """Another file under the same name stays; the output goes to "(2)"."""
    request = completed()
    existing = target(tmp_path, request)
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"someone else's video")
    async with storage.client() as client:
        result = await download_output(request, tmp_path, client=client)
    assert existing.read_bytes() == b"someone else's video"
    assert result.path.name == f"{request.id} (2).mp4"
    assert result.path.read_bytes() == VIDEO


async def test_same_size_but_other_md5_is_a_different_file(
    tmp_path: Path, storage: Storage
) -> None:
    """When the server sends Content-MD5, equal sizes are not enough."""
    request = completed()
    digest = base64.b64encode(hashlib.md5(VIDEO).digest()).decode()
    storage.answer = lambda r: httpx.Response(
        200, content=VIDEO, headers={"content-md5": digest}
    )
    existing = target(tmp_path, request)
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"\0" * len(VIDEO))
    async with storage.client() as client:
        other = await download_output(request, tmp_path, client=client)
        same = await download_output(request, tmp_path, client=client)
    assert other.path.name.endswith(" (2).mp4")
    assert (same.outcome, same.path) == ("already_present", other.path)


async def test_unknown_length_compares_the_bytes(
    tmp_path: Path, storage: Storage
) -> None:
    """Without a Content-Length the file is fetched, then compared, then kept
    only if it differs from what is there."""
    request = completed()
    storage.answer = lambda r: httpx.Response(200, stream=Unsized(VIDEO))
    async with storage.client() as client:
        first = await download_output(request, tmp_path, client=client)
        second = await download_output(request, tmp_path, client=client)
        storage.answer = lambda r: httpx.Response(200, stream=Unsized(b"new"))
        third = await download_output(request, tmp_path, client=client)
    assert first.outcome == "downloaded"
    assert (second.outcome, second.path) == ("already_present", first.path)
    assert third.path.name.endswith(" (2).mp4")
    assert third.path.read_bytes() == b"new"
    assert not list(first.path.parent.glob("*.part"))


async def test_a_compressed_body_is_saved_decoded(
    tmp_path: Path, storage: Storage
) -> None:
    """A server compressing anyway: the video is saved as the video, and the
    compressed length is not mistaken for the file's size."""
    storage.answer = lambda r: httpx.Response(
        200, content=gzip.compress(VIDEO), headers={"content-encoding": "gzip"}
    )
    async with storage.client() as client:
        result = await download_output(completed(), tmp_path, client=client)
    assert storage.received[0].headers["accept-encoding"] == "identity"
    assert result.path.read_bytes() == VIDEO


def test_place_without_overwrite_picks_the_next_free_name(tmp_path: Path) -> None:
    """The move never replaces a file; it counts up instead."""
    wanted = tmp_path / "a.csv"
    wanted.write_text("one")
    numbered(wanted, 2).write_text("two")
    temporary = tmp_path / "tmp"
    temporary.write_text("three")
    assert place_without_overwrite(temporary, wanted) == tmp_path / "a (3).csv"
    assert not temporary.exists()
    assert [wanted.read_text(), numbered(wanted, 2).read_text()] == ["one", "two"]


# -- resuming -------------------------------------------------------------------


async def test_resumes_a_part_file_with_a_range_request(
    tmp_path: Path, storage: Storage
) -> None:
    """A .part file is continued from its size when the server answers 206."""
    request = completed()
    final = target(tmp_path, request)
    final.parent.mkdir(parents=True)
    part = final.with_name(final.name + ".part")
    part.write_bytes(VIDEO[:4000])
    seen: list[tuple[int, int | None]] = []
    async with storage.client() as client:
        result = await download_output(
            request, tmp_path, client=client, on_progress=lambda *p: seen.append(p)
        )
    assert storage.received[-1].headers["range"] == "bytes=4000-"
    assert (result.outcome, result.received, result.size) == ("resumed", 6240, 10240)
    assert final.read_bytes() == VIDEO
    assert not part.exists()
    assert seen[-1] == (10240, 10240)
    assert seen[0][0] > 4000


async def test_a_server_ignoring_range_starts_over(tmp_path: Path) -> None:
    """A 200 to a range request replaces the part, never appends to it."""
    request = completed()
    storage = Storage({f"/output/{request.id}.mp4": VIDEO}, ranges=False)
    final = target(tmp_path, request)
    final.parent.mkdir(parents=True)
    final.with_name(final.name + ".part").write_bytes(b"stale bytes")
    async with storage.client() as client:
        result = await download_output(request, tmp_path, client=client)
    assert (result.outcome, result.received) == ("downloaded", len(VIDEO))
    assert final.read_bytes() == VIDEO


async def test_unsatisfiable_range_starts_over(
    tmp_path: Path, storage: Storage
) -> None:
    """A part longer than the file (416) is dropped and fetched again."""
    request = completed()
    final = target(tmp_path, request)
    final.parent.mkdir(parents=True)
    final.with_name(final.name + ".part").write_bytes(b"x" * 20000)
    async with storage.client() as client:
        result = await download_output(request, tmp_path, client=client)
    assert [r.headers.get("range") for r in storage.received] == [
        "bytes=20000-",
        None,
    ]
    assert final.read_bytes() == VIDEO
    assert result.outcome == "downloaded"


async def test_a_broken_connection_leaves_a_part_to_resume(
    tmp_path: Path, storage: Storage
) -> None:
    """Cut off after 3000 bytes: an error, then the next call resumes."""
    request = completed()
    storage.answer = lambda r: (
        httpx.Response(
            200,
            stream=BrokenStream(VIDEO[:3000]),
            headers={"content-length": str(len(VIDEO))},
        )
        if "range" not in r.headers
        else None
    )
    async with storage.client() as client:
        with pytest.raises(DownloadError, match="resumes") as failure:
            await download_output(request, tmp_path, client=client)
        final = target(tmp_path, request)
        assert final.with_name(final.name + ".part").stat().st_size == 3000
        assert not final.exists()
        result = await download_output(request, tmp_path, client=client)
    assert "ReadError" in failure.value.message
    assert (result.outcome, result.received) == ("resumed", len(VIDEO) - 3000)
    assert final.read_bytes() == VIDEO


async def test_a_short_body_is_an_error_not_a_file(
    tmp_path: Path, storage: Storage
) -> None:
    """A 206 that ends early leaves the part for later, not a broken video."""
    request = completed()
    span = f"bytes 0-{len(VIDEO) - 1}/{len(VIDEO)}"
    storage.answer = lambda r: httpx.Response(
        206, content=VIDEO[:100], headers={"content-range": span}
    )
    async with storage.client() as client:
        with pytest.raises(DownloadError, match="stopped at 100 of 10240"):
            await download_output(request, tmp_path, client=client)
    assert not target(tmp_path, request).exists()


async def test_too_large_is_stopped_and_removed(
    tmp_path: Path, storage: Storage
) -> None:
    """A body beyond the limit is refused, announced or not."""
    request = completed()
    async with storage.client() as client:
        with pytest.raises(DownloadError, match="more than the 100 allowed"):
            await download_output(request, tmp_path, client=client, max_bytes=100)
        storage.answer = lambda r: httpx.Response(200, stream=Unsized(VIDEO))
        with pytest.raises(DownloadError, match="larger than"):
            await download_output(request, tmp_path, client=client, max_bytes=100)
    assert list(batch_folder(tmp_path, request.reference_id).iterdir()) == []


# -- what is fetched, and from where -------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "ftp://storage.test/output/a.mp4",
        "data:video/mp4;base64,AAAA",
        "//storage.test/output/a.mp4",
        "/output/a.mp4",
        "http://[::1",
        "https://",
    ],
)
async def test_only_http_urls_are_fetched(
    url: str, tmp_path: Path, storage: Storage
) -> None:
    """Any other scheme, or no host, is refused before anything is sent."""
    async with storage.client() as client:
        with pytest.raises(DownloadError) as refused:
            await download_output(completed(url=url), tmp_path, client=client)
    assert storage.received == []
    assert "/etc/passwd" not in refused.value.message
    assert listing(tmp_path) == []


async def test_no_output_yet(tmp_path: Path, storage: Storage) -> None:
    """A request without an output URL cannot be downloaded."""
    queued = LipsyncRequest(id="a1b2c3d4-0000", status="queued")
    async with storage.client() as client:
        with pytest.raises(DownloadError, match="no output"):
            await download_output(queued, tmp_path, client=client)
        result = await download_outputs([queued], tmp_path, client=client)
    assert result.without_output == [queued.id]
    assert result.results == []


async def test_redirects_are_followed_without_credentials(tmp_path: Path) -> None:
    """Storage may redirect, even to another host; nothing secret follows."""
    request = completed()
    storage = Storage({"/blob/42": VIDEO})
    storage.answer = lambda r: (
        httpx.Response(302, headers={"location": "https://cdn.test/blob/42"})
        if r.url.host == "storage.test"
        else None
    )
    async with storage.client() as client:
        result = await download_output(request, tmp_path, client=client)
    assert result.path.read_bytes() == VIDEO
    assert [r.url.host for r in storage.received] == ["storage.test", "cdn.test"]
    assert all("authorization" not in r.headers for r in storage.received)
    assert all("cookie" not in r.headers for r in storage.received)


async def test_a_redirect_to_another_scheme_is_an_error(tmp_path: Path) -> None:
    """A redirect cannot turn a download into reading a local file."""
    storage = Storage({})
    storage.answer = lambda r: httpx.Response(
        302, headers={"location": "file:///etc/passwd"}
    )
    async with storage.client() as client:
        with pytest.raises(DownloadError, match="failed"):
            await download_output(completed(), tmp_path, client=client)


async def test_a_client_with_credentials_is_refused(tmp_path: Path) -> None:
    """A client that would send a key or cookies to storage is not used."""
    keyed = httpx.AsyncClient(headers={"Authorization": "Bearer sk-test-secret"})
    basic = httpx.AsyncClient(auth=("user", "secret"))
    cookies = httpx.AsyncClient(cookies={"session": "secret"})
    for client in (keyed, basic, cookies):
        async with client:
            with pytest.raises(ValueError, match="must not carry"):
                await download_output(completed(), tmp_path, client=client)
            with pytest.raises(ValueError, match="must not carry"):
                await download_outputs([completed()], tmp_path, client=client)


async def test_errors_name_host_and_path_only(tmp_path: Path, storage: Storage) -> None:
    """A refusal says what failed, without the URL's signature or controls."""
    url = f"{STORAGE}/output/%1B[2Jx.mp4?X-Amz-Signature=s3cr3t"
    storage.answer = lambda r: httpx.Response(403)
    async with storage.client() as client:
        with pytest.raises(DownloadError) as refused:
            await download_output(completed(url=url), tmp_path, client=client)
    assert refused.value.status == 403
    assert "storage.test/output/" in refused.value.message
    assert "s3cr3t" not in refused.value.message
    assert "\x1b" not in refused.value.message
    assert "␛[2Jx.mp4" in refused.value.message


async def test_batch_failures_do_not_stop_the_others(
    tmp_path: Path, storage: Storage
) -> None:
    """One missing output is reported; the rest are saved."""
    good = completed()
    missing = completed("0badc0de-0000", url=f"{STORAGE}/output/nothing.mp4")
    async with storage.client() as client:
        result = await download_outputs(
            [missing, good, good], tmp_path, client=client, concurrency=2
        )
    assert [r.request_id for r in result.results] == [good.id]
    assert list(result.failures) == [missing.id]
    assert result.failures[missing.id].status == 404
    with pytest.raises(ValueError, match="concurrency"):
        await download_outputs([good], tmp_path, concurrency=0)


# -- names and paths ---------------------------------------------------------------


@pytest.mark.parametrize(
    "hostile",
    [
        "../../etc/passwd",
        "..",
        ".",
        "/absolute/path",
        "C:\\Windows\\system32",
        "CON",
        "nul.txt",
        "-rf",
        ".hidden",
        "a\x00b",
        "\x1b[31mred\x1b[0m",
        "\u202eevil\u202c",
        "x" * 1000,
        "é" * 300,
        "trailing. ",
        "",
    ],
)
async def test_hostile_ids_and_references_stay_inside(
    hostile: str, tmp_path: Path, storage: Storage
) -> None:
    """Whatever the id and reference id, the file lands inside the folder."""
    request = completed(hostile or "x", url=f"{STORAGE}/v.mp4", reference=hostile)
    storage.files["/v.mp4"] = VIDEO
    async with storage.client() as client:
        result = await download_output(request, tmp_path, client=client)
    assert resolved(result.path).parent.parent == resolved(tmp_path)
    assert result.path.read_bytes() == VIDEO
    assert len(result.path.name.encode()) <= 255
    assert result.path.parent.name != ".."


def test_names() -> None:
    """Plain ids keep their name; changed ones get a hash; extensions checked."""
    uuid = "6f82a2d8-a6d4-4e8a-a0fa-e8b09823a2d8"
    assert output_filename(completed(uuid)) == f"{uuid}.mp4"
    webm = completed(uuid, url=f"{STORAGE}/o/{uuid}.WEBM?sig=1")
    assert output_filename(webm) == f"{uuid}.webm"
    assert output_filename(completed(uuid, url=f"{STORAGE}/o/run.exe")).endswith(".mp4")
    assert output_filename(completed("a/b")) != output_filename(completed("a_b"))
    assert output_filename(completed("a/b")).startswith("a_b-")
    assert batch_folder(Path("out"), None) == Path("out") / NO_REFERENCE
    assert batch_folder(Path("out"), "") == Path("out") / NO_REFERENCE
    assert batch_folder(Path("out"), "CON") == Path("out") / "_CON"
    assert batch_folder(Path("out"), "..") == Path("out") / NO_REFERENCE
    assert safe_name("批次-1", fallback="x") == "批次-1"
    with pytest.raises(ValueError, match="max_bytes"):
        safe_name("x", fallback="x", max_bytes=4)


@given(text=st.text(), unique=st.booleans())
def test_a_safe_name_is_always_one_segment_inside(text: str, unique: bool) -> None:
    """For any text, the name is one plain, short segment of the folder."""
    name = safe_name(text, fallback="fallback", unique=unique)
    base = os.path.join("downloads", "batch")
    joined = os.path.normpath(os.path.join(base, name))
    assert os.path.dirname(joined) == base
    assert name not in ("", ".", "..")
    assert not set(name) & {"/", "\\", "\0", ":"}
    assert all(ch.isprintable() for ch in name)
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert not name.startswith(("-", "."))


@given(request_id=st.text(min_size=1), reference=st.none() | st.text())
def test_output_paths_are_always_inside(request_id: str, reference: str | None) -> None:
    """Folder and file together never leave the chosen folder."""
    request = LipsyncRequest(id=request_id, status="completed", reference_id=reference)
    root = Path("downloads")
    path = batch_folder(root, reference) / output_filename(request)
    assert path.parent.parent == root
    normal = Path(os.path.normpath(path))
    assert normal.parent.parent == root
    assert path.parent.name not in ("", ".", "..")
