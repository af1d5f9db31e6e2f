"""Snakemake adapter: per PDE, costs per instance and after how many instances the trained operator pays off."""

import sys

import pandas as pd

from opbench.evaluation.ladder import write_csv_atomic
from opbench.physics.pinn_bench import amortization
from opbench.script import start_job

sm = start_job()  # log, one-line errors, threads; runs outside Snakemake too
table = pd.concat([pd.read_csv(p) for p in sm.input], ignore_index=True)
out = amortization(table, sm.params.operator, sm.params.train_samples)
write_csv_atomic(out, sm.output[0])
print(out.to_string(), file=sys.stderr)
