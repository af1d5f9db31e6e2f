"""The six claims of the seed as registry entries: for each, its cells, measurement, effect and figure.

Each entry points at the claim's parts (effects in ``claims``, measurements in ``measure``, figures
in ``figures`` / ``multiscale``), imported when called so that planning the workflow stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opbench.experiments.registry import Cell, ClaimSpec, MeasureContext, register

ANTIDERIVATIVE = "antiderivative"


def _models(c: Mapping[str, Any]) -> list[str]:
    return list(c.get("models", []))


def _base(exp: Mapping[str, Any]) -> tuple[str, int, int]:
    return exp["pde"], int(exp["train_res"]), int(exp["n_train"])


def _same_setting_cells(exp: Mapping[str, Any], c: Mapping[str, Any]) -> list[Cell]:
    pde, res, n = _base(exp)
    return [(pde, m, res, n) for m in _models(c)]


def _c():
    from opbench.experiments import claims

    return claims


def _F():
    from opbench.experiments import figures

    return figures


def _measure():
    from opbench.experiments import measure

    return measure


# ---------------------------------------------------------------- 1 discretization


def _discretization_cells(exp, c) -> list[Cell]:
    pde, res, n = _base(exp)
    cells = _same_setting_cells(exp, c)
    return cells + [(pde, m, int(r), n) for m in c.get("matrix_models", []) for r in c.get("matrix_res", [])]


def _discretization_measure(ctx: MeasureContext):
    _, res, n = _base(ctx.exp)
    models = _models(ctx.claim)
    cells = [(m, res, n) for m in models]
    cells += [(m, int(r), n) for m in ctx.claim.get("matrix_models", []) for r in ctx.claim.get("matrix_res", [])
              if int(r) != res or m not in models]
    return _measure().discretization(ctx.load, models, list(dict.fromkeys(cells)), ctx.exp["seeds"], ctx.ladder,
                                     ctx.set_dir)


register(ClaimSpec(
    "discretization", 1, "Discretization invariance",
    effect=lambda m, con, ref, exp: _c().discretization(m, con, ref, int(exp["train_res"])),
    cells=_discretization_cells, measure=_discretization_measure,
    figure=lambda m, exp, path: _F().discretization(m, int(exp["train_res"]), path)))


# ---------------------------------------------------------------- 2 quadrature


def _quadrature_cells(exp, c) -> list[Cell]:
    _, res, n = _base(exp)
    return [(ANTIDERIVATIVE, m, res, n) for m in _models(c)]


register(ClaimSpec(
    "quadrature", 2, "Quadrature transfer",
    effect=lambda m, con, ref, exp: _c().quadrature(m, con, ref, int(exp["train_res"])),
    cells=_quadrature_cells,
    measure=lambda ctx: _measure().quadrature(ctx.load, _models(ctx.claim), *_base(ctx.exp)[1:], ctx.exp["seeds"],
                                              {k: Path(v) for k, v in (ctx.anti_tests or {}).items()}),
    figure=lambda m, exp, path: _F().quadrature(m, path), inputs="antiderivative"))


# ---------------------------------------------------------------- 3 finite vectors


def _n_trains(exp, c) -> list[int]:
    return sorted({*c.get("n_train", []), int(exp["n_train"])})


def _finite_vectors_cells(exp, c) -> list[Cell]:
    pde, res, n = _base(exp)
    cells = [(pde, m, res, k) for m in _models(c) for k in _n_trains(exp, c)]
    # the FNO paper's finite-vector failure: a dense network retrained at each resolution
    return cells + [(pde, m, int(r), n) for m in c.get("retrained", []) for r in c.get("retrain_res", [])]


def _finite_vectors_data(exp, c) -> list[int]:
    """Resolutions of the training data the least-squares map is fitted on."""
    return [int(r) for r in c.get("retrain_res", [])] if c.get("linear_map", False) else []


def _finite_vectors_measure(ctx: MeasureContext):
    c, res = ctx.claim, int(ctx.exp["train_res"])
    return _measure().finite_vectors(ctx.load, _models(c), res, _n_trains(ctx.exp, c), ctx.exp["seeds"], ctx.ladder,
                                     ctx.set_dir, retrained=c.get("retrained", []),
                                     retrain_res=[int(r) for r in c.get("retrain_res", [])],
                                     train_file=ctx.train_file if c.get("linear_map", False) else None,
                                     n_full=int(ctx.exp["n_train"]))


register(ClaimSpec(
    "finite_vectors", 3, "Finite vectors against functions",
    effect=lambda m, con, ref, exp: _c().finite_vectors(m, con, ref, int(m["n_train"].max())),
    cells=_finite_vectors_cells, measure=_finite_vectors_measure, train_data=_finite_vectors_data,
    figure=lambda m, exp, path: _F().finite_vectors(m, int(exp["train_res"]), path)))


# ---------------------------------------------------------------- 4 scale


register(ClaimSpec(
    "scale", 4, "Scale invariance",
    effect=lambda m, con, ref, exp: _c().scale(m, con, ref, float(m.loc[m["kind"] == "tau", "param"].iloc[0]),
                                               exp["claims"]["scale"].get("primary", "length_scale")),
    cells=_same_setting_cells,
    measure=lambda ctx: _measure().scale(ctx.load, _models(ctx.claim), *_base(ctx.exp)[1:], ctx.exp["seeds"],
                                         ctx.claim["lambdas"], ctx.claim.get("taus", []), float(ctx.base_tau),
                                         ctx.set_dir),
    figure=lambda m, exp, path: _F().scale(m, path)))


# ---------------------------------------------------------------- 5 input families


register(ClaimSpec(
    "input_families", 5, "Input generalization",
    effect=lambda m, con, ref, exp: _c().input_families(m, con, ref),
    cells=_same_setting_cells,
    measure=lambda ctx: _measure().input_families(ctx.load, _models(ctx.claim), *_base(ctx.exp)[1:],
                                                  ctx.exp["seeds"], ctx.set_dir),
    figure=lambda m, exp, path: _F().input_families(m, path)))


# ---------------------------------------------------------------- 6 multi-scale Navier-Stokes


def _multiscale_measure(ctx: MeasureContext):
    from opbench.experiments.multiscale import measurements

    return measurements(list(ctx.metrics), list(ctx.spectra), ctx.nu or {})


def _multiscale_figure(m, exp, path):
    from opbench.experiments.multiscale import figure

    return figure(m, path)


register(ClaimSpec(
    "multiscale", 6, "Multi-scale (Navier-Stokes)",
    effect=lambda m, con, ref, exp: _c().multiscale(m, con, ref),
    cells=lambda exp, c: [],  # reads the base pipeline's Navier-Stokes runs (plan.multiscale_runs)
    measure=_multiscale_measure, figure=_multiscale_figure, inputs="base_runs"))
