"""Saving output videos to disk: one request's, or every completed one of a batch.

Output URLs point at a storage host, not at the API, and are fetched with an
httpx client of their own that carries no credentials at all: never the API
client, never an ``Authorization`` header, so the key cannot reach the storage
host or any host it redirects to (design invariant 6). Redirects are followed,
since storage commonly answers with one, up to :data:`MAX_REDIRECTS`. Only
``http`` and ``https`` URLs are fetched.

Where files go. Each file lands in a folder named after the request's
``reference_id`` inside the folder the caller chose, and is named after the
request's id. Both names come from the API, so both are cleaned by
:func:`safe_name`: any character other than letters, digits, ``-``, ``_`` and
``.`` becomes ``_``, leading dots and dashes and trailing dots go, names that
Windows reserves (``CON``, ``NUL``...) get a ``_`` in front, and the length is
capped. A file name that had to change gets a short hash of the original id,
so two ids that clean to the same text still get different files. The result
is always one plain path segment inside the chosen folder.

Never overwriting. A file is written to ``NAME.part`` and moved to ``NAME``
only when complete, by a hard link that fails rather than replace anything.
If ``NAME`` already exists with the size the server announces (and the same
MD5 when the server sends ``Content-MD5``), it is taken as this very output
and not fetched again; if it differs, the download goes to ``NAME (2).mp4``,
then ``(3)`` and so on, each checked the same way.

Resuming. A ``NAME.part`` left by an interrupted download is continued with a
``Range`` request when the server answers ``206`` for exactly that offset; a
``200`` starts it over. This assumes an output does not change once written,
which holds for per-request output files.

File work is small and local: chunks are written inline, while opening,
syncing, hashing and renaming run in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import filecmp
import hashlib
import os
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import httpx

from chamelaion_tui.api.errors import ApiError
from chamelaion_tui.api.models import LipsyncRequest, Status
from chamelaion_tui.api.text import visible

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv"})
"""Extensions kept from an output URL's path; any other becomes ``.mp4``."""

DEFAULT_SUFFIX = ".mp4"
"""The extension of a file whose URL does not end in a known video one."""

NO_REFERENCE = "no-reference"
"""The folder of outputs whose request has no ``reference_id``."""

MAX_NAME_BYTES = 120
"""The longest cleaned name, in UTF-8 bytes, leaving room for `` (99)`` and
``.part`` within the 255 bytes most file systems allow."""

MIN_NAME_BYTES = 16
"""The shortest ``max_bytes`` :func:`safe_name` accepts: room for a hash."""

MAX_COPIES = 99
"""The most numbered variants (``NAME (2)`` to ``NAME (99)``) tried for a name."""

MAX_DOWNLOAD_BYTES = 4 * 1024**3
"""The largest output fetched; a server sending more is cut off with an error."""

MAX_REDIRECTS = 5
"""Redirects followed from an output URL before giving up."""

CHUNK_SIZE = 64 * 1024
"""Bytes read at a time when hashing a file on disk.

The network body is written as it arrives, not gathered into chunks of this
size, so a connection that breaks loses nothing already received.
"""

PART_SUFFIX = ".part"
"""Appended to a file's name while it is being written."""

_HASH_LENGTH = 10
"""Hex digits of the hash added to a file name that cleaning changed."""

_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{n}" for n in range(1, 10)}
    | {f"LPT{n}" for n in range(1, 10)}
)
"""Names Windows will not create a file under, whatever the extension."""

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class DownloadError(ApiError):
    """An output could not be saved; the message says why and is safe to show.

    Messages name the storage host and path only: never a query string,
    which may carry the storage's own signature, and never a key, since no
    key is ever sent.
    """

    title = "Download failed"


Outcome = Literal["downloaded", "resumed", "already_present"]
"""How a file came to be on disk: fetched whole, continued, or already there."""

ByteProgress = Callable[[int, int | None], None]
"""Called as a file arrives with (bytes on disk, total bytes if announced)."""


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """Where one output is on disk, and how it got there."""

    request_id: str
    path: Path
    outcome: Outcome
    size: int
    """Bytes of the file on disk."""
    received: int
    """Bytes fetched by this call (0 when the file was already present)."""


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """How far a batch download is, for a progress bar."""

    files_done: int
    files_total: int
    bytes_done: int
    """Bytes on disk of the files finished or in progress in this run."""


@dataclass(frozen=True, slots=True)
class BatchDownload:
    """What a batch download did with every request it was given."""

    results: list[DownloadResult]
    """Outputs on disk, in the order the requests were given."""
    failures: dict[str, DownloadError]
    """Why each output that could not be saved was not, by request id."""
    without_output: list[str]
    """Ids of requests given that are not completed or have no output URL."""


def _cut(text: str, max_bytes: int) -> str:
    """The longest start of ``text`` that fits ``max_bytes`` of UTF-8."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def _clean(text: str, max_bytes: int) -> str:
    """``text`` reduced to a portable file name of at most ``max_bytes``."""
    kept = "".join(
        c if c in _PLAIN or (ord(c) > 127 and c.isalnum()) else "_"
        for c in unicodedata.normalize("NFC", text)
    )
    name = kept.lstrip(".")
    if name.startswith("-"):
        name = "_" + name[1:]
    name = _cut(name, max_bytes).rstrip(".")
    if name.split(".")[0].upper() in _RESERVED:
        name = _cut("_" + name, max_bytes).rstrip(".")
    return name


def safe_name(
    text: str, *, fallback: str, unique: bool = False, max_bytes: int = MAX_NAME_BYTES
) -> str:
    """A file or folder name made from untrusted ``text``, never a path.

    The result is never empty, ``.`` or ``..``, holds no separator, control
    or bidi character, and is at most ``max_bytes`` of UTF-8. An empty result
    becomes ``fallback``, which the caller keeps short and plain. With
    ``unique``, a name that cleaning changed ends in ``-`` and a hash of
    ``text``, so different texts keep different names.

    Raises:
        ValueError: ``max_bytes`` is below :data:`MIN_NAME_BYTES`.
    """
    if max_bytes < MIN_NAME_BYTES:
        raise ValueError(f"max_bytes must be at least {MIN_NAME_BYTES}")
    name = _clean(text, max_bytes)
    if unique and name != text:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        short = _clean(text, max_bytes - _HASH_LENGTH - 1) or fallback
        return f"{short}-{digest[:_HASH_LENGTH]}"
    return name or fallback


def batch_folder(folder: Path, reference_id: str | None) -> Path:
    """The folder inside ``folder`` where a batch's outputs are saved."""
    return folder / safe_name(reference_id or "", fallback=NO_REFERENCE)


def output_filename(request: LipsyncRequest) -> str:
    """The file name of a request's output: its cleaned id and an extension.

    The extension is the URL path's when it is a known video one, so a
    ``.webm`` output is not saved as ``.mp4``; anything else gets ``.mp4``.
    """
    suffix = DEFAULT_SUFFIX
    if request.output_url:
        try:
            path = httpx.URL(request.output_url.strip()).path
        except (httpx.InvalidURL, ValueError):
            path = ""
        ending = Path(path.rsplit("/", 1)[-1]).suffix.lower()
        if ending in VIDEO_SUFFIXES:
            suffix = ending
    return safe_name(request.id, fallback="output", unique=True) + suffix


def numbered(path: Path, number: int) -> Path:
    """``path`` itself for 1, else ``stem (number).suffix`` beside it."""
    if number <= 1:
        return path
    return path.with_name(f"{path.stem} ({number}){path.suffix}")


def place_without_overwrite(temporary: Path, wanted: Path) -> Path:
    """Move a finished ``temporary`` file to ``wanted`` or its first free variant.

    A hard link is made and the temporary name removed, so an existing file
    is never replaced, even one that appeared a moment ago. On file systems
    without hard links it falls back to a rename after checking the name is
    free, which leaves a small window in which a file created by another
    program could be replaced. Returns where the file ended up.

    Raises:
        FileExistsError: ``wanted`` and all its numbered variants exist.
        OSError: the file system refused the move.
    """
    for number in range(1, MAX_COPIES + 1):
        target = numbered(wanted, number)
        try:
            os.link(temporary, target)
        except FileExistsError:
            continue
        except OSError:
            if target.exists() or target.is_symlink():
                continue
            os.replace(temporary, target)
            return target
        temporary.unlink()
        return target
    raise FileExistsError(f"{wanted.name} and {MAX_COPIES - 1} numbered copies exist")


def describe_url(url: str) -> str:
    """A URL as it may appear in a message: scheme, host and path only."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError):
        return "an unreadable URL"
    if parsed.scheme not in ("http", "https"):
        return f"a {visible(parsed.scheme, limit=20) or 'relative'} URL"
    port = f":{parsed.port}" if parsed.port else ""
    return visible(f"{parsed.scheme}://{parsed.host}{port}{parsed.path}", limit=200)


def _checked_url(request: LipsyncRequest) -> httpx.URL:
    """The output URL of ``request``, if it is one this module fetches."""
    raw = (request.output_url or "").strip()
    if not raw:
        raise DownloadError(
            f"request {visible(request.short_id)} has no output to download yet"
        )
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError):
        raise DownloadError(
            f"the output URL of request {visible(request.short_id)} is not valid"
        ) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise DownloadError(
            f"refusing to download {describe_url(raw)}: only http and https "
            "URLs are fetched"
        )
    return url


def storage_client(
    *, timeout: float = 30.0, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """A client for storage hosts: no credentials, redirects followed.

    ``Accept-Encoding: identity`` asks for the bytes as stored, so the
    announced length is the length written to disk and ranges line up.
    """
    return httpx.AsyncClient(
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=httpx.Timeout(timeout),
        transport=transport,
        headers={"User-Agent": "chamelaion-tui", "Accept-Encoding": "identity"},
    )


def _refuse_credentials(client: httpx.AsyncClient) -> None:
    """Refuse a client that would send credentials to the storage host."""
    if client.auth is not None or "authorization" in client.headers:
        raise ValueError("the storage client must not carry any credentials")
    if "cookie" in client.headers or len(client.cookies) > 0:
        raise ValueError("the storage client must not carry any cookies")


@dataclass(frozen=True, slots=True)
class _Spot:
    """Where a download goes: copies already there, the free name, its part."""

    existing: tuple[Path, ...]
    target: Path
    part: Path
    offset: int

    @classmethod
    def find(cls, directory: Path, name: str) -> _Spot:
        """Look at ``directory``: which variants of ``name`` exist, which is free."""
        directory.mkdir(parents=True, exist_ok=True)
        existing: list[Path] = []
        for number in range(1, MAX_COPIES + 1):
            candidate = numbered(directory / name, number)
            if candidate.exists() or candidate.is_symlink():
                existing.append(candidate)
                continue
            part = candidate.with_name(candidate.name + PART_SUFFIX)
            if part.is_symlink():
                raise DownloadError(f"{visible(part.name)} is a link; not writing it")
            offset = part.stat().st_size if part.is_file() else 0
            return cls(tuple(existing), candidate, part, offset)
        raise DownloadError(f"{visible(name)} and {MAX_COPIES - 1} copies exist")


@dataclass(frozen=True, slots=True)
class _Body:
    """How to treat a response body: append or start over, and the full size."""

    append: bool
    total: int | None


def _content_length(response: httpx.Response) -> int | None:
    """The announced body length, if it is a plain non-negative number."""
    value = response.headers.get("content-length", "").strip()
    return int(value) if value.isdigit() else None


def _content_range(response: httpx.Response) -> tuple[int, int | None] | None:
    """(first byte, full size or None) from ``Content-Range: bytes a-b/n``."""
    unit, _, rest = response.headers.get("content-range", "").strip().partition(" ")
    span, _, size = rest.partition("/")
    first = span.partition("-")[0]
    if unit.lower() != "bytes" or not first.isdigit():
        return None
    return int(first), int(size) if size.isdigit() else None


def _body_plan(response: httpx.Response, offset: int, where: str) -> _Body | None:
    """Decide how to use a response; None means "ask again from byte 0".

    A body the server compressed although asked not to is decoded by httpx,
    so its announced length (of the compressed bytes) is not used, and a
    compressed range cannot be appended to the bytes on disk.
    """
    code = response.status_code
    encoding = response.headers.get("content-encoding", "").strip().lower()
    encoded = encoding not in ("", "identity")
    if code == 200:
        length = None if encoded else _content_length(response)
        return _Body(append=False, total=length)
    if code == 206:
        span = _content_range(response)
        if span is None or span[0] != offset or encoded:
            return None
        return _Body(append=offset > 0, total=span[1])
    if code == 416 and offset:
        return None
    raise DownloadError(f"the storage host answered {code} for {where}", status=code)


def _content_md5(response: httpx.Response) -> bytes | None:
    """The digest of a ``Content-MD5`` header, if one is present and readable."""
    value = response.headers.get("content-md5")
    if not value:
        return None
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == 16 else None


def _md5_of(path: Path) -> bytes:
    """The MD5 digest of a file's bytes, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.digest()


def _same_as_announced(
    existing: Iterable[Path], size: int, md5: bytes | None
) -> Path | None:
    """The first existing file with the announced size (and MD5, if given)."""
    for path in existing:
        if not path.is_file() or path.stat().st_size != size:
            continue
        if md5 is None or _md5_of(path) == md5:
            return path
    return None


def _same_content(existing: Iterable[Path], part: Path) -> Path | None:
    """The first existing file whose bytes equal the finished ``part``'s."""
    for path in existing:
        if path.is_file() and filecmp.cmp(path, part, shallow=False):
            return path
    return None


def _open_part(part: Path, append: bool) -> BinaryIO:
    """Open the part file to continue it, or to write it from the start."""
    return part.open("ab" if append else "wb")


def _close_part(handle: BinaryIO) -> None:
    """Flush a part file to disk and close it."""
    try:
        handle.flush()
        os.fsync(handle.fileno())
    finally:
        handle.close()


def _disk_error(exc: OSError, name: str) -> DownloadError:
    """A message for a file that could not be written, naming the file only."""
    reason = exc.strerror or type(exc).__name__
    return DownloadError(f"cannot write {visible(name)}: {reason}")


async def _write_body(
    response: httpx.Response,
    spot: _Spot,
    body: _Body,
    max_bytes: int,
    on_progress: ByteProgress | None,
) -> int:
    """Write the response body to the part file; return the bytes received."""
    start = spot.offset if body.append else 0
    received = 0
    too_large = False
    try:
        handle = await asyncio.to_thread(_open_part, spot.part, body.append)
    except OSError as exc:
        raise _disk_error(exc, spot.part.name) from None
    try:
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if start + received > max_bytes:
                too_large = True
                raise DownloadError(
                    f"{visible(spot.target.name)} is larger than the "
                    f"{max_bytes} bytes allowed; stopped"
                )
            handle.write(chunk)
            if on_progress is not None:
                on_progress(start + received, body.total)
    except OSError as exc:
        raise _disk_error(exc, spot.part.name) from None
    finally:
        await asyncio.to_thread(_close_part, handle)
        if too_large:
            await asyncio.to_thread(spot.part.unlink, missing_ok=True)
    return received


async def _fetch(
    http: httpx.AsyncClient,
    request: LipsyncRequest,
    url: httpx.URL,
    directory: Path,
    *,
    on_progress: ByteProgress | None,
    max_bytes: int,
) -> DownloadResult:
    """Fetch one output into ``directory``, resuming and never overwriting."""
    name = output_filename(request)
    where = describe_url(str(url))
    for attempt in (1, 2):
        spot = await asyncio.to_thread(_Spot.find, directory, name)
        if attempt == 2 and spot.offset:
            await asyncio.to_thread(spot.part.unlink)
            spot = _Spot(spot.existing, spot.target, spot.part, 0)
        headers = {"Range": f"bytes={spot.offset}-"} if spot.offset else {}
        async with http.stream(
            "GET", url, headers=headers, follow_redirects=True
        ) as response:
            body = _body_plan(response, spot.offset, where)
            if body is None:
                continue
            if body.total is not None and body.total > max_bytes:
                raise DownloadError(
                    f"{where} is {body.total} bytes, more than the {max_bytes} allowed"
                )
            if body.total is not None:
                same = await asyncio.to_thread(
                    _same_as_announced,
                    spot.existing,
                    body.total,
                    _content_md5(response),
                )
                if same is not None:
                    return DownloadResult(
                        request.id, same, "already_present", body.total, 0
                    )
            received = await _write_body(response, spot, body, max_bytes, on_progress)
        return await _finish(request, spot, body, received)
    raise DownloadError(f"the storage host did not answer {where} consistently")


async def _finish(
    request: LipsyncRequest, spot: _Spot, body: _Body, received: int
) -> DownloadResult:
    """Check a finished part file and move it to its final name."""
    size = (spot.offset if body.append else 0) + received
    if body.total is not None and size != body.total:
        raise DownloadError(
            f"the download of {visible(spot.target.name)} stopped at {size} of "
            f"{body.total} bytes; download it again to resume"
        )
    if body.total is None:
        same = await asyncio.to_thread(_same_content, spot.existing, spot.part)
        if same is not None:
            await asyncio.to_thread(spot.part.unlink)
            return DownloadResult(request.id, same, "already_present", size, 0)
    try:
        path = await asyncio.to_thread(place_without_overwrite, spot.part, spot.target)
    except OSError as exc:
        raise _disk_error(exc, spot.target.name) from None
    outcome: Outcome = "resumed" if body.append else "downloaded"
    return DownloadResult(request.id, path, outcome, size, received)


async def download_output(
    request: LipsyncRequest,
    folder: Path,
    *,
    client: httpx.AsyncClient | None = None,
    on_progress: ByteProgress | None = None,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
) -> DownloadResult:
    """Save the output video of ``request`` under ``folder``.

    The file goes to :func:`batch_folder` of ``folder`` (created if needed),
    named by :func:`output_filename`. ``client`` is a storage client such as
    :func:`storage_client` returns, shared across downloads; one is made and
    closed for this call if none is given. Never pass the API client's
    transport settings or headers here: a client carrying credentials is
    refused.

    Raises:
        DownloadError: the URL is missing or not http(s), the storage host
            could not be reached or refused, the body was cut short or too
            large, or the file could not be written.
        ValueError: ``client`` carries credentials or cookies.
    """
    url = _checked_url(request)
    if client is not None:
        _refuse_credentials(client)
    http = client if client is not None else storage_client()
    directory = batch_folder(folder, request.reference_id)
    try:
        return await _fetch(
            http, request, url, directory, on_progress=on_progress, max_bytes=max_bytes
        )
    except httpx.HTTPError as exc:
        raise DownloadError(
            f"downloading {describe_url(str(url))} failed ({type(exc).__name__}); "
            "trying again resumes where it stopped"
        ) from None
    except OSError as exc:
        raise _disk_error(exc, directory.name) from None
    finally:
        if client is None:
            await http.aclose()


async def download_outputs(
    requests: Iterable[LipsyncRequest],
    folder: Path,
    *,
    concurrency: int = 3,
    client: httpx.AsyncClient | None = None,
    on_progress: Callable[[BatchProgress], None] | None = None,
) -> BatchDownload:
    """Save every completed output among ``requests`` under ``folder``.

    At most ``concurrency`` files download at once. One failure does not stop
    the others; it is reported in :attr:`BatchDownload.failures`. Requests
    whose files would share a name on a case-insensitive file system are
    fetched one after the other, so two downloads never write the same part
    file. Requests given twice are fetched once.

    Raises:
        ValueError: ``concurrency`` is below 1, or ``client`` carries
            credentials.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    if client is not None:
        _refuse_credentials(client)

    wanted: list[LipsyncRequest] = []
    without: list[str] = []
    seen: set[str] = set()
    for request in requests:
        if request.id in seen:
            continue
        seen.add(request.id)
        if request.status == Status.COMPLETED and request.output_url:
            wanted.append(request)
        else:
            without.append(request.id)

    groups: dict[str, list[LipsyncRequest]] = {}
    for request in wanted:
        where = batch_folder(folder, request.reference_id) / output_filename(request)
        groups.setdefault(str(where).casefold(), []).append(request)
    queue = collections.deque(groups.values())

    results: dict[str, DownloadResult] = {}
    failures: dict[str, DownloadError] = {}
    on_disk: dict[str, int] = {}

    def report() -> None:
        if on_progress is not None:
            done = len(results) + len(failures)
            on_progress(BatchProgress(done, len(wanted), sum(on_disk.values())))

    async def one(http: httpx.AsyncClient, request: LipsyncRequest) -> None:
        def progress(done: int, total: int | None) -> None:
            on_disk[request.id] = done
            report()

        try:
            result = await download_output(
                request, folder, client=http, on_progress=progress
            )
        except DownloadError as exc:
            failures[request.id] = exc
        else:
            results[request.id] = result
            on_disk[request.id] = result.size
        report()

    async def worker(http: httpx.AsyncClient) -> None:
        while queue:
            for request in queue.popleft():
                await one(http, request)

    http = client if client is not None else storage_client()
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(queue))):
                group.create_task(worker(http))
    finally:
        if client is None:
            await http.aclose()
    return BatchDownload(
        results=[results[r.id] for r in wanted if r.id in results],
        failures=failures,
        without_output=without,
    )
