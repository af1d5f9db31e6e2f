"""One figure per claim experiment, drawn from its measurement table (mean over seeds, bars: min-max)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import NullFormatter

from opbench.plotting import data_ticks_x, log_ticks, model_colours, readable_log_y, save_figure


def _stats(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    return frame.groupby(keys, sort=False)[value].agg(["mean", "min", "max"]).reset_index()


def _line(ax, x, s: pd.DataFrame, colour: str, label: str, style: str = "-") -> None:
    # clipped at 0: the mean of equal values (a deterministic baseline, every seed alike) can round
    # a hair outside their min and max
    yerr = [(s["mean"] - s["min"]).clip(lower=0), (s["max"] - s["mean"]).clip(lower=0)]
    ax.errorbar(x, s["mean"], yerr=yerr, fmt=style + "o", color=colour, label=label, capsize=2, markersize=3)


def _shared_norm(values: np.ndarray) -> Normalize:
    """One colour scale for panels that compare values: logarithmic when they span a decade or more."""
    v = values[np.isfinite(values) & (values > 0)]
    if v.size == 0:
        return Normalize(0.0, 1.0)
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        lo, hi = lo * 0.9, hi * 1.1
    return LogNorm(lo, hi) if hi / lo >= 10 else Normalize(lo, hi)


def _error_lines(ax, m: pd.DataFrame, train_res: int) -> None:
    """Error against evaluation resolution at the claim's training resolution, with a legend of
    models (colour) and truths (line style) beside the panel."""
    models = list(pd.unique(m["model"]))
    colours = model_colours(models)
    base = m[(m["train_res"] == train_res) & m["truth"].isin(["restricted", "fresh"])]
    for (model, truth), g in base.groupby(["model", "truth"], sort=False):
        s = _stats(g, ["eval_res"], "rel_l2").sort_values("eval_res")
        _line(ax, s["eval_res"], s, colours[model], f"{model} ({truth})", "-" if truth == "restricted" else "--")
    ax.axvline(train_res, color="0.4", ls=":", lw=1.2)
    data_ticks_x(ax, pd.unique(base["eval_res"]), base=2)
    readable_log_y(ax)
    ax.set(xlabel="evaluation resolution (grid points)", ylabel="relative L2 error (test set)")
    ax.set_title(f"trained at s = {train_res} (dotted line)", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    handles = [Line2D([], [], color=colours[k], marker="o", ms=4, label=k) for k in models
               if k in set(base["model"])]
    handles += [Line2D([], [], color="0.2", ls="-", label="restricted truth"),
                Line2D([], [], color="0.2", ls="--", label="fresh truth"),
                Line2D([], [], color="0.4", ls=":", label=f"training resolution {train_res}")]
    ax.legend(handles=handles, fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1.0))


MATRIX_COLUMNS = 2  # heatmaps per row: wide enough cells for a three-digit value at 8 pt


def _matrix_height(m: pd.DataFrame, models: list[str]) -> float:
    """Inches for the heatmap rows: 0.45 in per training resolution plus the labels, per row of panels."""
    rows = -(-len(models) // MATRIX_COLUMNS)
    n_train = int(m.loc[m["model"].isin(models), "train_res"].nunique())
    return rows * (0.45 * n_train + 0.9) + 0.5


def _error_matrices(fig, m: pd.DataFrame, models: list[str]) -> None:
    """One heatmap per model (training x evaluation resolution), two to a row on shared axes, all on
    one colour scale with one colour bar; the cells at the training resolution are outlined."""
    pivots = {k: m[(m["model"] == k) & (m["truth"] == "restricted")]
              .groupby(["train_res", "eval_res"])["rel_l2"].mean().unstack() for k in models}
    norm = _shared_norm(np.concatenate([p.to_numpy().ravel() for p in pivots.values()]))
    ncols = min(MATRIX_COLUMNS, len(models))
    nrows = -(-len(models) // ncols)
    grid = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    axes = list(grid.ravel())
    image = None
    for ax, model in zip(axes, models, strict=False):
        pivot = pivots[model]
        values = pivot.to_numpy()
        image = ax.imshow(values, cmap="viridis", norm=norm, aspect="auto")
        ax.set_xticks(range(pivot.shape[1]), [str(c) for c in pivot.columns])
        ax.set_yticks(range(pivot.shape[0]), [str(r) for r in pivot.index])
        ax.tick_params(labelsize=8, labelbottom=True)
        for i, r in enumerate(pivot.index):
            for j, c in enumerate(pivot.columns):
                v = values[i, j]
                if not np.isfinite(v):
                    continue
                dark = norm(v) < 0.6  # viridis is dark below ~60%: white text there
                ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=8, color="w" if dark else "k")
                if int(r) == int(c):
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="#d62728", lw=2))
        ax.set_title(model, fontsize=9)
    for ax in axes[len(models):]:
        ax.set_visible(False)
    fig.supxlabel("evaluation resolution (grid points)", fontsize=9)
    fig.supylabel("training resolution (grid points)", fontsize=9)
    scale = "log scale" if isinstance(norm, LogNorm) else "linear scale"
    bar = fig.colorbar(image, ax=axes[: len(models)], shrink=0.9)
    bar.set_label(f"relative L2 error ({scale}, shared)", fontsize=8)
    bar.ax.tick_params(labelsize=8)
    if isinstance(norm, LogNorm):  # plain-number labels at 1-2-5 steps, minor ticks unlabelled
        ticks = log_ticks(norm.vmin, norm.vmax)
        bar.set_ticks(ticks, labels=[f"{v:g}" for v in ticks])
        bar.ax.yaxis.set_minor_formatter(NullFormatter())
    fig.suptitle("restricted truth, mean over seeds; red outline: evaluated at the training resolution", fontsize=9)


def discretization_figure(m: pd.DataFrame, train_res: int) -> Figure:
    """Claim 1: error against evaluation resolution (top) and, for the models trained at several
    resolutions, the training x evaluation matrix of errors on one shared colour scale (below)."""
    matrix_models = [k for k, g in m.groupby("model", sort=False) if g["train_res"].nunique() > 1]
    below = _matrix_height(m, matrix_models) if matrix_models else 0.0
    fig = Figure(figsize=(9.0, 3.8 + below), layout="constrained")
    if matrix_models:
        top, bottom = fig.subfigures(2, 1, height_ratios=[3.8, below])
        _error_lines(top.subplots(), m, train_res)
        _error_matrices(bottom, m, matrix_models)
    else:
        _error_lines(fig.subplots(), m, train_res)
    return fig


def discretization(m: pd.DataFrame, train_res: int, path: Path) -> Path:
    """Claim 1's figure (``discretization_figure``) written to ``path``."""
    return save_figure(discretization_figure(m, train_res), path)


def finite_vectors(m: pd.DataFrame, train_res: int, path: Path) -> Path:
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    a0, a1 = fig.subplots(1, 2)
    colours = model_colours(list(pd.unique(m["model"])))
    n_full = int(m["n_train"].max())
    for model, g in m.groupby("model", sort=False):
        s = _stats(g[g["eval_res"] == train_res], ["n_train"], "rel_l2").sort_values("n_train")
        _line(a0, s["n_train"], s, colours[model], model)
        s = _stats(g[g["n_train"] == n_full], ["eval_res"], "rel_l2").sort_values("eval_res")
        _line(a1, s["eval_res"], s, colours[model], model)
    data_ticks_x(a0, pd.unique(m["n_train"]))
    data_ticks_x(a1, pd.unique(m.loc[m["n_train"] == n_full, "eval_res"]), base=2)
    a1.axvline(train_res, color="0.4", ls=":", lw=1.2, label=f"training resolution {train_res}")
    for ax in (a0, a1):
        readable_log_y(ax)
        ax.grid(True, which="major", alpha=0.3)
    a0.set(xlabel="training samples", ylabel=f"relative L2 error at s = {train_res}", title="learning curve")
    a1.set(xlabel="evaluation resolution (grid points)", ylabel="relative L2 error",
           title=f"across the ladder (n_train = {n_full})")
    a1.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return save_figure(fig, path)


def scale(m: pd.DataFrame, path: Path) -> Path:
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    a0, a1 = fig.subplots(1, 2)
    colours = model_colours(list(pd.unique(m["model"])))
    for model, g in m.groupby("model", sort=False):
        for ax, kind in ((a0, "equivariance"), (a1, "tau")):
            sel = g[(g["kind"] == kind) & ((g["param"] != 1.0) | (kind != "equivariance"))]  # lambda=1: exactly 0
            s = _stats(sel, ["param"], "value").sort_values("param")
            _line(ax, s["param"], s, colours[model], model)
    lambdas = m.loc[(m["kind"] == "equivariance") & (m["param"] != 1.0), "param"]
    data_ticks_x(a0, pd.unique(lambdas))
    for ax in (a0, a1):
        readable_log_y(ax)
        ax.grid(True, which="major", alpha=0.3)
    a0.set(xlabel="input scale lambda", ylabel="||M(lambda a) - lambda M(a)|| / ||lambda M(a)||",
           title="equivariance error of the linear heat operator")
    a1.set(xlabel="GRF length-scale parameter tau of the test inputs", ylabel="relative L2 error",
           title="length-scale shift")
    a1.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return save_figure(fig, path)


def _bars(m: pd.DataFrame, group: str, path: Path, title: str) -> Path:
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    ax = fig.subplots()
    models = list(pd.unique(m["model"]))
    colours = model_colours(models)
    groups = list(pd.unique(m[group]))
    width = 0.8 / len(models)
    for i, model in enumerate(models):
        s = _stats(m[m["model"] == model], [group], "rel_l2").set_index(group).reindex(groups)
        x = np.arange(len(groups)) + i * width
        ax.bar(x, s["mean"], width, color=colours[model], label=model,
               yerr=[(s["mean"] - s["min"]).clip(lower=0), (s["max"] - s["mean"]).clip(lower=0)], capsize=2)
    ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups, fontsize=7)
    readable_log_y(ax)
    ax.grid(True, axis="y", which="major", alpha=0.3)
    ax.set(ylabel="relative L2 error (test set)", title=title)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_figure(fig, path)


def input_families(m: pd.DataFrame, path: Path) -> Path:
    return _bars(m, "family", path, "error per input family (trained on GRF)")


def quadrature(m: pd.DataFrame, path: Path) -> Path:
    return _bars(m, "points", path, "antiderivative: error against exact integrals per point set")
