"""Which trainings and evaluations the enabled claim experiments need (read by the workflow).

A *cell* is one training setting ``(task, model, train_res, n_train)``; each is trained once per
seed and shared by every claim that needs it (claims 1, 4 and 5 evaluate the same PDE models).
``task`` is the experiments' PDE name or ``antiderivative``. Each claim's cells come from its
registry entry (``opbench.experiments.registry``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import numpy as np

from opbench.experiments.builtin_claims import ANTIDERIVATIVE
from opbench.experiments.registry import Cell, claim_specs, get_claim
from opbench.seeding import stream
from opbench.solvers import get_pde, pde_types

__all__ = [
    "ANTIDERIVATIVE",
    "Cell",
    "budget_recipe",
    "budgets",
    "cell_dir",
    "claim_cells",
    "claim_pdes",
    "claim_titles",
    "enabled_claims",
    "exp_pdes",
    "experiment_pde_types",
    "input_kind",
    "measurements_name",
    "measurements_path",
    "multiscale_runs",
    "pde_exp",
    "runs_root",
    "training_draw",
]


def claim_titles() -> dict[str, tuple[int, str]]:
    """key -> (number, title) of every registered claim (``opbench.experiments.registry``)."""
    return {s.key: (s.number, s.title) for s in claim_specs()}


def enabled_claims(cfg: Mapping[str, Any]) -> list[str]:
    """Enabled claims, in claim order (the others become 'not run' rows)."""
    exp = cfg.get("experiments") or {}
    claims = exp.get("claims") or {}
    return [s.key for s in claim_specs() if (claims.get(s.key) or {}).get("enabled", False)]


def exp_pdes(exp: Mapping[str, Any]) -> list[str]:
    """The PDEs the claims run on: ``experiments.pde`` (the table's rows), then ``also_pdes``."""
    return [exp["pde"], *[p for p in exp.get("also_pdes", []) if p != exp["pde"]]]


def input_kind(cfg: Mapping[str, Any]) -> str | None:
    """What the PDE's inputs are, which decides how the sets draw their input families:
    ``signed`` (zero-mean fields on a 1D periodic grid: heat, Burgers), ``two_valued`` (a coefficient
    taking the entry's ``a_high`` / ``a_low``, thresholded from a field: Darcy), or None (a PDE the
    claim sets cannot serve: time-dependent, or inputs of another kind)."""
    pde = get_pde(cfg["type"])
    if pde.time_dependent:
        return None
    if pde.static_1d_periodic:
        return "signed"
    names = {f.name for f in fields(pde.params_type)} if pde.params_type else set()
    return "two_valued" if {"a_high", "a_low"} <= names else None


def experiment_pde_types() -> list[str]:
    """PDE types the claim sets can serve (``input_kind`` not None)."""
    return [k for k in pde_types() if input_kind({"type": k}) is not None]


def pde_exp(exp: Mapping[str, Any], pde: str) -> dict[str, Any]:
    """The experiments block as it applies to one experiment PDE, with ``pde`` set to it.

    ``experiments.per_pde.<pde>`` overrides what a PDE of another grid cannot share with the main
    one: ``train_res``, ``n_train``, ``n_val``, a model's hyperparameters (``models.<m>``, merged
    over the shared ones, its ``training`` too: e.g. ``patch: 1`` on Darcy's odd vertex grids) and
    a claim's settings (``claims.<c>``: resolutions on its ladder, ``taus``, ``lambdas``, ...)."""
    over = (exp.get("per_pde") or {}).get(pde) or {}
    out = {**exp, **{k: v for k, v in over.items() if k not in ("models", "claims")}, "pde": pde}
    out["models"] = {}
    for name, spec in exp["models"].items():
        mine = (over.get("models") or {}).get(name) or {}
        merged = {**spec, **mine}
        if "training" in spec or "training" in mine:
            merged["training"] = {**(spec.get("training") or {}), **(mine.get("training") or {})}
        out["models"][name] = merged
    out["claims"] = {c: {**spec, **((over.get("claims") or {}).get(c) or {})} for c, spec in exp["claims"].items()}
    return out


def claim_pdes(exp: Mapping[str, Any], claim: str) -> list[str]:
    """The PDEs one claim runs on: every experiment PDE for a claim on the PDE's own test sets, the
    main one only for the others (claim 2 has its own task, claim 6 reads the Navier-Stokes runs)."""
    return exp_pdes(exp) if get_claim(claim).inputs == "pde_sets" else [exp["pde"]]


def measurements_path(claim: str, budget: int = 1, pde: str | None = None) -> str:
    """A claim's measurement table at one budget: on the main PDE (``pde`` None) or another one."""
    sub = f"{pde}/" if pde else ""
    return f"results/experiments/{claim}/{sub}{measurements_name(budget)}.csv"


def claim_cells(cfg: Mapping[str, Any], claim: str) -> list[Cell]:
    """The training cells one claim needs (its registry entry's ``cells``) on each of its PDEs,
    without duplicates."""
    exp = cfg["experiments"]
    spec = get_claim(claim)
    per = {p: pde_exp(exp, p) for p in claim_pdes(exp, claim)}
    return list(dict.fromkeys(cell for q in per.values() for cell in spec.cells(q, q["claims"][claim])))


def multiscale_runs(cfg: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """(pde, model, seed) of the base-pipeline runs claim 6 reads: every model of each of its PDEs."""
    from opbench.config import pde_models, pde_seeds

    c = cfg["experiments"]["claims"]["multiscale"]
    return [(p, m, s) for p in c["pdes"] for m in pde_models(cfg, p) for s in pde_seeds(cfg, p)]


def budgets(cfg: Mapping[str, Any]) -> list[int]:
    """The training budgets (``experiments.budgets``: multiples of the recipe's epochs), increasing."""
    return sorted({int(b) for b in (cfg.get("experiments") or {}).get("budgets", [1])})


def runs_root(budget: int = 1) -> str:
    """Where the runs of one budget live: ``runs`` for 1x, ``runs_x<b>`` for the others."""
    return "runs" if int(budget) == 1 else f"runs_x{int(budget)}"


def measurements_name(budget: int = 1) -> str:
    return "measurements" if int(budget) == 1 else f"measurements_x{int(budget)}"


def budget_recipe(recipe: Mapping[str, Any], budget: int) -> dict[str, Any]:
    """A training recipe at ``budget`` times its epochs; the learning-rate schedule is stretched alike
    (step_size times the budget) so that a budget changes how long, not how, a model trains."""
    out = dict(recipe)
    out["epochs"] = int(recipe["epochs"]) * int(budget)
    if "step_size" in recipe:
        out["step_size"] = int(recipe["step_size"]) * int(budget)
    return out


def training_draw(root_seed: int, task: str, seed: int, pool: int, n: int) -> np.ndarray:
    """Indices of seed ``seed``'s own draw of ``n`` training samples from a pool of ``pool``.

    Seeded by names (task and seed only), so every model of one seed trains on the same data (runs
    stay paired by seed), and draws are nested: the first n of a seed's permutation, whatever n, so a
    learning curve adds samples rather than changing them. Seeds differ in their data as well as in
    their initialisation, so the interval over seeds carries the training data's variation."""
    if n > pool:
        raise ValueError(f"n_train {n} exceeds the {pool} training samples of the pool")
    return np.sort(stream(root_seed, "experiment-data", task, int(seed)).permutation(pool)[:n])


def cell_dir(cell: Cell, budget: int = 1) -> str:
    task, model, res, n = cell
    return f"results/experiments/{runs_root(budget)}/{task}/{model}/r{res}_n{n}"
