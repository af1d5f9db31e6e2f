"""Snakemake adapter: HNN vs MLP vs Transformer on one Hamiltonian system; long-rollout errors to CSV."""

import sys

import xarray as xr

from opbench.evaluation.ladder import write_csv_atomic
from opbench.physics.hnn_bench import final_drift, hnn_benchmark
from opbench.script import start_job

sm = start_job(torch=True)  # log, one-line errors, threads, determinism; runs outside Snakemake too
with xr.open_dataset(sm.input.train) as tr, xr.open_dataset(sm.input.test) as te:
    table = hnn_benchmark(tr.load(), te.load(), sm.params.settings, sm.params.seed)
write_csv_atomic(table, sm.output[0])
print(final_drift(table).to_string(), file=sys.stderr)
