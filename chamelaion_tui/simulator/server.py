"""The simulator's HTTP side: routes, authentication, answers and faults.

Routes, all GET:

* ``/api/v1/lipsync/requests`` lists jobs. Query: ``limit`` (default 20,
  1 to `MAX_LIMIT`), ``offset`` (default 0, >= 0), ``reference_id`` (exact
  match). A value that is not a plain integer, out of range, or given twice
  gets 422 with ``{"error": ...}``; other parameters are ignored.
* ``/api/v1/lipsync/requests/{id}`` returns one job by id, else the newest
  job with that reference id, else 404 ``{"error": "request not found"}``.
* ``/output/{id}.mp4`` serves a small real video for a completed job, without
  authentication, as the storage host of the real service does.

Both API routes want ``Authorization: Bearer <key>``; anything else gets 401
``{"error": "invalid or missing API key"}``. Other paths get 404 and other
methods 405.

Routing reads the raw request path and decodes the id segment itself, so an
id holding ``/`` (sent as ``%2F``), ``?``, ``#``, ``%`` or spaces reaches the
handler intact whatever the web framework does with encoded slashes, while a
literal ``/`` inside the id position is a different path and gets 404.

Order of checks: route, method, authentication, query, then faults. So a
request rejected with 401 or 422 never uses up a fault rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http import HTTPStatus
from importlib import resources
from typing import Any, Literal
from urllib.parse import unquote

from aiohttp import hdrs, web

from chamelaion_tui.simulator import mangle
from chamelaion_tui.simulator.faults import REPLACING, Faults, Hit, Route
from chamelaion_tui.simulator.stats import Stats
from chamelaion_tui.simulator.world import World

API_PATH = "/api/v1/lipsync/requests"
"""Path of the listing route; one more segment is the one-job route."""

OUTPUT_PATH = "/output/"
"""Prefix of the video files that output URLs point at."""

DEFAULT_LIMIT = 20
"""Page size when the client gives no `limit`, as documented."""

MAX_LIMIT = 100
"""Largest `limit` accepted; the API documents none, so one is chosen here."""

UNAUTHORIZED_MESSAGE = "invalid or missing API key"
"""The error text of every 401."""

RATE_LIMIT_DATE_AHEAD = 5
"""Seconds ahead of now that a `Retry-After` given as an HTTP date points at."""

RouteKind = Literal["list", "get", "output", "unknown"]
"""What a request path asks for."""


@dataclass(frozen=True)
class Target:
    """A request path, understood: which route, and its decoded id if any."""

    kind: RouteKind
    key: str = ""


@dataclass(frozen=True)
class ListQuery:
    """The checked query of a list request."""

    limit: int
    offset: int
    reference_id: str | None


class QueryError(ValueError):
    """A list query the API answers with 422; the message says why."""


def load_sample_video() -> bytes:
    """Return the bytes of the small MP4 served for every completed job.

    It is a real, playable file of about 6 KB: one second of a 96x64 H.264
    test pattern with a 440 Hz AAC tone, made with ffmpeg's built-in test
    sources and stripped of encoder metadata.
    """
    media = resources.files("chamelaion_tui.simulator") / "media" / "sample.mp4"
    return media.read_bytes()


def route_of(raw_path: str) -> Target:
    """Classify a raw (still percent-encoded) request path."""
    path = raw_path.partition("?")[0]
    if path == API_PATH:
        return Target("list")
    if path.startswith(API_PATH + "/"):
        segment = path[len(API_PATH) + 1 :]
        if "/" not in segment:
            return Target("get", unquote(segment))
    elif path.startswith(OUTPUT_PATH):
        name = path[len(OUTPUT_PATH) :]
        if "/" not in name and name.endswith(".mp4"):
            return Target("output", unquote(name.removesuffix(".mp4")))
    return Target("unknown")


def parse_list_query(query: Mapping[str, Sequence[str]]) -> ListQuery:
    """Check the query of a list request, given every value of each parameter.

    Raises:
        QueryError: naming the offending parameter.
    """
    limit = _integer(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _integer(query, "offset", 0, 0, None)
    references = query.get("reference_id", ())
    if len(references) > 1:
        raise QueryError("reference_id may be given only once")
    return ListQuery(limit, offset, references[0] if references else None)


def _integer(
    query: Mapping[str, Sequence[str]],
    name: str,
    default: int,
    low: int,
    high: int | None,
) -> int:
    """Read one integer parameter within [low, high]."""
    values = query.get(name, ())
    if not values:
        return default
    bounds = f"between {low} and {high}" if high is not None else f">= {low}"
    if len(values) > 1:
        raise QueryError(f"{name} may be given only once")
    text = values[0]
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise QueryError(f"{name} must be an integer {bounds}, got {text!r}")
    number = int(text)
    if number < low or (high is not None and number > high):
        raise QueryError(f"{name} must be an integer {bounds}, got {number}")
    return number


def json_response(
    status: int, payload: Any, headers: dict[str, str] | None = None
) -> web.Response:
    """Answer with `payload` as UTF-8 JSON, non-ASCII text left unescaped."""
    return web.Response(
        status=status,
        text=json.dumps(payload, ensure_ascii=False),
        content_type="application/json",
        headers=headers,
    )


def error_response(status: int) -> web.Response:
    """Answer with an error the way the real service would.

    A 5xx comes from the gateway in front of the API, as an HTML page; any
    other code from the API itself, as JSON ``{"error": ...}``.
    """
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Simulated Error"
    if status >= 500:
        return web.Response(
            status=status,
            reason=reason,
            text=mangle.proxy_error_page(status, reason),
            content_type="text/html",
        )
    messages = {
        401: UNAUTHORIZED_MESSAGE,
        403: "this API key may not read lip-sync requests",
        404: "request not found",
        429: "rate limit exceeded",
    }
    return web.Response(
        status=status,
        reason=reason,
        text=json.dumps({"error": messages.get(status, reason.lower())}),
        content_type="application/json",
    )


def rate_limited(retry_after: int | str) -> web.Response:
    """Answer 429; `retry_after` is whole seconds, "date" or "none" (no header)."""
    response = error_response(429)
    if retry_after == "date":
        # HTTP dates have whole seconds; one more keeps the wait at least
        # RATE_LIMIT_DATE_AHEAD seconds once the fraction is cut off.
        when = datetime.now(UTC) + timedelta(seconds=RATE_LIMIT_DATE_AHEAD + 1)
        response.headers[hdrs.RETRY_AFTER] = format_datetime(when, usegmt=True)
    elif retry_after != "none":
        response.headers[hdrs.RETRY_AFTER] = str(retry_after)
    return response


class ApiService:
    """Answers every request on one origin of the simulator.

    The main origin obeys the fault rules. The second origin, the target of
    `redirect` faults, serves the same API without faults and counts all of
    its traffic under the "foreign" label, so a test can see whether the key
    followed a redirect.
    """

    def __init__(
        self,
        *,
        world: World,
        stats: Stats,
        api_key: str,
        video: bytes,
        closing: asyncio.Event,
        faults: Faults | None = None,
        redirect_origin: str | None = None,
        label: str | None = None,
    ) -> None:
        """Serve `world` with key `api_key`.

        Args:
            world: the jobs to serve.
            stats: counters to update.
            api_key: the only bearer token accepted.
            video: bytes served for each completed job's output URL.
            closing: set when the server shuts down, to cut `delay` faults
                short.
            faults: rules to obey; None on the redirect target.
            redirect_origin: where `redirect` faults point.
            label: route label for all requests, instead of the route kind.
        """
        self._world = world
        self._stats = stats
        self._key = api_key.encode("utf-8")
        self._video = video
        self._closing = closing
        self._faults = faults
        self._redirect_origin = redirect_origin
        self._label = label

    def application(self) -> web.Application:
        """Build the aiohttp application sending every path to `handle`."""
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one request and count it."""
        target = route_of(request.raw_path)
        label = self._label or target.kind
        self._stats.record_request(label, request.headers.get(hdrs.AUTHORIZATION))

        response = await self._answer(request, target)
        if response is None:
            self._stats.record_drop(label)
            if request.transport is not None:
                request.transport.abort()
            # Nothing reaches the client: the connection is already gone.
            return web.Response(status=499, reason="Dropped")

        self._stats.record_response(label, response.status)
        return response

    async def _answer(
        self, request: web.Request, target: Target
    ) -> web.Response | None:
        """Build the answer, or return None to drop the connection."""
        if request.method != hdrs.METH_GET:
            return json_response(405, {"error": "method not allowed"}, {"Allow": "GET"})
        if target.kind == "output":
            return self._output(target.key)
        if target.kind == "unknown":
            return json_response(404, {"error": "not found"})
        if not self._authorized(request.headers.get(hdrs.AUTHORIZATION)):
            return json_response(
                401, {"error": UNAUTHORIZED_MESSAGE}, {hdrs.WWW_AUTHENTICATE: "Bearer"}
            )

        if target.kind == "list":
            try:
                query = parse_list_query(
                    {name: request.query.getall(name, []) for name in request.query}
                )
            except QueryError as error:
                return json_response(422, {"error": str(error)})
            return await self._with_faults(request, "list", lambda: self._list(query))
        return await self._with_faults(request, "get", lambda: self._get(target.key))

    async def _with_faults(
        self,
        request: web.Request,
        route: Route,
        answer: Callable[[], tuple[int, dict[str, Any]]],
    ) -> web.Response | None:
        """Apply the fault rules for this request around the normal answer."""
        hits: list[Hit] = []
        if self._faults is not None:
            hits = self._faults.take(route, self._world.elapsed())
        for rule, _ in hits:
            if rule.kind == "delay" and not await self._pause(rule.float_value()):
                return None

        replacing = next((hit for hit in hits if hit.rule.kind in REPLACING), None)
        if replacing is not None:
            return self._misbehave(request, replacing)

        status, body = answer()
        if status == 200:
            body = mangle.apply_body_faults(body, route, hits)
        return json_response(status, body)

    def _misbehave(self, request: web.Request, hit: Hit) -> web.Response | None:
        """The answer that replaces the real one for a replacing fault."""
        rule, ordinal = hit
        if rule.kind == "drop":
            return None
        if rule.kind == "status":
            return error_response(rule.int_value())
        if rule.kind == "rate_limit":
            retry_after: int | str = (
                rule.value if isinstance(rule.value, str) else rule.int_value()
            )
            return rate_limited(retry_after)
        if rule.kind == "malformed":
            return web.Response(
                body=mangle.malformed_body(ordinal), content_type="application/json"
            )
        if rule.kind == "garbage":
            return json_response(200, mangle.garbage_body(ordinal))
        if self._redirect_origin is None:
            raise RuntimeError("a redirect fault needs a second origin to point at")
        location = self._redirect_origin + request.raw_path
        return web.Response(status=rule.int_value(), headers={hdrs.LOCATION: location})

    async def _pause(self, seconds: float) -> bool:
        """Wait `seconds`; return False if the server began shutting down."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
        return not self._closing.is_set()

    def _authorized(self, header: str | None) -> bool:
        """Whether `header` is ``Bearer <the key>`` (scheme in any case)."""
        if header is None:
            return False
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(token.encode("utf-8", "surrogateescape"), self._key)

    def _list(self, query: ListQuery) -> tuple[int, dict[str, Any]]:
        """The normal answer to a list request."""
        jobs, total = self._world.list_jobs(
            query.limit, query.offset, query.reference_id
        )
        pagination = {"limit": query.limit, "offset": query.offset, "total": total}
        return 200, {"data": jobs, "pagination": pagination}

    def _get(self, key: str) -> tuple[int, dict[str, Any]]:
        """The normal answer to a one-job request."""
        job = self._world.get_job(key)
        if job is None:
            return 404, {"error": "request not found"}
        return 200, dict(job)

    def _output(self, job_id: str) -> web.Response:
        """Serve the video of a completed job, without asking for a key."""
        job = self._world.get_job(job_id)
        if job is None or job["id"] != job_id or job["status"] != "completed":
            return json_response(404, {"error": "not found"})
        return web.Response(body=self._video, content_type="video/mp4")
