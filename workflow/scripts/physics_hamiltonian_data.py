"""Snakemake adapter: energy-checked trajectories of one Hamiltonian system and split, to NetCDF (atomic)."""

import sys

from opbench.physics.hnn_bench import write_hamiltonian

sm = snakemake  # noqa: F821 - injected by Snakemake
sys.stderr = open(sm.log[0], "w", buffering=1)
write_hamiltonian(sm.output[0], sm.wildcards.system, sm.wildcards.split, sm.params.settings, sm.params.seed)
print(f"wrote {sm.output[0]}", file=sys.stderr)
