"""Snakemake adapter: PINN and solver on a few test instances of one PDE, beside the trained operator."""

import sys

import pandas as pd

from opbench.evaluation.ladder import write_csv_atomic
from opbench.physics.pinn_bench import operator_rows, pinn_vs_solver
from opbench.script import start_job

sm = start_job(torch=True)  # log, one-line errors, threads, determinism; runs outside Snakemake too
tests = dict(zip(sm.params.ladder, sm.input.tests, strict=True))
table = pinn_vs_solver(sm.wildcards.pde, sm.params.pde_cfg, tests, sm.params.settings, sm.params.seed)
metrics = pd.concat([pd.read_csv(p) for p in sm.input.operator], ignore_index=True)
table = pd.concat([table, operator_rows(sm.wildcards.pde, metrics, sm.params.settings["operator"])], ignore_index=True)
write_csv_atomic(table, sm.output[0])
print(table.groupby(["method", "eval_res"])[["rel_l2", "seconds"]].mean(), file=sys.stderr)
