"""The wire contract of the Chamelaion API: models, errors and the client.

Downloads and export are offered here too, but imported only when first used
(they are not needed to show the first page, and startup time matters).
"""

from typing import TYPE_CHECKING, Any

from chamelaion_tui.api.client import (
    DEFAULT_BASE_URL,
    MAX_PAGE_SIZE,
    ChamelaionClient,
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
    parse_retry_after,
)
from chamelaion_tui.api.models import (
    IN_FLIGHT,
    LipsyncRequest,
    Page,
    Pagination,
    Status,
    parse_timestamp,
)
from chamelaion_tui.api.text import visible

if TYPE_CHECKING:
    from chamelaion_tui.api.download import (
        BatchDownload,
        BatchProgress,
        DownloadError,
        DownloadResult,
        download_output,
        download_outputs,
        storage_client,
    )
    from chamelaion_tui.api.export import (
        FORMATS,
        ExportError,
        ExportFormat,
        ExportResult,
        export_requests,
    )

_LAZY = {
    **dict.fromkeys(
        [
            "BatchDownload",
            "BatchProgress",
            "DownloadError",
            "DownloadResult",
            "download_output",
            "download_outputs",
            "storage_client",
        ],
        "chamelaion_tui.api.download",
    ),
    **dict.fromkeys(
        ["FORMATS", "ExportError", "ExportFormat", "ExportResult", "export_requests"],
        "chamelaion_tui.api.export",
    ),
}
"""Names served from modules imported on first use."""


def __getattr__(name: str) -> Any:
    """Import a download or export name on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "DEFAULT_BASE_URL",
    "FORMATS",
    "IN_FLIGHT",
    "MAX_PAGE_SIZE",
    "ApiError",
    "AuthError",
    "BadResponse",
    "BatchDownload",
    "BatchProgress",
    "ChamelaionClient",
    "DownloadError",
    "DownloadResult",
    "ExportError",
    "ExportFormat",
    "ExportResult",
    "LipsyncRequest",
    "NotFound",
    "Page",
    "Pagination",
    "RateLimited",
    "RequestRejected",
    "ServerError",
    "Status",
    "TransportError",
    "download_output",
    "download_outputs",
    "export_requests",
    "parse_retry_after",
    "parse_timestamp",
    "path_segment",
    "storage_client",
    "visible",
]
