"""Snakemake adapter: concatenate every run's per-step rollout errors into one tidy table."""

import sys

import pandas as pd

from opbench.evaluation.ladder import STEP_COLUMNS, write_csv_atomic
from opbench.script import start_job

sm = start_job()  # log, one-line errors, threads; runs outside Snakemake too
frames = [f for f in (pd.read_csv(path) for path in sm.input) if not f.empty]
table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=STEP_COLUMNS)
if not table.empty:
    table = table.sort_values(["pde", "model", "seed", "eval_res", "step"], kind="stable").reset_index(drop=True)
write_csv_atomic(table, sm.output[0])
print(f"{len(table)} per-step rows from {len(sm.input)} runs", file=sys.stderr)
