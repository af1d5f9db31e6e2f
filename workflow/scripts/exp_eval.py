"""Snakemake adapter: the measurement table of one claim experiment."""

import sys
from functools import cache
from pathlib import Path

import pandas as pd
import torch

from opbench.evaluation.ladder import write_csv_atomic
from opbench.experiments import measure
from opbench.experiments.apply import Trained
from opbench.experiments.plan import ANTIDERIVATIVE, cell_dir

sm = snakemake  # noqa: F821 - injected by Snakemake
sys.stderr = open(sm.log[0], "w", buffering=1)
torch.set_num_threads(max(1, sm.threads))
p, claim = sm.params, sm.wildcards.claim
if claim == "multiscale":  # claim 6: band errors and spectra of the base pipeline's NS runs
    from opbench.experiments.multiscale import measurements

    table = measurements([pd.read_csv(f) for f in sm.input.metrics], [pd.read_csv(f) for f in sm.input.spectra],
                         p.nu)
    write_csv_atomic(table, sm.output[0])
    print(table[table["kind"] == "band"].to_string(), file=sys.stderr)
    sys.exit(0)
exp, c = p.exp, p.exp["claims"][claim]
task = ANTIDERIVATIVE if claim == "quadrature" else exp["pde"]
res, n, seeds, models = int(exp["train_res"]), int(exp["n_train"]), exp["seeds"], c["models"]
set_dir = Path(sm.input.sets[0]).parent


@cache
def load(model: str, train_res: int, n_train: int, seed: int) -> Trained:
    return Trained(f"{cell_dir((task, model, train_res, n_train))}/seed{seed}/model.pt")


if claim == "discretization":
    cells = [(m, res, n) for m in models]
    cells += [(m, int(r), n) for m in c.get("matrix_models", []) for r in c.get("matrix_res", []) if int(r) != res
              or m not in models]
    table = measure.discretization(load, models, list(dict.fromkeys(cells)), seeds, p.ladder, set_dir)
elif claim == "finite_vectors":
    table = measure.finite_vectors(load, models, res, sorted({*c["n_train"], n}), seeds, p.ladder, set_dir)
elif claim == "scale":
    table = measure.scale(load, models, res, n, seeds, c["lambdas"], c.get("taus", []), float(p.base_tau), set_dir)
elif claim == "input_families":
    table = measure.input_families(load, models, res, n, seeds, set_dir)
elif claim == "quadrature":
    table = measure.quadrature(load, models, res, n, seeds, {k: Path(v) for k, v in p.anti_tests.items()})
else:
    raise ValueError(f"unknown claim {claim!r}")
write_csv_atomic(table, sm.output[0])
print(table.to_string(), file=sys.stderr)
