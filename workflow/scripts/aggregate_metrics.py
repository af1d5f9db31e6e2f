"""Snakemake adapter: concatenate every run's metrics into the tidy report table."""

import sys

import pandas as pd

from opbench.errors import one_line_errors
from opbench.evaluation.ladder import read_metrics, write_csv_atomic

one_line_errors()  # an opbench error ends the job with one line in the log, not a traceback
sm = snakemake  # noqa: F821 - injected by Snakemake
sys.stderr = open(sm.log[0], "w", buffering=1)
# A NaN/inf metric stops here with one line naming its file: the report never reads a verdict from it.
table = pd.concat([read_metrics(path) for path in sm.input], ignore_index=True)
table = table.sort_values(["pde", "model", "seed", "eval_res"], kind="stable").reset_index(drop=True)
write_csv_atomic(table, sm.output[0])
print(f"{len(table)} rows from {len(sm.input)} runs", file=sys.stderr)
