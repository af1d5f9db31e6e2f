"""One figure per claim experiment, drawn from its measurement table (mean over seeds, bars: min-max)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from opbench.report.figures import model_colours, save_figure


def _stats(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    return frame.groupby(keys, sort=False)[value].agg(["mean", "min", "max"]).reset_index()


def _line(ax, x, s: pd.DataFrame, colour: str, label: str, style: str = "-") -> None:
    # clipped at 0: the mean of equal values (a deterministic baseline, every seed alike) can round
    # a hair outside their min and max
    yerr = [(s["mean"] - s["min"]).clip(lower=0), (s["max"] - s["mean"]).clip(lower=0)]
    ax.errorbar(x, s["mean"], yerr=yerr, fmt=style + "o", color=colour, label=label, capsize=2, markersize=3)


def discretization(m: pd.DataFrame, train_res: int, path: Path) -> Path:
    matrix_models = [k for k, g in m.groupby("model", sort=False) if g["train_res"].nunique() > 1]
    fig = Figure(figsize=(4.5 * (1 + len(matrix_models)), 3.6))
    axes = fig.subplots(1, 1 + len(matrix_models), squeeze=False)[0]
    colours = model_colours(list(pd.unique(m["model"])))
    base = m[(m["train_res"] == train_res) & m["truth"].isin(["restricted", "fresh"])]
    for (model, truth), g in base.groupby(["model", "truth"], sort=False):
        s = _stats(g, ["eval_res"], "rel_l2").sort_values("eval_res")
        _line(axes[0], s["eval_res"], s, colours[model], f"{model} ({truth})", "-" if truth == "restricted" else "--")
    axes[0].set(xscale="log", yscale="log", xlabel="evaluation resolution", ylabel="relative L2")
    axes[0].set_title(f"trained at {train_res}; solid: restricted, dashed: fresh truth", fontsize=8)
    axes[0].legend(fontsize=6)
    for ax, model in zip(axes[1:], matrix_models, strict=True):
        g = m[(m["model"] == model) & (m["truth"] == "restricted")]
        pivot = g.groupby(["train_res", "eval_res"])["rel_l2"].mean().unstack()
        im = ax.imshow(np.log10(pivot.to_numpy()), cmap="viridis", aspect="auto")
        ax.set_xticks(range(pivot.shape[1]), [str(c) for c in pivot.columns])
        ax.set_yticks(range(pivot.shape[0]), [str(r) for r in pivot.index])
        for i in range(pivot.shape[0]):
            for j in range(pivot.shape[1]):
                ax.text(j, i, f"{pivot.iat[i, j]:.2g}", ha="center", va="center", fontsize=7, color="w")
        ax.set(xlabel="evaluation resolution", ylabel="training resolution", title=f"{model}: log10 error")
        fig.colorbar(im, ax=ax, shrink=0.8)
    return save_figure(fig, path)


def finite_vectors(m: pd.DataFrame, train_res: int, path: Path) -> Path:
    fig = Figure(figsize=(9, 3.6))
    a0, a1 = fig.subplots(1, 2)
    colours = model_colours(list(pd.unique(m["model"])))
    n_full = int(m["n_train"].max())
    for model, g in m.groupby("model", sort=False):
        s = _stats(g[g["eval_res"] == train_res], ["n_train"], "rel_l2").sort_values("n_train")
        _line(a0, s["n_train"], s, colours[model], model)
        s = _stats(g[g["n_train"] == n_full], ["eval_res"], "rel_l2").sort_values("eval_res")
        _line(a1, s["eval_res"], s, colours[model], model)
    a0.set(xscale="log", yscale="log", xlabel="training samples", ylabel=f"relative L2 at {train_res}",
           title="learning curve")
    a1.set(xscale="log", yscale="log", xlabel="evaluation resolution", ylabel="relative L2",
           title=f"across the ladder (n_train={n_full})")
    a0.legend(fontsize=7)
    return save_figure(fig, path)


def scale(m: pd.DataFrame, path: Path) -> Path:
    fig = Figure(figsize=(9, 3.6))
    a0, a1 = fig.subplots(1, 2)
    colours = model_colours(list(pd.unique(m["model"])))
    for model, g in m.groupby("model", sort=False):
        for ax, kind in ((a0, "equivariance"), (a1, "tau")):
            sel = g[(g["kind"] == kind) & ((g["param"] != 1.0) | (kind != "equivariance"))]  # lambda=1: exactly 0
            s = _stats(sel, ["param"], "value").sort_values("param")
            _line(ax, s["param"], s, colours[model], model)
    a0.set(xscale="log", yscale="log", xlabel="lambda", ylabel="||M(lambda a) - lambda M(a)|| / ||lambda M(a)||",
           title="equivariance error of the linear heat operator")
    a1.set(yscale="log", xlabel="GRF tau of the test inputs", ylabel="relative L2", title="length-scale shift")
    a0.legend(fontsize=7)
    return save_figure(fig, path)


def _bars(m: pd.DataFrame, group: str, path: Path, title: str) -> Path:
    fig = Figure(figsize=(8, 3.6))
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
    ax.set(yscale="log", ylabel="relative L2", title=title)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def input_families(m: pd.DataFrame, path: Path) -> Path:
    return _bars(m, "family", path, "error per input family (trained on GRF)")


def quadrature(m: pd.DataFrame, path: Path) -> Path:
    return _bars(m, "points", path, "antiderivative: error against exact integrals per point set")
