"""An in-memory stand-in for the API, served through ``httpx.MockTransport``.

Tests that need exact control of what the API says (rows that reorder or
vanish, hostile strings, a chosen error) use this instead of the simulator.
It speaks the same two endpoints and records every request it receives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

from chamelaion_tui.api import ChamelaionClient

BASE_URL = "http://127.0.0.1:9/api"
KEY = "sk-test-secret-key-0123456789"


def make_request(
    number: int,
    status: str = "completed",
    reference_id: str | None = "batch-a",
    **fields: Any,
) -> dict[str, Any]:
    """One request as the API would send it, with a predictable id."""
    item: dict[str, Any] = {
        "id": f"{number:08x}-0000-4000-8000-000000000000",
        "status": status,
        "created_at": f"2026-12-04T10:{number % 60:02d}:00Z",
    }
    if reference_id is not None:
        item["reference_id"] = reference_id
    if status in ("processing", "completed", "failed"):
        item["started_at"] = f"2026-12-04T10:{number % 60:02d}:05Z"
    if status == "completed":
        item["finished_at"] = f"2026-12-04T10:{number % 60:02d}:50Z"
        item["output_url"] = f"https://storage.example/output/{number}.mp4"
    if status == "failed":
        item["finished_at"] = f"2026-12-04T10:{number % 60:02d}:20Z"
        item["error_message"] = "no face detected in the video"
    item.update(fields)
    return item


@dataclass
class FakeApi:
    """The requests the fake API holds (newest first) and what it was asked."""

    items: list[dict[str, Any]] = field(default_factory=list)
    calls: list[httpx.Request] = field(default_factory=list)
    override: Callable[[httpx.Request], httpx.Response | None] | None = None
    """Answers instead of the normal handler when it returns a response."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The MockTransport handler."""
        self.calls.append(request)
        if self.override is not None:
            response = self.override(request)
            if response is not None:
                return response
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return httpx.Response(401, json={"error": "invalid API key"})
        prefix = "/api/v1/lipsync/requests"
        path = request.url.raw_path.decode().split("?")[0]
        if path == prefix:
            return self._list(request)
        if path.startswith(prefix + "/"):
            return self._get(unquote(path[len(prefix) + 1 :]))
        return httpx.Response(404, json={"error": "no such route"})

    def _list(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        limit = int(params.get("limit", "20"))
        offset = int(params.get("offset", "0"))
        reference = params.get("reference_id")
        chosen = [
            item
            for item in self.items
            if reference is None or item.get("reference_id") == reference
        ]
        body = {
            "data": chosen[offset : offset + limit],
            "pagination": {"limit": limit, "offset": offset, "total": len(chosen)},
        }
        return httpx.Response(200, json=body)

    def _get(self, key: str) -> httpx.Response:
        for item in self.items:
            if item["id"] == key:
                return httpx.Response(200, json=item)
        for item in self.items:
            if item.get("reference_id") == key:
                return httpx.Response(200, json=item)
        return httpx.Response(404, json={"error": "request not found"})

    def list_calls(self) -> list[httpx.Request]:
        """The list-endpoint calls received so far."""
        return [c for c in self.calls if c.url.path.endswith("/requests")]

    def client(self) -> ChamelaionClient:
        """A real client whose transport is this fake."""
        return ChamelaionClient(
            BASE_URL, KEY, transport=httpx.MockTransport(self.handle)
        )
