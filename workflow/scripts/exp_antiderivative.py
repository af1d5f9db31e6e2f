"""Snakemake adapter: the antiderivative task's train/val (trapezoid or coarse-rule targets) and test (exact) files."""

import sys
from pathlib import Path

from opbench.experiments.data import write_antiderivative
from opbench.script import start_job

sm = start_job()  # log, one-line errors, threads; runs outside Snakemake too
p = sm.params
paths = write_antiderivative(seed=p.seed, grf=p.grf, n_fine=p.n_fine, train_res=p.train_res, ladder=p.ladder,
                             samples=p.samples, out_dir=Path(sm.output[0]).parent, rule_cells=p.rule_cells)
print("\n".join(map(str, paths)), file=sys.stderr)
