"""Atomic file writes: a hidden temporary sibling, then ``os.replace``.

A killed or failing writer never leaves a truncated file under the final name; the temporary is
removed when the write fails.
"""

from __future__ import annotations

import os
from pathlib import Path

from opbench.errors import raise_storage


def temporary_path(path: Path) -> Path:
    """A hidden sibling of ``path`` for writing before the atomic move into place."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating the folder if needed."""
    path = Path(path)
    tmp = temporary_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise_storage(exc, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
