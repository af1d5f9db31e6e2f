"""Where the workflow finds this checkout's library, whatever environment a job runs in."""

from __future__ import annotations

import os
from pathlib import Path


def export_source_path(basedir: str | Path) -> str:
    """Put ``<basedir>/src`` first on PYTHONPATH so job scripts import this checkout's opbench.

    Every process that parses the Snakefile (the local run, each SLURM job) calls this, so conda
    environments that do not install opbench still run the same code as the driver.
    """
    src = str(Path(basedir) / "src")
    current = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    os.environ["PYTHONPATH"] = os.pathsep.join([src, *current])
    return src
