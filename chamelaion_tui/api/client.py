"""The async client for the two documented endpoints of the Chamelaion API.

One :class:`ChamelaionClient` holds one ``httpx.AsyncClient`` for its whole
life, so connections are reused across polls. It is the only place that builds
URLs and headers. The key is attached by :class:`_OriginBearer` and only to
requests for the configured origin; redirects are never followed, so the key
cannot be carried to another host by one.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import AsyncIterator, Callable, Generator
from types import TracebackType
from typing import Self
from urllib.parse import quote

import httpx

from chamelaion_tui.api.errors import (
    ApiError,
    AuthError,
    BadResponse,
    NotFound,
    RateLimited,
    RequestRejected,
    ServerError,
    TransportError,
    parse_retry_after,
)
from chamelaion_tui.api.models import LipsyncRequest, Page
from chamelaion_tui.api.text import visible

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.chamelaion.com/api"
REQUESTS_PATH = "v1/lipsync/requests"
MAX_PAGE_SIZE = 100
"""The largest ``limit`` this client asks for in one list call."""

_RETRYABLE_DROPS = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
"""Errors from a kept-alive connection the server closed: worth one retry."""


def path_segment(value: str) -> str:
    """Percent-encode ``value`` as exactly one URL path segment.

    Every reserved character is encoded, and so are dots, because a segment
    made only of dots would otherwise be resolved as ``.`` or ``..``. A lone
    surrogate (JSON can carry one) is encoded byte for byte rather than raising.
    """
    return quote(value, safe="", errors="surrogatepass").replace(".", "%2E")


def origin_of(url: httpx.URL) -> tuple[str, str, int | None]:
    """The (scheme, host, port) triple that decides where the key may go."""
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, port)


class _OriginBearer(httpx.Auth):
    """Adds ``Authorization: Bearer`` only to requests for one origin."""

    def __init__(self, key: str, origin: tuple[str, str, int | None]) -> None:
        self._origin = origin
        self.use(key)

    def use(self, key: str) -> None:
        """Send ``key`` from now on."""
        self._key = key
        self._header = f"Bearer {key}"

    def hide(self, text: str) -> str:
        """``text`` with the key masked, for quoting what a server sent back."""
        return text.replace(self._key, "[key hidden]") if self._key else text

    def __repr__(self) -> str:
        return "<bearer auth, key hidden>"

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        if origin_of(request.url) == self._origin:
            request.headers["Authorization"] = self._header
        yield request


def _tls_for(root: httpx.URL) -> ssl.SSLContext | bool:
    """The TLS settings for a client that only ever talks to ``root``.

    For ``https`` the system's usual verification (``True``). A plain
    ``http`` root never uses TLS, since redirects are not followed, so it
    gets a context that verifies but trusts no certificate at all: it would
    refuse any TLS connection rather than accept one, and it skips loading
    the certificate bundle, a noticeable part of startup on the simulator.
    """
    if root.scheme == "https":
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _excerpt(response: httpx.Response, hide: Callable[[str], str]) -> str:
    """A short, printable excerpt of an error body, for messages.

    ``hide`` masks the key, in case the server echoes it back.
    """
    try:
        body = response.json()
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict):
        for key in ("error", "message", "detail"):
            if isinstance(body.get(key), str):
                return visible(hide(body[key]), limit=200)
    content_type = response.headers.get("content-type", "")
    if "html" in content_type:
        return "an HTML error page"
    return visible(hide(response.text.strip()), limit=120) or "an empty body"


class ChamelaionClient:
    """Talks to the API: get one request, list a page, or walk every page.

    Args:
        base_url: The API root, such as ``https://api.chamelaion.com/api``.
        api_key: Sent as a Bearer token to ``base_url``'s origin, nowhere else.
        timeout: Seconds to wait for connecting and for each read.
        transport: A custom httpx transport (tests use ``MockTransport``).
        key_source: Where the key came from, named when the API refuses it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        key_source: str = "CHAMELAION_API_KEY",
    ) -> None:
        root = httpx.URL(base_url.rstrip("/") + "/")
        if root.scheme not in ("http", "https") or not root.host:
            raise ValueError(f"not an http(s) URL: {visible(base_url, limit=200)}")
        self.base_url = root
        self.key_source = key_source
        """Where the key came from, in words a person reads."""
        self._auth = _OriginBearer(api_key, origin_of(root))
        self._http = httpx.AsyncClient(
            base_url=root,
            auth=self._auth,
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "chamelaion-tui"},
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
            verify=_tls_for(root),
        )

    def __repr__(self) -> str:
        return f"<ChamelaionClient {self.base_url}>"

    def use_key(self, api_key: str) -> None:
        """Send ``api_key`` from the next request on, such as a renewed key."""
        self._auth.use(api_key)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def get_request(self, id_or_reference: str) -> LipsyncRequest:
        """Fetch one request by its id or by a ``reference_id``.

        Raises:
            NotFound: nothing has that id or reference id.
            ApiError: any other failure; see :mod:`chamelaion_tui.api.errors`.
        """
        if not id_or_reference:
            raise RequestRejected("an id or reference id is needed")
        path = f"{REQUESTS_PATH}/{path_segment(id_or_reference)}"
        return LipsyncRequest.from_json(await self._get_json(path, {}))

    async def list_requests(
        self, *, limit: int = 20, offset: int = 0, reference_id: str | None = None
    ) -> Page:
        """Fetch one page of requests, newest first, optionally of one batch.

        Raises:
            ValueError: ``limit`` is below 1 or ``offset`` below 0.
            ApiError: the API call failed; see :mod:`chamelaion_tui.api.errors`.
        """
        if limit < 1 or offset < 0:
            raise ValueError("limit must be at least 1 and offset at least 0")
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if reference_id:
            params["reference_id"] = reference_id
        data = await self._get_json(REQUESTS_PATH, params)
        return Page.from_json(data, limit=limit, offset=offset)

    async def iter_pages(
        self, *, reference_id: str | None = None, page_size: int = 50
    ) -> AsyncIterator[Page]:
        """Yield every page in turn, the documented "all results" loop.

        Stops when a page reaches the ``total`` the API reports or comes back
        empty, so a total that changes while paging cannot loop forever.
        """
        offset = 0
        while True:
            page = await self.list_requests(
                limit=page_size, offset=offset, reference_id=reference_id
            )
            yield page
            offset += page_size
            if not page.items or offset >= page.pagination.total:
                return

    async def iter_requests(
        self, *, reference_id: str | None = None, page_size: int = 50
    ) -> AsyncIterator[LipsyncRequest]:
        """Yield every request once, across all pages.

        A request pushed onto the next page by new submissions shows up twice
        in the raw pages; the repeat is skipped here.
        """
        seen: set[str] = set()
        async for page in self.iter_pages(
            reference_id=reference_id, page_size=page_size
        ):
            for item in page.items:
                if item.id not in seen:
                    seen.add(item.id)
                    yield item

    async def _get_json(self, path: str, params: dict[str, str | int]) -> object:
        """GET ``path`` and return its decoded JSON body, or raise an ApiError."""
        response = await self._send(path, params)
        if response.status_code != 200:
            raise self._error_for(response)
        try:
            return json.loads(response.content)
        except (ValueError, RecursionError):
            raise BadResponse(
                "the API answered with something that is not JSON",
                status=response.status_code,
            ) from None

    async def _send(self, path: str, params: dict[str, str | int]) -> httpx.Response:
        """Send one GET, retrying once if a kept-alive connection was dropped."""
        for attempt in (1, 2):
            try:
                return await self._http.get(path, params=params)
            except _RETRYABLE_DROPS as exc:
                if attempt == 2:
                    raise TransportError(
                        f"the connection to {self.base_url.host} broke: "
                        f"{type(exc).__name__}"
                    ) from exc
                log.debug("connection dropped (%s); retrying once", type(exc))
            except httpx.TimeoutException as exc:
                raise TransportError(
                    f"{self.base_url.host} did not answer in time"
                ) from exc
            except httpx.ConnectError as exc:
                raise TransportError(f"cannot connect to {self.base_url.host}") from exc
            except httpx.HTTPError as exc:
                raise TransportError(
                    f"request to {self.base_url.host} failed: {type(exc).__name__}"
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _error_for(self, response: httpx.Response) -> ApiError:
        """Map an unsuccessful response to the error a person can act on."""
        code = response.status_code
        detail = _excerpt(response, self._auth.hide)
        if code in (401, 403):
            return AuthError(
                f"the API refused the key ({code}: {detail}); check {self.key_source}",
                status=code,
            )
        if code == 404:
            return NotFound(f"not found ({detail})", status=code)
        if code == 429:
            wait = parse_retry_after(response.headers.get("retry-after"))
            return RateLimited(
                f"rate limited by the API ({detail})", retry_after=wait, status=code
            )
        if code >= 500:
            return ServerError(f"the API failed with {code} ({detail})", status=code)
        if 300 <= code < 400:
            where = visible(
                self._auth.hide(response.headers.get("location", "?")), limit=200
            )
            return BadResponse(
                f"the API redirected to {where}; not followed. Point the base "
                "URL at the final address",
                status=code,
            )
        return RequestRejected(
            f"the API rejected the request ({code}: {detail})", status=code
        )
