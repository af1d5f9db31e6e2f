"""Measurements of each claim experiment: tidy tables, one row per (model, seed, setting)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from opbench.data.netcdf import read_pair
from opbench.evaluation.metrics import rel_l2
from opbench.experiments.apply import Trained, equivariance_error, score
from opbench.experiments.baselines import LinearMap
from opbench.experiments.data import FAMILIES, rule_fraction
from opbench.solvers import Grid

Loader = Callable[[str, int, int, int], Trained]  # (model, train_res, n_train, seed) -> Trained


def discretization(load: Loader, models: Sequence[str], cells: Sequence[tuple[str, int, int]], seeds: Sequence[int],
                   ladder: Sequence[int], set_dir: Path) -> pd.DataFrame:
    """Error of every (model, train_res) cell on every rung, against both kinds of truth, and the
    model's self-consistency across resolutions (``truth="self"``): its prediction on a rung,
    restricted to the coarser of that rung and its training grid, against its prediction there
    (the same inputs on every rung, nested grids: every (n/r)-th point of a periodic grid, every
    ((n-1)/(r-1))-th of a vertex grid, on each axis). Zero for a discretization-invariant model,
    whatever its error against the truth."""
    rows = []
    for model, res, n in cells:
        for seed in seeds:
            t = load(model, res, n, seed)
            for r in ladder:
                for truth in ("restricted", "fresh"):
                    s = score(t, set_dir / f"{truth}_s{r}.nc")
                    rows.append({"model": model, "seed": seed, "train_res": res, "n_train": n, "eval_res": r,
                                 "truth": truth, **s})
            at_train = t.predict(read_pair(set_dir / f"restricted_s{res}.nc")[0])
            grid = Grid("periodic" if getattr(t, "periodic", True) else "vertex")
            for r in ladder:
                if r == res or not grid.can_restrict(max(r, res), min(r, res)):
                    continue  # only nested grids: the coarse points are points of the fine grid
                pred = t.predict(read_pair(set_dir / f"restricted_s{r}.nc")[0])
                fine, coarse = (pred, at_train) if r > res else (at_train, pred)
                n_f, n_c = fine.shape[-1], coarse.shape[-1]
                gap = rel_l2(grid.restrict(fine, n_f, n_c, fine.ndim - 1), coarse)
                rows.append({"model": model, "seed": seed, "train_res": res, "n_train": n, "eval_res": r,
                             "truth": "self", "rel_l2": float(np.mean(gap))})
    return pd.DataFrame(rows)


def finite_vectors(load: Loader, models: Sequence[str], res: int, n_trains: Sequence[int], seeds: Sequence[int],
                   ladder: Sequence[int], set_dir: Path, *, retrained: Sequence[str] = (),
                   retrain_res: Sequence[int] = (), train_file: Callable[[int], Path] | None = None,
                   n_full: int = 0) -> pd.DataFrame:
    """Models trained at ``res`` on every rung; models in ``retrained`` trained and scored at each of
    ``retrain_res`` (model ``<name>@retrained``, as the FNO paper's FCN); with ``train_file``, the
    least-squares linear map fitted on the first ``n_full`` training samples at each of those
    resolutions (model ``linear_lstsq``)."""
    rows = []
    for model in models:
        for n in n_trains:
            for seed in seeds:
                t = load(model, res, n, seed)
                for r in ladder:
                    rows.append({"model": model, "seed": seed, "train_res": res, "n_train": n, "eval_res": r,
                                 **score(t, set_dir / f"restricted_s{r}.nc")})
    for model in retrained:
        for r in retrain_res:
            for seed in seeds:
                rows.append({"model": f"{model}@retrained", "seed": seed, "train_res": r, "n_train": n_full,
                             "eval_res": r, **score(load(model, r, n_full, seed), set_dir / f"restricted_s{r}.nc")})
    if train_file is not None:
        for r in retrain_res:
            a, u, _ = read_pair(train_file(r))
            fit = LinearMap(a[:n_full], u[:n_full])
            ta, tu, _ = read_pair(set_dir / f"restricted_s{r}.nc")
            err = float(np.mean(rel_l2(fit.predict(ta), tu)))
            rows += [{"model": "linear_lstsq", "seed": seed, "train_res": r, "n_train": n_full, "eval_res": r,
                      "rel_l2": err} for seed in seeds]
    return pd.DataFrame(rows)


def scale(load: Loader, models: Sequence[str], res: int, n: int, seeds: Sequence[int], lambdas: Sequence[float],
          taus: Sequence[float], base_tau: float, set_dir: Path) -> pd.DataFrame:
    rows = []
    for model in models:
        for seed in seeds:
            t = load(model, res, n, seed)
            for lam in lambdas:
                rows.append({"model": model, "seed": seed, "kind": "equivariance", "param": float(lam),
                             "value": equivariance_error(t, set_dir / f"restricted_s{res}.nc", float(lam))})
            for tau in [base_tau, *taus]:
                rows.append({"model": model, "seed": seed, "kind": "tau", "param": float(tau),
                             "value": score(t, set_dir / f"tau_{float(tau):g}.nc")["rel_l2"]})
    return pd.DataFrame(rows)


def input_families(load: Loader, models: Sequence[str], res: int, n: int, seeds: Sequence[int],
                   set_dir: Path) -> pd.DataFrame:
    """Relative L2 per family, and ``abs_err``: the RMS of the error over the RMS of the input. Every
    family has the inputs' RMS of the GRF test set, so ``abs_err`` weighs families alike, where the
    relative error lets a family whose outputs are tiny (rough inputs under heat) dominate."""
    rows = []
    for model in models:
        for seed in seeds:
            t = load(model, res, n, seed)
            for fam in ("grf", *FAMILIES):
                path = set_dir / (f"restricted_s{res}.nc" if fam == "grf" else f"family_{fam}.nc")
                rows.append({"model": model, "seed": seed, "family": fam, **score(t, path),
                             "abs_err": normalised_abs_error(t, path)})
    return pd.DataFrame(rows)


def normalised_abs_error(trained, path: Path) -> float:
    """RMS(prediction - truth) / RMS(input) over one test file."""
    a, u, ds = read_pair(path)
    pred = trained.predict(a, ds["x"].values)
    return float(np.sqrt(np.mean((pred - u) ** 2)) / np.sqrt(np.mean(np.asarray(a, np.float64) ** 2)))


def quadrature(load: Loader, models: Sequence[str], res: int, n: int, seeds: Sequence[int],
               test_files: Mapping[str, Path]) -> pd.DataFrame:
    """Error against the exact integral per point set; when the test files hold the coarse rule
    (``data.coarse_left_rule``), also ``rule_fraction`` (the share of the rule's error a model
    reproduces), ``rel_to_rule`` (its error against the rule it was trained on) and ``rule_gap``
    (the rule's own error against the exact integral)."""
    rows = []
    for model in models:
        for seed in seeds:
            t = load(model, res, n, seed)
            for name, path in test_files.items():
                row = {"model": model, "model_type": t.kind, "seed": seed, "points": name, **score(t, path)}
                ds = read_pair(path)[2]
                if "rule" in ds:
                    a, exact, rule = ds["a"].values, ds["u"].values, ds["rule"].values
                    pred = t.predict(a, ds["x"].values)
                    row.update(rule_fraction=float(np.mean(rule_fraction(pred, exact, rule))),
                               rel_to_rule=float(np.mean(rel_l2(pred, rule))),
                               rule_gap=float(np.mean(rel_l2(rule, exact))))
                rows.append(row)
    return pd.DataFrame(rows)
