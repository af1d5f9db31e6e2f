"""Snakemake adapter: the measurement tables of one claim experiment (its registry entry's ``measure``),
one per budget (claim 6 reads the base runs: the same table at every budget, read once)."""

import sys
from functools import cache
from pathlib import Path

import pandas as pd

from opbench.evaluation.ladder import write_csv_atomic
from opbench.experiments.apply import Trained
from opbench.experiments.plan import ANTIDERIVATIVE, cell_dir
from opbench.experiments.registry import MeasureContext, get_claim
from opbench.script import start_job

sm = start_job(torch=True)  # log, one-line errors, threads, determinism; runs outside Snakemake too
p, spec = sm.params, get_claim(sm.wildcards.claim)
exp = {**p.exp, "pde": p.pde}  # the PDE this job measures (experiments.pde or one of also_pdes)
task = ANTIDERIVATIVE if spec.inputs == "antiderivative" else exp["pde"]


@cache
def load_at(budget: int, model: str, train_res: int, n_train: int, seed: int) -> Trained:
    return Trained(f"{cell_dir((task, model, train_res, n_train), budget)}/seed{seed}/model.pt")


for budget, out in zip(p.budgets, sm.output, strict=True):  # every budget of the claim in one job
    def load(model: str, train_res: int, n_train: int, seed: int, budget: int = budget) -> Trained:
        return load_at(budget, model, train_res, n_train, seed)

    if spec.inputs == "base_runs":  # claim 6: band errors and spectra of the base pipeline's NS runs (one budget)
        ctx = MeasureContext(load, exp, exp["claims"][spec.key], p.ladder, nu=p.nu,
                             metrics=[pd.read_csv(f) for f in sm.input.metrics],
                             spectra=[pd.read_csv(f) for f in sm.input.spectra])
    else:
        ctx = MeasureContext(load, exp, exp["claims"][spec.key], p.ladder, set_dir=Path(sm.input.sets[0]).parent,
                             anti_tests={k: Path(v) for k, v in p.anti_tests.items()}, base_tau=float(p.base_tau),
                             train_file=lambda r: Path(p.train_files[int(r)]))
    table = spec.measure(ctx)
    write_csv_atomic(table, out)
    print(f"budget {budget}x:\n{table.to_string()}", file=sys.stderr)
