"""Snakemake adapter: concatenate every run's metrics into the tidy report table."""

import sys

import pandas as pd

from opbench.evaluation.ladder import read_metrics, write_csv_atomic
from opbench.script import start_job

sm = start_job()  # log, one-line errors, threads; runs outside Snakemake too
# A NaN/inf metric stops here with one line naming its file: the report never reads a verdict from it.
table = pd.concat([read_metrics(path) for path in sm.input], ignore_index=True)
table = table.sort_values(["pde", "model", "seed", "eval_res"], kind="stable").reset_index(drop=True)
write_csv_atomic(table, sm.output[0])
print(f"{len(table)} rows from {len(sm.input)} runs", file=sys.stderr)
