"""The wire contract of the Chamelaion API: models, errors and the client."""

from chamelaion_tui.api.client import (
    DEFAULT_BASE_URL,
    MAX_PAGE_SIZE,
    ChamelaionClient,
    path_segment,
)
from chamelaion_tui.api.download import (
    BatchDownload,
    BatchProgress,
    DownloadError,
    DownloadResult,
    download_output,
    download_outputs,
    storage_client,
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
from chamelaion_tui.api.export import (
    FORMATS,
    ExportError,
    ExportFormat,
    ExportResult,
    export_requests,
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
