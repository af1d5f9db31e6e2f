"""Snakemake adapter: write the PDE evaluation sets of the claim experiments, for every experiment PDE."""

import sys
from pathlib import Path

from opbench.experiments.data import write_pde_sets
from opbench.script import start_job

sm = start_job()  # log, one-line errors, threads; runs outside Snakemake too
p = sm.params
paths = []
for pde, q in p.pdes.items():  # every experiment PDE, each in its own folder
    out_dir = Path(sm.output[0]).parent.parent / pde
    paths += write_pde_sets(seed=p.seed, pde=pde, cfg=q["cfg"], ladder=q["ladder"], train_res=q["train_res"],
                            n_test=p.n_test, taus=q["taus"], out_dir=out_dir)
missing = sorted(set(map(str, sm.output)) - set(map(str, paths)))
if missing:
    raise RuntimeError(f"evaluation sets not written: {missing}")
print(f"{len(paths)} evaluation sets written", file=sys.stderr)
