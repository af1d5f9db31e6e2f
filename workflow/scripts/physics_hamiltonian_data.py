"""Snakemake adapter: energy-checked trajectories of one Hamiltonian system, both splits, to NetCDF (atomic)."""

import sys

from opbench.physics.hnn_bench import write_hamiltonian

sm = snakemake  # noqa: F821 - injected by Snakemake
sys.stderr = open(sm.log[0], "w", buffering=1)
for split in ("train", "test"):
    path = getattr(sm.output, split)
    write_hamiltonian(path, sm.wildcards.system, split, sm.params.settings, sm.params.seed)
    print(f"wrote {path}", file=sys.stderr)
