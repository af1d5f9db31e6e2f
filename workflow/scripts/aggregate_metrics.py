"""Snakemake adapter: concatenate every run's metrics into the tidy report table."""

import sys

import pandas as pd

from opbench.errors import one_line_errors
from opbench.evaluation.ladder import write_csv_atomic

one_line_errors()  # an opbench error ends the job with one line in the log, not a traceback
sm = snakemake  # noqa: F821 - injected by Snakemake
sys.stderr = open(sm.log[0], "w", buffering=1)
table = pd.concat([pd.read_csv(path) for path in sm.input], ignore_index=True)
table = table.sort_values(["pde", "model", "seed", "eval_res"], kind="stable").reset_index(drop=True)
write_csv_atomic(table, sm.output[0])
print(f"{len(table)} rows from {len(sm.input)} runs", file=sys.stderr)
