"""What happens when the app meets a bug: a short line, not a traceback.

Textual's own crash screen prints a traceback with local variables, which
could include the API key held by the client. The dashboard instead writes the
traceback, without locals, to a private file and tells the person where it is.
"""

from __future__ import annotations

import os
import tempfile
import traceback


def write_crash_report(error: BaseException) -> str | None:
    """Save ``error``'s traceback (no locals) to a new private file.

    Returns the file's path, or ``None`` if no file could be written.
    """
    text = "".join(traceback.format_exception(error, chain=True))
    try:
        handle, path = tempfile.mkstemp(prefix="chamelaion-tui-crash-", suffix=".txt")
    except OSError:
        return None
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)
    return path


def crash_message(path: str | None) -> str:
    """The one line shown after a crash."""
    where = f"; details are in {path}" if path else ""
    return f"chamelaion-tui stopped because of an internal error{where}"
