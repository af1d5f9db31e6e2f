"""The errors opbench explains in one line, and the hook that prints them that way in job scripts.

Every fault a user can cause or meet (a config mistake, a bad data file or checkpoint, an unstable
solve, a diverging or interrupted training) derives from ``OpbenchError``. A workflow script calls
``one_line_errors()`` first: such an error then ends the job with one line, ``opbench error: ...``,
in the rule's log and on the job's stderr instead of a traceback. Other exceptions (bugs) keep
their full traceback.
"""

from __future__ import annotations

import sys
import traceback
from types import TracebackType


class OpbenchError(Exception):
    """Base of the errors whose message alone tells the user what is wrong."""


PREFIX = "opbench error: "


def one_line(exc: BaseException) -> str:
    """``opbench error: <first line of the message>``."""
    text = str(exc).strip().splitlines()
    return PREFIX + (text[0] if text else type(exc).__name__)


def _hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
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
