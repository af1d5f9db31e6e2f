"""Snakemake adapter: energy-checked trajectories of one Hamiltonian system, both splits, to NetCDF (atomic)."""

import sys

from opbench.physics.hnn_bench import write_hamiltonian
from opbench.script import start_job

sm = start_job()  # log, one-line errors, threads; runs outside Snakemake too
for split in ("train", "test"):
    path = getattr(sm.output, split)
    write_hamiltonian(path, sm.wildcards.system, split, sm.params.settings, sm.params.seed)
    print(f"wrote {path}", file=sys.stderr)
