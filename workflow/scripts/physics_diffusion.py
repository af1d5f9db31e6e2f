"""Snakemake adapter: a small DDPM on vorticity snapshots against a Gaussian baseline and the data floor."""

import sys

from opbench.data.netcdf import read_pair, write_netcdf
from opbench.evaluation.ladder import write_csv_atomic
from opbench.physics.diffusion_bench import diffusion_benchmark
from opbench.script import start_job

sm = start_job(torch=True)  # log, one-line errors, threads, determinism; runs outside Snakemake too
train_u, test_u = read_pair(sm.input.train)[1], read_pair(sm.input.test)[1]
table, samples = diffusion_benchmark(train_u, test_u, sm.params.settings, sm.params.seed)
write_netcdf(samples, sm.output.samples)
write_csv_atomic(table, sm.output.stats)
print(table.to_string(), file=sys.stderr)
