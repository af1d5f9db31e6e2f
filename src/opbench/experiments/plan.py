"""Which trainings and evaluations the enabled claim experiments need (read by the workflow).

A *cell* is one training setting ``(task, model, train_res, n_train)``; each is trained once per
seed and shared by every claim that needs it (claims 1, 4 and 5 evaluate the same PDE models).
``task`` is the experiments' PDE name or ``antiderivative``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CLAIMS = {
    "discretization": (1, "Discretization invariance"),
    "quadrature": (2, "Quadrature transfer"),
    "finite_vectors": (3, "Finite vectors against functions"),
    "scale": (4, "Scale invariance"),
    "input_families": (5, "Input generalization"),
    "multiscale": (6, "Multi-scale (Navier-Stokes)"),
}
RUNNABLE = ("discretization", "quadrature", "finite_vectors", "scale", "input_families", "multiscale")
ANTIDERIVATIVE = "antiderivative"

Cell = tuple[str, str, int, int]


def enabled_claims(cfg: Mapping[str, Any]) -> list[str]:
    """Enabled claims, in claim order (the others become 'not run' rows)."""
    exp = cfg.get("experiments") or {}
    claims = exp.get("claims") or {}
    return [c for c in RUNNABLE if (claims.get(c) or {}).get("enabled", False)]


def claim_cells(cfg: Mapping[str, Any], claim: str) -> list[Cell]:
    exp = cfg["experiments"]
    c = exp["claims"][claim]
    pde, res, n = exp["pde"], int(exp["train_res"]), int(exp["n_train"])
    models = list(c.get("models", []))
    if claim == "discretization":
        cells = [(pde, m, res, n) for m in models]
        cells += [(pde, m, int(r), n) for m in c.get("matrix_models", []) for r in c.get("matrix_res", [])]
    elif claim == "finite_vectors":
        cells = [(pde, m, res, int(k)) for m in models for k in sorted({*c["n_train"], n})]
    elif claim == "quadrature":
        cells = [(ANTIDERIVATIVE, m, res, n) for m in models]
    elif claim == "multiscale":
        cells = []  # reads the base pipeline's Navier-Stokes runs (multiscale_runs)
    else:
        cells = [(pde, m, res, n) for m in models]
    return list(dict.fromkeys(cells))


def multiscale_runs(cfg: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """(pde, model, seed) of the base-pipeline runs claim 6 reads: every model of each of its PDEs."""
    from opbench.config import pde_models, pde_seeds

    c = cfg["experiments"]["claims"]["multiscale"]
    return [(p, m, s) for p in c["pdes"] for m in pde_models(cfg, p) for s in pde_seeds(cfg, p)]


def all_cells(cfg: Mapping[str, Any]) -> list[Cell]:
    return list(dict.fromkeys(cell for claim in enabled_claims(cfg) for cell in claim_cells(cfg, claim)))


def cell_dir(cell: Cell) -> str:
    task, model, res, n = cell
    return f"results/experiments/runs/{task}/{model}/r{res}_n{n}"
