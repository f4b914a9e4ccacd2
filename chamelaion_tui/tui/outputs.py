"""Getting results out: download one output, every output of a batch, export.

Each function is one job the person started. It shows its progress on the
:class:`TransferBar`, tells the person how it ended through ``notify``, and
never raises an :class:`ApiError` (those become a message): the app runs these
as workers and has nothing more to do with their outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from chamelaion_tui.api import (
    ApiError,
    ChamelaionClient,
    ExportFormat,
    LipsyncRequest,
    download_output,
    download_outputs,
    export_requests,
    visible,
)
from chamelaion_tui.api.download import BatchProgress
from chamelaion_tui.tui.transfers import TransferBar

Severity = Literal["information", "warning", "error"]
Notify = Callable[[str, str, Severity], None]
"""Shows the person a message: (body, title, severity)."""


def shown_path(path: Path) -> str:
    """A path as the person should read it: relative to here when inside."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


async def download_one(
    request: LipsyncRequest, folder: Path, bar: TransferBar, notify: Notify
) -> None:
    """Save the output of ``request`` into ``folder``/<reference_id>/."""
    bar.start(f"Downloading {visible(request.short_id)}", None)
    try:
        result = await download_output(request, folder, on_progress=bar.advance)
    except ApiError as error:
        notify(*_failure(error))
        return
    finally:
        bar.finish()
    where = visible(shown_path(result.path))
    if result.outcome == "already_present":
        notify(f"Already saved: {where}", "Download", "information")
    else:
        notify(f"Saved {where} ({result.size:,} bytes)", "Download", "information")


async def download_batch(
    requests: Sequence[LipsyncRequest],
    folder: Path,
    bar: TransferBar,
    notify: Notify,
) -> None:
    """Save every completed output among ``requests``, a few at a time."""
    wanted = [r for r in requests if r.output_url]
    if not wanted:
        notify("No completed outputs to download yet.", "Download", "warning")
        return
    bar.start(f"Downloading 0 of {len(wanted)} outputs", len(wanted))

    def progress(state: BatchProgress) -> None:
        bar.advance(
            state.files_done,
            state.files_total,
            f"Downloading {state.files_done} of {state.files_total} outputs "
            f"({state.bytes_done:,} bytes)",
        )

    try:
        outcome = await download_outputs(wanted, folder, on_progress=progress)
    except ApiError as error:
        notify(*_failure(error))
        return
    finally:
        bar.finish()
    saved = [r for r in outcome.results if r.outcome != "already_present"]
    present = len(outcome.results) - len(saved)
    parts = [f"Saved {len(saved)} outputs"]
    if present:
        parts.append(f"{present} were already there")
    if outcome.failures:
        parts.append(f"{len(outcome.failures)} failed")
    folders = {shown_path(r.path.parent) for r in outcome.results}
    place = f" in {visible(next(iter(folders)))}" if len(folders) == 1 else ""
    severity: Severity = "warning" if outcome.failures else "information"
    detail = ""
    if outcome.failures:
        first = next(iter(outcome.failures.values()))
        detail = f"\n{visible(first.message, limit=200)}"
    notify(", ".join(parts) + place + "." + detail, "Download", severity)


async def export(
    client: ChamelaionClient,
    path: Path,
    *,
    reference_id: str | None,
    fmt: ExportFormat,
    bar: TransferBar,
    notify: Notify,
) -> None:
    """Write every request of the view to ``path``, streaming page by page."""
    bar.start(f"Exporting to {visible(path.name)}", None)

    def progress(done: int, total: int) -> None:
        bar.advance(done, total, f"Exporting {done:,} of {total:,} requests")

    try:
        result = await export_requests(
            client, path, reference_id=reference_id, fmt=fmt, on_progress=progress
        )
    except ApiError as error:
        notify(*_failure(error))
        return
    finally:
        bar.finish()
    notify(
        f"Wrote {result.count:,} requests to {visible(shown_path(result.path))}",
        "Export",
        "information",
    )


def _failure(error: ApiError) -> tuple[str, str, Severity]:
    """A notification for a failed transfer; these are not retried."""
    body = (
        f"{visible(error.message, limit=300)}\nNothing was retried: fix the "
        "cause (the folder, --download-dir, the network) and try again."
    )
    return body, error.title, "error"
