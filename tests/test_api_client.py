"""Tests for :class:`ChamelaionClient`, driven through ``httpx.MockTransport``.

No socket is opened: every request is answered by a function in this file,
which also records what the client sent. The tests check the wire contract
(paths, query parameters, one percent-encoded path segment per id), where the
key may and may not go (invariant 6), how each kind of failure maps to the
error a person can act on, and how the "all pages" walk ends.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from chamelaion_tui.api.client import (
    ChamelaionClient,
    _OriginBearer,
    origin_of,
    path_segment,
)
from chamelaion_tui.api.errors import (
    ApiError,
    AuthError,
    BadResponse,
    NotFound,
    RateLimited,
    RequestRejected,
    ServerError,
    TransportError,
)
from chamelaion_tui.api.models import LipsyncRequest

BASE_URL = "https://api.chamelaion.test/api"
"""The configured API root; ``.test`` is reserved, and nothing is sent anyway."""

KEY = "sk-live-5ecr3t-0123456789abcdef"
"""The API key; no message, repr or other host may ever see it."""

LIST_PATH = "/api/v1/lipsync/requests"

Handler = Callable[[httpx.Request], httpx.Response]


def item(request_id: str, status: str = "queued") -> dict[str, Any]:
    """One request as the API would send it."""
    return {"id": request_id, "status": status, "created_at": "2026-04-07T10:00:00Z"}


class Recorder:
    """A transport handler that keeps every request and answers via ``respond``."""

    def __init__(self, respond: Handler) -> None:
        self.respond = respond
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)

    def client(self) -> ChamelaionClient:
        """A client whose every request ends up here."""
        return ChamelaionClient(BASE_URL, KEY, transport=httpx.MockTransport(self))


def answer(status: int = 200, **kwargs: Any) -> Handler:
    """A handler giving the same response to everything."""
    return lambda request: httpx.Response(status, **kwargs)


def assert_no_key(error: BaseException) -> None:
    """The key appears nowhere in the error, its chain or its traceback."""
    text = "".join(traceback.format_exception(error))
    assert KEY not in text
    assert KEY not in repr(error)
    assert KEY not in str(error)
    assert all(KEY not in str(arg) for arg in error.args)


async def failure(respond: Handler, request_id: str = "abc") -> ApiError:
    """Run one GET against ``respond`` and return the error it raises."""
    recorder = Recorder(respond)
    async with recorder.client() as client:
        with pytest.raises(ApiError) as caught:
            await client.get_request(request_id)
    assert_no_key(caught.value)
    return caught.value


# -- what goes on the wire ----------------------------------------------------


async def test_get_request_path_and_headers() -> None:
    """A GET by id asks the documented path with the Bearer key, JSON accepted."""
    recorder = Recorder(answer(json=item("6f82a2d8", "processing")))
    async with recorder.client() as client:
        result = await client.get_request("6f82a2d8")
    assert result == LipsyncRequest.from_json(item("6f82a2d8", "processing"))
    (sent,) = recorder.requests
    assert sent.method == "GET"
    assert sent.url.raw_path == b"/api/v1/lipsync/requests/6f82a2d8"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["accept"] == "application/json"


async def test_list_requests_query_parameters() -> None:
    """A list call sends ``limit``, ``offset`` and, when filtering, the exact
    ``reference_id``, encoded as a query value however odd it is."""
    recorder = Recorder(answer(json={"data": [], "pagination": {"total": 0}}))
    async with recorder.client() as client:
        await client.list_requests(limit=10, offset=20, reference_id="a&b=c#d e/")
        await client.list_requests()
    filtered, plain = recorder.requests
    assert filtered.url.path == LIST_PATH
    assert dict(filtered.url.params) == {
        "limit": "10",
        "offset": "20",
        "reference_id": "a&b=c#d e/",
    }
    assert dict(plain.url.params) == {"limit": "20", "offset": "0"}
    assert plain.url.path == LIST_PATH


async def test_list_requests_parses_the_page() -> None:
    """The list response becomes a :class:`Page`, filled in from what was asked."""
    body = {"data": [item("a"), item("b"), {"no": "id"}]}
    recorder = Recorder(answer(json=body))
    async with recorder.client() as client:
        page = await client.list_requests(limit=5, offset=10)
    assert [row.id for row in page.items] == ["a", "b"]
    assert page.dropped == 1
    assert (page.pagination.limit, page.pagination.offset) == (5, 10)


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (-1, 0), (20, -1)])
async def test_list_requests_refuses_impossible_pages(limit: int, offset: int) -> None:
    """A limit below 1 or a negative offset is a caller bug, raised before any
    request is sent."""
    recorder = Recorder(answer(json={"data": []}))
    async with recorder.client() as client:
        with pytest.raises(ValueError, match="limit"):
            await client.list_requests(limit=limit, offset=offset)
    assert recorder.requests == []


async def test_empty_id_is_rejected_without_a_request() -> None:
    """An empty id would address the list endpoint; it is refused locally."""
    recorder = Recorder(answer(json=item("a")))
    async with recorder.client() as client:
        with pytest.raises(RequestRejected):
            await client.get_request("")
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("request_id", "segment"),
    [
        ("a/b", b"a%2Fb"),
        ("a?b=c", b"a%3Fb%3Dc"),
        ("a#frag", b"a%23frag"),
        ("100%", b"100%25"),
        ("%2F", b"%252F"),
        ("with space", b"with%20space"),
        ("..", b"%2E%2E"),
        (".", b"%2E"),
        ("../../v1/admin", b"%2E%2E%2F%2E%2E%2Fv1%2Fadmin"),
        ("batch.2026.04", b"batch%2E2026%2E04"),
        ("café", b"caf%C3%A9"),
        ("a;b,c@d:e+f&g=h", b"a%3Bb%2Cc%40d%3Ae%2Bf%26g%3Dh"),
    ],
)
async def test_ids_are_sent_as_one_percent_encoded_segment(
    request_id: str, segment: bytes
) -> None:
    """Invariant 3: whatever an id holds, it is one path segment. A slash does
    not add a segment, ``?``/``#`` do not start a query or fragment, ``%`` is
    not taken as an escape and ``..`` is not resolved by anyone on the way."""
    recorder = Recorder(answer(json=item("whatever")))
    async with recorder.client() as client:
        await client.get_request(request_id)
    (sent,) = recorder.requests
    assert sent.url.raw_path == b"/api/v1/lipsync/requests/" + segment
    assert sent.url.query == b""
    assert sent.url.fragment == ""


def test_path_segment_never_leaves_a_separator() -> None:
    """The encoded segment holds only unreserved characters and escapes."""
    encoded = path_segment("/?#[]@!$&'()*+,;= .~%-_")
    assert (
        encoded.replace("%", "")
        .replace("-", "")
        .replace("_", "")
        .replace("~", "")
        .isalnum()
    )


async def test_lone_surrogate_in_an_id_is_still_sent() -> None:
    """Regression: an id decoded from JSON may hold an unpaired surrogate
    (``"\\ud800"``). Encoding it raised ``UnicodeEncodeError`` out of the client,
    outside its error contract; the refresh loop then failed on that id every
    cycle. It is now encoded byte for byte and left to the API to answer."""
    recorder = Recorder(answer(404, json={"error": "not found"}))
    async with recorder.client() as client:
        with pytest.raises(NotFound):
            await client.get_request("x\ud800y")
    (sent,) = recorder.requests
    assert sent.url.raw_path == b"/api/v1/lipsync/requests/x%ED%A0%80y"


# -- where the key goes -------------------------------------------------------


async def test_key_is_not_sent_to_another_origin_through_the_same_client() -> None:
    """Invariant 6: the auth hook is bound to the API origin. Even a request to
    another host made through the client's own connection pool goes out
    without the Authorization header."""
    recorder = Recorder(answer(json={}))
    client = recorder.client()
    async with client:
        http = client._http
        await http.get("https://elsewhere.test/collect")
        await http.get("http://api.chamelaion.test/api/v1/lipsync/requests")
        await http.get("https://api.chamelaion.test:8443/api/v1/lipsync/requests")
        await http.get(f"{BASE_URL}/v1/lipsync/requests")
    auth = [sent.headers.get("authorization") for sent in recorder.requests]
    assert auth == [None, None, None, f"Bearer {KEY}"]


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("https://api.chamelaion.test/api/v1/x", True),
        ("https://API.Chamelaion.TEST/other/path", True),
        ("https://api.chamelaion.test:443/api", True),
        ("http://api.chamelaion.test/api", False),
        ("https://api.chamelaion.test:444/api", False),
        ("https://evil.api.chamelaion.test/api", False),
        ("https://api.chamelaion.test.evil.test/api", False),
        ("https://evil.test/?u=https://api.chamelaion.test/api", False),
    ],
)
def test_origin_bearer_adds_the_key_only_for_its_origin(url: str, sent: bool) -> None:
    """The origin is scheme, host (case-insensitive) and port (default ports
    filled in); anything else is another origin and gets no key."""
    auth = _OriginBearer(KEY, origin_of(httpx.URL(BASE_URL)))
    flow = auth.auth_flow(httpx.Request("GET", url))
    request = next(flow)
    assert ("authorization" in request.headers) is sent
    assert KEY not in repr(auth)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_not_followed(status: int) -> None:
    """A redirect is reported, not followed, so the key cannot travel with it,
    and the message names where it pointed so the person can fix the URL."""
    recorder = Recorder(
        answer(status, headers={"Location": "https://evil.test/collect"})
    )
    async with recorder.client() as client:
        with pytest.raises(BadResponse) as caught:
            await client.get_request("abc")
    assert len(recorder.requests) == 1
    assert caught.value.status == status
    assert "evil.test" in str(caught.value)
    assert_no_key(caught.value)


def test_client_repr_hides_the_key() -> None:
    """The client may be logged or shown in a traceback; its repr never holds
    the key, nor does the repr of its auth hook."""
    client = ChamelaionClient(BASE_URL, KEY, transport=httpx.MockTransport(answer()))
    assert KEY not in repr(client)
    assert KEY not in str(client)
    assert KEY not in repr(client._http.auth)
    assert "api.chamelaion.test" in repr(client)


@pytest.mark.parametrize(
    "base_url", ["ftp://api.chamelaion.test", "not a url", "file:///etc/passwd", ""]
)
def test_base_url_must_be_http(base_url: str) -> None:
    """Only http(s) roots are accepted, refused before anything is built."""
    with pytest.raises(ValueError, match="http") as caught:
        ChamelaionClient(base_url, KEY)
    assert KEY not in str(caught.value)


def test_base_url_trailing_slash_is_optional() -> None:
    """With or without a trailing slash the root is the same."""
    one = ChamelaionClient(BASE_URL, KEY, transport=httpx.MockTransport(answer()))
    two = ChamelaionClient(BASE_URL + "/", KEY, transport=httpx.MockTransport(answer()))
    assert one.base_url == two.base_url == httpx.URL(BASE_URL + "/")


# -- how failures map to errors -----------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_key_is_an_auth_error(status: int) -> None:
    """401 and 403 say what to check (the variable) without quoting the key."""
    error = await failure(answer(status, json={"error": "invalid or missing key"}))
    assert isinstance(error, AuthError)
    assert error.status == status
    assert "CHAMELAION_API_KEY" in error.message


async def test_refused_key_names_the_source_given() -> None:
    """A client told where its key came from names that place instead."""
    transport = httpx.MockTransport(answer(401, json={"error": "bad key"}))
    source = "key_command of the config file"
    async with ChamelaionClient(
        BASE_URL, KEY, transport=transport, key_source=source
    ) as client:
        with pytest.raises(AuthError) as caught:
            await client.list_requests()
    assert caught.value.message.endswith(f"check {source}")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 429, 500, 503])
async def test_key_echoed_by_the_api_is_not_quoted(status: int) -> None:
    """Regression: an API (or proxy) that echoes the key in its error body, as
    in "invalid key sk-...", had it copied into the exception message, from
    where it reaches the screen and the logs. The excerpt now hides it."""
    for body in (
        {"error": f"invalid key {KEY}"},
        {"detail": f"Bearer {KEY} rejected"},
    ):
        error = await failure(answer(status, json=body))
        assert "key hidden" in error.message
    error = await failure(answer(status, text=f"no such key: {KEY}\n"))
    assert "key hidden" in error.message


async def test_key_in_a_redirect_location_is_not_quoted() -> None:
    """Regression: a Location header carrying the key (a misconfigured proxy
    adding it as a query parameter) was quoted verbatim in the message."""
    where = f"https://login.test/?token={KEY}"
    error = await failure(answer(302, headers={"Location": where}))
    assert isinstance(error, BadResponse)
    assert "login.test" in error.message


async def test_not_found() -> None:
    """404 is :class:`NotFound`, which the refresh loop treats as "gone"."""
    error = await failure(answer(404, json={"error": "request not found"}))
    assert isinstance(error, NotFound)
    assert error.status == 404
    assert "request not found" in error.message


async def test_rate_limited_with_seconds() -> None:
    """429 with ``Retry-After: 7`` waits exactly 7 seconds."""
    error = await failure(answer(429, headers={"Retry-After": "7"}, json={}))
    assert isinstance(error, RateLimited)
    assert error.retry_after == 7.0
    assert error.status == 429


async def test_rate_limited_with_an_http_date() -> None:
    """429 with an HTTP date an hour ahead waits about an hour."""
    when = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    error = await failure(answer(429, headers={"Retry-After": when}))
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None
    assert 3500 <= error.retry_after <= 3600


@pytest.mark.parametrize("header", [None, "", "later", "-3"])
async def test_rate_limited_without_a_usable_retry_after(header: str | None) -> None:
    """429 without a readable ``Retry-After`` leaves the wait to the policy."""
    headers = {} if header is None else {"Retry-After": header}
    error = await failure(answer(429, headers=headers))
    assert isinstance(error, RateLimited)
    assert error.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
async def test_server_errors_with_html_bodies(status: int) -> None:
    """A proxy's HTML error page is summarised, not dumped into the message."""
    page = "<html><body><h1>502 Bad Gateway</h1>" + "<p>x</p>" * 500 + "</html>"
    error = await failure(
        answer(status, text=page, headers={"Content-Type": "text/html"})
    )
    assert isinstance(error, ServerError)
    assert error.status == status
    assert "HTML" in error.message
    assert "<p>" not in error.message


async def test_server_error_with_a_text_body_is_excerpted_safely() -> None:
    """A plain-text body is quoted short and with control characters shown."""
    error = await failure(answer(503, text="\x1b]0;pwned\x07 down" + "!" * 5000))
    assert isinstance(error, ServerError)
    assert "\x1b" not in error.message
    assert "\x07" not in error.message
    assert len(error.message) < 300


@pytest.mark.parametrize("status", [400, 405, 409, 418, 422])
async def test_other_client_errors_are_rejections(status: int) -> None:
    """Other 4xx mean the request itself was refused; the status is kept like
    every other error's (regression: it used to be left ``None``)."""
    error = await failure(answer(status, json={"detail": "limit must be >= 1"}))
    assert isinstance(error, RequestRejected)
    assert error.status == status
    assert "limit must be >= 1" in error.message


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b"{",
        b"\xff\xfe\xfa",
        b"<html>oops</html>",
        pytest.param(b"[" * 100_000, id="deeply-nested"),
    ],
)
async def test_invalid_json_is_a_bad_response(body: bytes) -> None:
    """A 200 that is not JSON is :class:`BadResponse`. Regression: deeply
    nested JSON raised ``RecursionError`` past the client's error contract."""
    error = await failure(answer(200, content=body))
    assert isinstance(error, BadResponse)
    assert error.status == 200


async def test_deeply_nested_error_body_is_still_mapped() -> None:
    """Regression: the error excerpt decoded the body too, so a 503 with deeply
    nested JSON raised ``RecursionError`` instead of :class:`ServerError`."""
    error = await failure(answer(503, content=b"[" * 100_000))
    assert isinstance(error, ServerError)


@pytest.mark.parametrize("body", [[], "text", 42, None, {"status": "queued"}])
async def test_json_of_the_wrong_shape_is_a_bad_response(body: object) -> None:
    """JSON that is not a request object is :class:`BadResponse` too."""
    error = await failure(answer(200, json=body))
    assert isinstance(error, BadResponse)


def raising(exc_type: type[httpx.TransportError]) -> Handler:
    """A handler that fails the way a network does, with ``exc_type``."""

    def respond(request: httpx.Request) -> httpx.Response:
        raise exc_type("network says no", request=request)

    return respond


@pytest.mark.parametrize(
    "exc_type",
    [
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.PoolTimeout,
        httpx.ProxyError,
        httpx.UnsupportedProtocol,
    ],
)
async def test_network_failures_are_transport_errors(
    exc_type: type[httpx.TransportError],
) -> None:
    """Refused connections, timeouts and other transport faults become one
    :class:`TransportError` naming the host, tried once (not retried)."""
    recorder = Recorder(raising(exc_type))
    async with recorder.client() as client:
        with pytest.raises(TransportError) as caught:
            await client.get_request("abc")
    assert "api.chamelaion.test" in caught.value.message
    assert len(recorder.requests) == 1
    assert_no_key(caught.value)


class DropsFirst:
    """Raises ``exc_type`` for the first ``drops`` requests, then answers."""

    def __init__(self, exc_type: type[httpx.TransportError], drops: int) -> None:
        self.exc_type = exc_type
        self.drops = drops

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.drops > 0:
            self.drops -= 1
            raise self.exc_type("Server disconnected", request=request)
        return httpx.Response(200, json=item("abc", "completed"))


@pytest.mark.parametrize(
    "exc_type", [httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError]
)
async def test_a_dropped_keep_alive_connection_is_retried_once_quietly(
    exc_type: type[httpx.TransportError], caplog: pytest.LogCaptureFixture
) -> None:
    """A server closing an idle kept-alive connection is routine: the GET is
    sent again once, and nobody is bothered with a warning."""
    recorder = Recorder(DropsFirst(exc_type, drops=1))
    with caplog.at_level(logging.DEBUG):
        async with recorder.client() as client:
            result = await client.get_request("abc")
    assert result.status == "completed"
    assert len(recorder.requests) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_connection_dropped_twice_is_a_transport_error() -> None:
    """Two drops in a row are a real fault: reported, not retried again."""
    recorder = Recorder(DropsFirst(httpx.RemoteProtocolError, drops=2))
    async with recorder.client() as client:
        with pytest.raises(TransportError) as caught:
            await client.get_request("abc")
    assert len(recorder.requests) == 2
    assert "RemoteProtocolError" in caught.value.message
    assert_no_key(caught.value)


# -- walking every page -------------------------------------------------------


class Paged:
    """A list endpoint over ``rows`` that honours ``limit`` and ``offset``."""

    def __init__(self, rows: list[str]) -> None:
        self.rows = rows

    def __call__(self, request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        offset = int(request.url.params["offset"])
        data = [item(r) for r in self.rows[offset : offset + limit]]
        pagination = {"limit": limit, "offset": offset, "total": len(self.rows)}
        return httpx.Response(200, json={"data": data, "pagination": pagination})


def offsets(recorder: Recorder) -> list[int]:
    """The offsets asked for, in order."""
    return [int(sent.url.params["offset"]) for sent in recorder.requests]


async def test_iter_pages_walks_every_page() -> None:
    """Seven rows in pages of three: offsets 0, 3, 6, then stop at the total,
    with the filter passed on every call."""
    recorder = Recorder(Paged([f"r{n}" for n in range(7)]))
    async with recorder.client() as client:
        pages = [
            page async for page in client.iter_pages(reference_id="batch", page_size=3)
        ]
    assert [len(page.items) for page in pages] == [3, 3, 1]
    assert offsets(recorder) == [0, 3, 6]
    assert {sent.url.params["reference_id"] for sent in recorder.requests} == {"batch"}


async def test_iter_pages_stops_exactly_at_a_full_last_page() -> None:
    """Six rows in pages of three need two calls, not a third empty one."""
    recorder = Recorder(Paged([f"r{n}" for n in range(6)]))
    async with recorder.client() as client:
        rows = [row.id async for row in client.iter_requests(page_size=3)]
    assert rows == [f"r{n}" for n in range(6)]
    assert offsets(recorder) == [0, 3]


async def test_iter_pages_stops_on_an_empty_page() -> None:
    """A server claiming more rows than it returns cannot keep the walk going:
    the first empty page ends it."""

    def respond(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        data = [item(f"r{offset}"), item(f"r{offset + 1}")] if offset < 4 else []
        return httpx.Response(
            200, json={"data": data, "pagination": {"total": 1_000_000}}
        )

    recorder = Recorder(respond)
    async with recorder.client() as client:
        rows = [row.id async for row in client.iter_requests(page_size=2)]
    assert rows == ["r0", "r1", "r2", "r3"]
    assert offsets(recorder) == [0, 2, 4]


async def test_iter_pages_stops_when_the_total_shrinks() -> None:
    """Requests deleted mid-walk shrink the total; the walk ends there instead
    of asking past the end (here: a server that ignores ``offset``)."""
    totals = iter([10, 3])

    def respond(request: httpx.Request) -> httpx.Response:
        pagination = {"total": next(totals)}
        return httpx.Response(
            200, json={"data": [item("a"), item("b")], "pagination": pagination}
        )

    recorder = Recorder(respond)
    async with recorder.client() as client:
        rows = [row.id async for row in client.iter_requests(page_size=2)]
    assert rows == ["a", "b"]
    assert offsets(recorder) == [0, 2]


async def test_iter_requests_skips_rows_pushed_onto_the_next_page() -> None:
    """A new submission during the walk pushes every row down by one, so the
    last row of a page shows up again first on the next; it is yielded once."""
    rows = [f"r{n}" for n in range(5)]
    paged = Paged(rows)

    def respond(request: httpx.Request) -> httpx.Response:
        response = paged(request)
        if request.url.params["offset"] == "0":
            rows.insert(0, "new")
        return response

    recorder = Recorder(respond)
    async with recorder.client() as client:
        seen = [row.id async for row in client.iter_requests(page_size=2)]
    assert seen == ["r0", "r1", "r2", "r3", "r4"]
    assert len(seen) == len(set(seen))


async def test_iter_pages_stops_on_an_error() -> None:
    """An error mid-walk is raised to the caller, not swallowed or retried."""

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.params["offset"] == "0":
            return Paged(["a", "b", "c"])(request)
        return httpx.Response(503, text="down")

    recorder = Recorder(respond)
    seen: list[str] = []
    async with recorder.client() as client:
        with pytest.raises(ServerError):
            async for row in client.iter_requests(page_size=2):
                seen.append(row.id)
    assert seen == ["a", "b"]
