"""Resume states of an unfinished training, and the SIGTERM guard that saves one on pre-emption.

A resume state is everything the training loop needs to continue as if it had never stopped:
model, optimizer and scheduler states, the shuffle and torch random states, the position in the
epoch (its permutation and the next batch), the history, and the best checkpoint so far. It is
written atomically every ``checkpoint_every`` epochs and when SIGTERM arrives (SLURM sends it
before killing a pre-empted job), to a path that is not a declared Snakemake output, so a failed
job does not lose it. A restarted training whose setup has the same fingerprint (model, kwargs,
recipe, seed and the data bytes) continues from it; on CPU the final weights are then bit for bit
those of an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import torch

from opbench.errors import OpbenchError
from opbench.training.checkpoint import atomic_torch_save

RESUME_FORMAT = "opbench-resume-v1"


class TrainingInterrupted(OpbenchError, RuntimeError):
    """SIGTERM arrived: the resume state was saved and the process should exit non-zero."""


def fingerprint(model_name: str, model_kwargs: Mapping[str, Any], recipe: Mapping[str, Any], seed: int,
                arrays: list[np.ndarray], data_digest: str = "") -> str:
    """A hash of everything that determines a training run (a resume state from another run is refused).

    The data enter as ``arrays`` or, for data read in chunks, as the hex ``data_digest`` of their bytes.
    """
    h = hashlib.sha256()
    h.update(json.dumps([model_name, dict(model_kwargs), dict(recipe), int(seed)], sort_keys=True,
                        default=str).encode())
    h.update(data_digest.encode())
    for arr in arrays:
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.dtype}{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def save_resume(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write a resume state atomically (tensors, numbers, strings only: loadable with weights_only)."""
    atomic_torch_save({"format": RESUME_FORMAT, **state}, path)


def load_resume(path: str | os.PathLike, expected_fingerprint: str) -> dict[str, Any] | None:
    """The resume state at ``path`` if it belongs to this run, else None (with one line on stderr)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged resume state is not worth failing for: start afresh
        print(f"opbench: ignoring unreadable resume state {path} ({type(exc).__name__})", file=sys.stderr)
        return None
    if not isinstance(state, dict) or state.get("format") != RESUME_FORMAT:
        print(f"opbench: ignoring {path}: not an opbench resume state", file=sys.stderr)
        return None
    if state.get("fingerprint") != expected_fingerprint:
        print(f"opbench: ignoring resume state {path}: it belongs to another setup (config or data changed)",
              file=sys.stderr)
        return None
    return state


def rng_state_text(gen: np.random.Generator) -> str:
    """A numpy generator's state as JSON text (safe to store and to load with weights_only)."""
    return json.dumps(gen.bit_generator.state)


def set_rng_state_text(gen: np.random.Generator, text: str) -> None:
    gen.bit_generator.state = json.loads(text)


class SigtermGuard:
    """Within ``with``, SIGTERM only sets ``requested``; the loop saves and stops at its next safe point.

    A second SIGTERM while a save is pending is ignored too; the previous handler is restored on exit.
    Outside the main thread (where handlers cannot be installed) the guard does nothing.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.requested = False
        self._previous: Any = None

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def __enter__(self) -> SigtermGuard:
        if self.enabled:
            self._previous = signal.signal(signal.SIGTERM, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            signal.signal(signal.SIGTERM, self._previous if self._previous is not None else signal.SIG_DFL)
