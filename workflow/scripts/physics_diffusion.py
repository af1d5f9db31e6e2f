"""Snakemake adapter: a small DDPM on vorticity snapshots against a Gaussian baseline and the data floor."""

import sys

import torch

from opbench.data.netcdf import read_pair, write_netcdf
from opbench.evaluation.ladder import write_csv_atomic
from opbench.physics.diffusion_bench import diffusion_benchmark

sm = snakemake  # noqa: F821 - injected by Snakemake
sys.stderr = open(sm.log[0], "w", buffering=1)
torch.set_num_threads(sm.threads)
train_u, test_u = read_pair(sm.input.train)[1], read_pair(sm.input.test)[1]
table, samples = diffusion_benchmark(train_u, test_u, sm.params.settings, sm.params.seed)
write_netcdf(samples, sm.output.samples)
write_csv_atomic(table, sm.output.stats)
print(table.to_string(), file=sys.stderr)
