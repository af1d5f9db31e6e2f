"""The errors opbench explains in one line, and the hook that prints them that way in job scripts.

Every fault a user can cause or meet (a config mistake, a bad data file or checkpoint, an unstable
solve, a diverging or interrupted training) derives from ``OpbenchError``. A workflow script calls
``one_line_errors()`` first: such an error then ends the job with one line, ``opbench error: ...``,
in the rule's log and on the job's stderr instead of a traceback. Other exceptions (bugs) keep
their full traceback.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
import traceback
from types import TracebackType


class OpbenchError(Exception):
    """Base of the errors whose message alone tells the user what is wrong."""


class StorageError(OpbenchError, OSError):
    """A write the file system refused: disk full, quota, permission, read-only."""


_STORAGE = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
}
LOW_SPACE = 1 << 20  # bytes free below which a failed write is blamed on a full disk


def raise_storage(exc: BaseException, path: str | os.PathLike) -> None:
    """Raise ``exc`` as a one-line ``StorageError`` when it comes from the file system; else re-raise it."""
    err = storage_error(exc, path)
    if err is not None and err is not exc:
        raise err from exc
    raise exc


def storage_error(exc: BaseException, path: str | os.PathLike) -> StorageError | None:
    """A one-line ``StorageError`` naming ``path`` when ``exc`` comes from the file system, else None.

    Libraries that hide the errno (netCDF's "HDF error") are caught by looking at the free space.
    """
    if isinstance(exc, StorageError):
        return exc
    reason = _STORAGE.get(exc.errno) if isinstance(exc, OSError) else None
    if reason is None:
        try:
            free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
        except OSError:
            return None
        if free >= LOW_SPACE:
            return None
        reason = f"no space left on device ({free} bytes free; {type(exc).__name__}: {str(exc)[:80]})"
    hint = "free some space" if "space" in reason or "quota" in reason else "make it writable"
    return StorageError(f"{path}: {reason} ({hint}, then rerun)")


PREFIX = "opbench error: "


def one_line(exc: BaseException) -> str:
    """``opbench error: <first line of the message>``."""
    text = str(exc).strip().splitlines()
    return PREFIX + (text[0] if text else type(exc).__name__)


def _hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if isinstance(exc, OSError) and not isinstance(exc, OpbenchError):
        exc = storage_error(exc, exc.filename or "(a file the system did not name)") or exc  # e.g. the rule log
    if isinstance(exc, OpbenchError):
        text = one_line(exc) + "\n"
    else:
        text = "".join(traceback.format_exception(kind, exc, tb))
    streams = [sys.stderr]
    if sys.__stderr__ is not None and sys.__stderr__ is not sys.stderr:
        streams.append(sys.__stderr__)  # scripts send sys.stderr to the rule log; the job stderr too
    for stream in streams:
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            pass


def one_line_errors() -> None:
    """Install the hook (the process still exits with status 1)."""
    sys.excepthook = _hook
