"""Evaluate every trained run of one PDE in one process: one workflow job per PDE instead of one per run.

Each job of the workflow pays a few seconds of start-up (torch, xarray); with a job per PDE that cost
is paid once for all of a PDE's models and seeds. Each run is evaluated exactly as a job of its own
would (``evaluate_ladder`` with that run's labels and expectations) and writes the same files.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pandas as pd
from tqdm.auto import tqdm

from opbench.evaluation.ladder import evaluate_ladder
from opbench.training.checkpoint import Checkpoint, read_checkpoint
from opbench.training.tasks import Task


@dataclass(frozen=True)
class RunToEvaluate:
    """One trained run: its checkpoint and training record, the labels of its rows, what its checkpoint
    must hold, and the four files it writes."""

    checkpoint: str | Path
    train_info: str | Path
    labels: Mapping[str, Any]
    metrics: str | Path
    examples: str | Path
    steps: str | Path
    spectra: str | Path
    expect_model: str | None = None
    expect_kwargs: Mapping[str, Any] = field(default_factory=dict)


def check_runs(runs: Sequence[RunToEvaluate]) -> list[Checkpoint]:
    """Every run's checkpoint, read and checked once: a bad one (one line naming it) stops the job
    before any inference runs. The test files need no check here: the first run's
    ``evaluate_ladder`` checks every one before it writes."""
    return [read_checkpoint(run.checkpoint, device="cpu", expect_model=run.expect_model,
                            expect_kwargs=dict(run.expect_kwargs)) for run in runs]


def evaluate_runs(runs: Sequence[RunToEvaluate], *, test_files: Mapping[int, str | Path], task: Task,
                  n_examples: int, memory_budget_mb: float | None = None,
                  expect_data: Mapping[str, Any] | None = None, log: TextIO | None = None,
                  progress: bool = True) -> list[pd.DataFrame]:
    """Evaluate each run on every rung of ``test_files`` in turn, writing its metrics, examples, steps and
    spectra; every checkpoint is read and checked first (once: the model evaluated is the one read
    then), and every test file before the first run writes. Returns the runs' metrics tables."""
    checkpoints = check_runs(runs)
    tables = []
    bar = tqdm(list(zip(runs, checkpoints, strict=True)), desc="infer", unit="run", disable=not progress,
               file=log or sys.stderr)
    for run, ckpt in bar:
        with open(run.train_info) as fh:
            info = json.load(fh)
        table = evaluate_ladder(
            checkpoint=ckpt, test_files=test_files, train_info=info, labels=run.labels,
            metrics_path=run.metrics, examples_path=run.examples, n_examples=n_examples, task=task,
            steps_path=run.steps, spectra_path=run.spectra, expect_model=run.expect_model,
            memory_budget_mb=memory_budget_mb, expect_kwargs=dict(run.expect_kwargs), expect_data=expect_data,
        )
        if log is not None:
            tqdm.write(f"{run.checkpoint}:\n{table.to_string()}", file=log)  # above the bar, not after it
        tables.append(table)
    return tables
