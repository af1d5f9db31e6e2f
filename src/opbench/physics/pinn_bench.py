"""PINN against the numerical solver and a trained operator on the same test instances (the amortization question).

A PINN is fitted per instance (no training data, only the PDE); the solver solves the same instance;
a trained operator (e.g. the FNO) costs ``train_seconds`` once (plus the solves of its training data)
and then ``infer_seconds_per_sample`` per instance. ``amortization`` turns these into the number of
instances after which training the operator pays off against one PINN fit per instance.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from opbench.data.netcdf import read_pair
from opbench.physics.pinn import fit_pinn, predict
from opbench.solvers import get_pde


def rel_l2(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.linalg.norm(pred - true) / max(np.linalg.norm(true), 1e-30))


def pinn_vs_solver(
    pde: str,
    pde_cfg: Mapping[str, Any],
    test_files: Mapping[int, str | Path],
    settings: Mapping[str, Any],
    seed: int,
) -> pd.DataFrame:
    """Tidy rows (pde, method, instance, eval_res, rel_l2, seconds) for the PINN and the solver.

    Both start from the instance's initial values on the finest test rung; the PINN (mesh-free) is
    then evaluated on every rung at time T, the solver's answer is restricted to every rung.
    """
    pde_type = pde_cfg["type"]
    spec = get_pde(pde_type)
    params = spec.parameters(pde_cfg)
    T = float(params.T)  # a PDE with residual terms maps u(., 0) to u(., T)
    coef = {key: float(getattr(params, key)) for _, key, _ in spec.residual_terms if key is not None}
    ladder = sorted(int(r) for r in test_files)
    data = {r: read_pair(test_files[r], expect_res=r)[:2] for r in ladder}
    finest = ladder[-1]
    n_inst = min(int(settings["instances"]), data[finest][0].shape[0])
    fit_kw = {k: settings[k] for k in ("steps", "collocation", "modes", "hidden", "layers", "lr") if k in settings}
    rows: list[dict[str, Any]] = []
    for i in tqdm(range(n_inst), desc=f"pinn {pde}"):
        u0 = np.asarray(data[finest][0][i], dtype=np.float64)
        start = time.perf_counter()
        sol = spec.solve(u0[None], params)[0]
        solver_s = time.perf_counter() - start
        fit = fit_pinn(u0, pde_type, coef, T, seed=seed, key=f"{pde}/{i}", **fit_kw)
        for r in ladder:
            truth = np.asarray(data[r][1][i], dtype=np.float64)
            x = np.arange(r, dtype=np.float64) / r
            rows.append({"pde": pde, "method": "pinn", "instance": i, "eval_res": r,
                         "rel_l2": rel_l2(predict(fit.model, x, T), truth), "seconds": fit.seconds,
                         "final_loss": fit.history["loss"][-1]})
            rows.append({"pde": pde, "method": "solver", "instance": i, "eval_res": r,
                         "rel_l2": rel_l2(sol[:: finest // r], truth), "seconds": solver_s,
                         "final_loss": math.nan})
    return pd.DataFrame(rows)


def operator_rows(pde: str, metrics: pd.DataFrame, model: str) -> pd.DataFrame:
    """The trained operator's rows from a run's metrics table: test-set mean error and inference s/sample."""
    m = metrics.groupby("eval_res", as_index=False).agg(
        rel_l2=("rel_l2_mean", "mean"), seconds=("infer_seconds_per_sample", "mean"),
        train_seconds=("train_seconds", "mean"),
    )
    return m.assign(pde=pde, method=model, instance=-1, final_loss=math.nan)


def break_even(train_cost: float, per_instance_pinn: float, per_instance_operator: float) -> float:
    """Instances N after which train_cost + N c_op < N c_pinn (inf when the operator is not cheaper per use)."""
    gain = per_instance_pinn - per_instance_operator
    if not gain > 0:
        return math.inf
    return float(math.floor(train_cost / gain) + 1)


def amortization(table: pd.DataFrame, operator: str, train_samples: Mapping[str, int]) -> pd.DataFrame:
    """One row per PDE: costs per instance, errors at the finest rung, and the break-even instance counts.

    ``break_even_train`` counts only the operator's training time; ``break_even_with_data`` adds the
    solver time to generate its ``train_samples[pde]`` training instances.
    """
    rows = []
    for pde, g in table.groupby("pde", sort=False):
        finest = g["eval_res"].max()
        at = g[g["eval_res"] == finest]
        pinn, solver, op = (at[at["method"] == m] for m in ("pinn", "solver", operator))
        pinn_s = float(pinn["seconds"].mean())
        solver_s = float(solver["seconds"].mean())
        op_s = float(op["seconds"].mean()) if len(op) else math.nan
        train_s = float(op["train_seconds"].mean()) if len(op) else math.nan
        data_s = solver_s * int(train_samples.get(str(pde), 0))
        rows.append({
            "pde": pde, "eval_res": int(finest), "instances": int(pinn["instance"].nunique()),
            "pinn_seconds": pinn_s, "solver_seconds": solver_s,
            "operator": operator, "operator_seconds": op_s, "operator_train_seconds": train_s,
            "pinn_rel_l2": float(pinn["rel_l2"].mean()), "solver_rel_l2": float(solver["rel_l2"].mean()),
            "operator_rel_l2": float(op["rel_l2"].mean()) if len(op) else math.nan,
            "break_even_train": break_even(train_s, pinn_s, op_s),
            "break_even_with_data": break_even(train_s + data_s, pinn_s, op_s),
        })
    return pd.DataFrame(rows)
