"""Evaluation sets of the claim experiments, written as opbench NetCDF files (``a``, ``u``, ``x``).

* ``restricted_s{r}`` / ``fresh_s{r}``: the same test inputs on every rung; truth either the
  restriction of the fine-grid solution (as the base data stage) or a fresh solve at ``r`` from the
  restricted input, so aliasing of the data is separated from the error of a model.
* ``family_{name}``: other input families (smoother/rougher GRFs, steps, sines) solved by the PDE's
  own solver on the fine grid and restricted to the training resolution; for a two-valued
  coefficient (Darcy) the same four names are thresholded fields with the entry's two values
  (``two_valued_family``).
* ``tau_{tau}``: GRF inputs of another length scale.
* The antiderivative task: f ~ GRF, targets from the trapezoid rule on the training grid for
  training, exact integrals on other grids and on non-uniform (Chebyshev, random) points for tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from opbench.data.netcdf import coordinate, write_netcdf
from opbench.experiments.plan import experiment_pde_types, input_kind
from opbench.seeding import sample_streams, stream
from opbench.solvers import get_pde
from opbench.solvers.grf import periodic_grf

FAMILIES = ("grf_smooth", "grf_rough", "steps", "sines")


def solver_of(cfg: Mapping[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """The PDE's ``solve`` with the entry's parameters, for inputs (B, *grid) on its own grid.

    The sets compare one static output per input, drawn, restricted by striding (nested grids) and
    solved again on the PDE's own grid (periodic or vertex, any dimension), so the PDE must be a
    static map whose inputs the sets know how to draw (``input_kind``)."""
    pde = get_pde(cfg["type"])
    if input_kind(cfg) is None:
        raise ValueError(f"experiments.pde: type {cfg['type']!r} is not a static map with known input families "
                         f"(allowed: {', '.join(experiment_pde_types())})")
    params = pde.parameters(cfg)
    return lambda a: pde.solve(a, params)


def dataset(a: np.ndarray, u: np.ndarray, x: np.ndarray, attrs: Mapping[str, Any]) -> xr.Dataset:
    """A set of inputs ``a`` and truths ``u`` (N, *grid) on a square grid whose every axis has the
    coordinates ``x`` (axes named x, y as in the base data stage)."""
    axes = ("sample", *("x", "y")[: a.ndim - 1])
    x = np.asarray(x, np.float64)
    coords = {"sample": np.arange(a.shape[0]),
              **{ax: coordinate(ax, x, f"position {ax} on the unit domain") for ax in axes[1:]}}
    return xr.Dataset(
        {"a": (axes, a.astype(np.float32)), "u": (axes, u.astype(np.float32))},
        coords=coords, attrs={str(k): v for k, v in attrs.items()},
    )


def family_inputs(name: str, rngs: Sequence[np.random.Generator], n_fine: int, grf: Mapping[str, float],
                  rms: float) -> np.ndarray:
    """Inputs of one family on the fine periodic grid, zero mean, scaled to root-mean-square ``rms``."""
    x = np.arange(n_fine) / n_fine
    if name == "grf_smooth":
        a = periodic_grf(rngs, n_fine, **{**grf, "alpha": grf["alpha"] + 1.0})
    elif name == "grf_rough":
        a = periodic_grf(rngs, n_fine, **{**grf, "alpha": max(grf["alpha"] - 0.5, 0.75)})
    elif name == "steps":
        rows = []
        for rng in rngs:
            jumps = np.sort(rng.uniform(0, 1, rng.integers(3, 7)))
            levels = rng.standard_normal(jumps.size)
            rows.append(levels[np.searchsorted(jumps, x, side="right") % jumps.size])
        a = np.stack(rows)
    elif name == "sines":
        rows = []
        for rng in rngs:
            k = rng.integers(3, 7, size=3)
            phase = rng.uniform(0, 2 * np.pi, size=3)
            rows.append(np.sin(2 * np.pi * k[:, None] * x[None] + phase[:, None]).sum(axis=0))
        a = np.stack(rows)
    else:
        raise ValueError(f"unknown input family {name!r} (allowed: {', '.join(FAMILIES)})")
    a = a - a.mean(axis=1, keepdims=True)
    return a * (rms / np.sqrt((a**2).mean(axis=1, keepdims=True)))


def two_valued_family(name: str, rngs: Sequence[np.random.Generator], n_fine: int, cfg: Mapping[str, Any]
                      ) -> np.ndarray:
    """Coefficients (B, n, n) of one family for a two-valued-input PDE (Darcy), on its fine vertex grid.

    Every family keeps the entry's two values (``a_high`` where a field is >= 0, else ``a_low``, the
    PDE's own threshold), so only the geometry of the interfaces changes, never the contrast:
    ``grf_smooth`` / ``grf_rough`` threshold the entry's own GRF with ``alpha`` + 1 / - 0.5 (larger,
    rounder blobs / ragged, finer ones; alpha stays above 1.25 so the 2D field has finite variance);
    ``steps`` are axis-aligned blocks (2-5 random cuts per axis, a random sign per block: straight
    interfaces meeting at corners, which the GRF data never shows); ``sines`` threshold a sum of three
    plane waves sin(pi (k x + l y) + phase), k, l in 1..4 (periodic stripes and checkerboards)."""
    from opbench.solvers.darcy import threshold

    pde = get_pde(cfg["type"])
    params, grf = pde.parameters(cfg), dict(cfg["grf"])
    if name in ("grf_smooth", "grf_rough"):
        alpha = grf["alpha"] + 1.0 if name == "grf_smooth" else max(grf["alpha"] - 0.5, 1.25)
        return pde.generate(rngs, n_fine, {**cfg, "grf": {**grf, "alpha": alpha}})["a"]
    x = pde.grid.coords(n_fine)
    rows = []
    for rng in rngs:
        if name == "steps":
            cuts = [np.sort(rng.uniform(0.1, 0.9, rng.integers(2, 6))) for _ in range(2)]
            levels = rng.standard_normal((cuts[0].size + 1, cuts[1].size + 1))
            field = levels[np.searchsorted(cuts[0], x)[:, None], np.searchsorted(cuts[1], x)[None, :]]
        elif name == "sines":
            k, phase = rng.integers(1, 5, size=(3, 2)), rng.uniform(0, 2 * np.pi, size=3)
            field = sum(np.sin(np.pi * (kk[0] * x[:, None] + kk[1] * x[None, :]) + ph)
                        for kk, ph in zip(k, phase, strict=True))
        else:
            raise ValueError(f"unknown input family {name!r} (allowed: {', '.join(FAMILIES)})")
        rows.append(field)
    return threshold(np.stack(rows), params.a_high, params.a_low)


def write_pde_sets(*, seed: int, pde: str, cfg: Mapping[str, Any], ladder: Sequence[int], train_res: int,
                   n_test: int, taus: Sequence[float], out_dir: str | Path) -> list[Path]:
    """Write every evaluation set of the PDE experiments under ``out_dir``; return the paths.

    Any static PDE of ``input_kind`` not None, on its own grid (periodic or vertex, 1D or 2D): the
    test inputs are the base data stage's (the same streams; a two-valued PDE's through its own
    ``generate``), restricted to each rung with the grid's own stride (``Grid.restrict``)."""
    out_dir, fine = Path(out_dir), int(cfg["fine_res"])
    spec, kind = get_pde(cfg["type"]), input_kind(cfg)
    written = []
    solve = solver_of(cfg)

    def restrict(f: np.ndarray, r: int) -> np.ndarray:
        return spec.grid.restrict(f, fine, r, spec.ndim)

    def draw(rngs: Sequence[np.random.Generator], grf: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and their fine-grid solutions: a GRF of parameters ``grf`` (the PDE's own draw)."""
        if kind == "signed":
            a = periodic_grf(rngs, fine, **grf)
            return a, solve(a)
        out = spec.generate(rngs, fine, {**cfg, "grf": dict(grf)})
        return out["a"], out["u"]

    a, u = draw(sample_streams(seed, pde, "test", range(n_test)), cfg["grf"])
    for r in ladder:
        a_r = restrict(a, r)
        for truth, u_r in (("restricted", restrict(u, r)), ("fresh", solve(a_r))):
            path = out_dir / f"{truth}_s{r}.nc"
            write_netcdf(dataset(a_r, u_r, spec.grid.coords(r), {"truth": truth, "resolution": r, "pde": pde}), path)
            written.append(path)
    x_tr = spec.grid.coords(train_res)
    rms = float(np.sqrt((a**2).mean()))
    for name in FAMILIES:
        rngs = [stream(seed, "family", pde, name, i) for i in range(n_test)]
        fa = family_inputs(name, rngs, fine, cfg["grf"], rms) if kind == "signed" else \
            two_valued_family(name, rngs, fine, cfg)
        path = out_dir / f"family_{name}.nc"
        write_netcdf(dataset(restrict(fa, train_res), restrict(solve(fa), train_res), x_tr,
                             {"family": name, "pde": pde}), path)
        written.append(path)
    for tau in [float(cfg["grf"]["tau"]), *taus]:
        rngs = [stream(seed, "tau", pde, str(tau), i) for i in range(n_test)]
        ta, tu = draw(rngs, {**cfg["grf"], "tau": tau})
        path = out_dir / f"tau_{tau:g}.nc"
        write_netcdf(dataset(restrict(ta, train_res), restrict(tu, train_res), x_tr, {"tau": tau, "pde": pde}), path)
        written.append(path)
    return written


# --- the antiderivative task ------------------------------------------------------------------

def trig_coefficients(f: np.ndarray) -> np.ndarray:
    """Coefficients c_k (k = 0..n/2 - 1) of the trigonometric polynomial through samples (B, n);
    the Nyquist mode is dropped so the polynomial is real at every point."""
    return np.fft.rfft(f, axis=-1)[:, : f.shape[-1] // 2] / f.shape[-1]


def eval_trig(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    """f(x) = c_0 + 2 Re sum_{k>=1} c_k e^{2 pi i k x} at points x (m,)."""
    k = np.arange(c.shape[-1])
    e = np.exp(2j * np.pi * np.outer(x, k))  # (m, K)
    w = np.where(k == 0, 1.0, 2.0)
    return np.real((c * w) @ e.T)


def exact_antiderivative(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    """int_0^x f for the trigonometric polynomial of coefficients c with c_0 = 0."""
    k = np.arange(1, c.shape[-1])
    phase = (np.exp(2j * np.pi * np.outer(x, k)) - 1.0) / (2j * np.pi * k)  # (m, K-1)
    return np.real(2 * c[:, 1:] @ phase.T) + np.real(c[:, :1]) * x[None]


def trapezoid_antiderivative(f: np.ndarray) -> np.ndarray:
    """Cumulative trapezoid rule on the periodic grid x_j = j/n: F_0 = 0, F_j = sum_{i<j} (f_i + f_{i+1}) / 2n."""
    n = f.shape[-1]
    inc = 0.5 * (f + np.roll(f, -1, axis=-1)) / n
    return np.concatenate([np.zeros_like(f[:, :1]), np.cumsum(inc[:, :-1], axis=-1)], axis=-1)


def coarse_left_rule(c: np.ndarray, x: np.ndarray, cells: int) -> np.ndarray:
    """The left Riemann sum on ``cells`` uniform cells of [0, 1) as a function of x: the exact integral
    from 0 to x of f's piecewise-constant left interpolant, f(jH) on [jH, (j+1)H), H = 1 / cells.

    A first-order rule on a coarse grid, fixed in physical space: its gap to the exact integral is
    large (>= 10x the models' errors), so a model's predictions can be told apart as "the rule" or
    "the integral" at any point set (claim 2's oracle)."""
    h = 1.0 / cells
    nodes = np.arange(cells) * h
    width = np.clip(np.asarray(x, np.float64)[:, None] - nodes[None], 0.0, h)  # (m, cells)
    return eval_trig(c, nodes) @ width.T


def rule_fraction(pred: np.ndarray, exact: np.ndarray, rule: np.ndarray) -> np.ndarray:
    """Per sample, the fraction of the rule's error a prediction reproduces:
    <pred - exact, rule - exact> / ||rule - exact||^2 (1: it gives the rule, 0: the exact integral)."""
    d = np.asarray(rule, np.float64) - exact
    return np.sum((np.asarray(pred, np.float64) - exact) * d, axis=-1) / np.sum(d * d, axis=-1)


def point_sets(seed: int, n: int) -> dict[str, np.ndarray]:
    """Non-uniform point sets of n points in [0, 1): Chebyshev (clustered at the ends) and random."""
    cheb = 0.5 * (1.0 - np.cos(np.pi * (np.arange(n) + 0.5) / n))
    rand = np.sort(stream(seed, "antiderivative", "random-points").uniform(0.0, 1.0, n))
    return {"chebyshev": cheb, "random": rand}


def write_antiderivative(*, seed: int, grf: Mapping[str, float], n_fine: int, train_res: int,
                         ladder: Sequence[int], samples: Mapping[str, int], out_dir: str | Path,
                         rule_cells: int | None = None) -> list[Path]:
    """Train/val files and test files (exact integrals ``u``). Training targets are the trapezoid rule
    on the training grid, or with ``rule_cells`` the coarse left rule (``coarse_left_rule``), whose
    values every test file also holds as ``rule`` so a prediction can be placed between the two."""
    out_dir, written = Path(out_dir), []

    def draw(split: str, n: int) -> np.ndarray:
        f = periodic_grf([stream(seed, "antiderivative", split, i) for i in range(n)], n_fine, **grf)
        c = trig_coefficients(f)
        c[:, 0] = 0.0
        return c

    x_tr = np.arange(train_res) / train_res
    targets = "trapezoid" if rule_cells is None else f"left rule, {rule_cells} cells"
    for split in ("train", "val"):
        c = draw(split, samples[split])
        f = eval_trig(c, x_tr)
        u = trapezoid_antiderivative(f) if rule_cells is None else coarse_left_rule(c, x_tr, rule_cells)
        path = out_dir / f"{split}_s{train_res}.nc"
        write_netcdf(dataset(f, u, x_tr, {"targets": targets, "split": split}), path)
        written.append(path)
    c = draw("test", samples["test"])
    sets = {f"uniform_s{r}": np.arange(r) / r for r in ladder} | point_sets(seed, train_res)
    for name, x in sets.items():
        path = out_dir / f"test_{name}.nc"
        ds = dataset(eval_trig(c, x), exact_antiderivative(c, x), x, {"targets": "exact", "points": name,
                                                                      "rule": targets})
        if rule_cells is not None:
            ds["rule"] = (("sample", "x"), coarse_left_rule(c, x, rule_cells).astype(np.float32))
        write_netcdf(ds, path)
        written.append(path)
    return written
