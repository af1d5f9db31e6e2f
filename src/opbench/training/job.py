"""The start of every workflow job that runs torch: the same four settings in one place."""

from __future__ import annotations

import sys

import torch

from opbench.errors import one_line_errors


def start_torch_job(log_path: str, threads: int) -> None:
    """One-line opbench errors, the job's log as stderr (line-buffered, so a killed job keeps what it
    wrote), ``threads`` intra-op threads (at least 1) and deterministic kernels where torch has them."""
    one_line_errors()  # an opbench error ends the job with one line in the log, not a traceback
    sys.stderr = open(log_path, "w", buffering=1)  # noqa: SIM115 - stays open for the job's life
    torch.set_num_threads(max(1, threads))
    torch.use_deterministic_algorithms(True, warn_only=True)
