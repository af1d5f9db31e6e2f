"""Report figures, drawn with matplotlib's Agg canvas (no pyplot state) and written atomically.

Every function takes an explicit ``models`` order so a model keeps its colour across figures, and
returns the path it wrote, or None when there is nothing to draw.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator

from opbench.plotting import (  # noqa: F401 - model_colours, safe_name and save_figure are used through here
    PALETTE,
    data_ticks_x,
    log_ticks,
    model_colours,
    readable_log_y,
    safe_name,
    save_figure,
)
from opbench.report.verdicts import seed_mean

RunKey = tuple[str, str, int]


def _ordered(found: Sequence[str], models: Sequence[str] | None) -> list[str]:
    """``found`` in the order of ``models``, then those ``models`` does not name, without repeats."""
    preferred = [m for m in (models or []) if m in found]
    return list(dict.fromkeys([*preferred, *found]))


def _log2_axis(ax, ticks: Sequence[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sorted(ticks)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([str(t) for t in sorted(ticks)])


def plot_error_vs_resolution(
    metrics: pd.DataFrame, pde: str, path: Path, models: Sequence[str] | None = None
) -> Path | None:
    """Relative L2 error against evaluation resolution for one PDE.

    One line per model (mean over seeds), a band spanning the seeds' min..max, and a star at the
    training resolution.
    """
    agg = seed_mean(metrics[metrics["pde"] == pde])
    if agg.empty:
        return None
    found = list(pd.unique(agg["model"]))
    order = _ordered(found, models)
    colours = model_colours(_ordered(list(models or []) + found, None))
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for model in order:
        g = agg[agg["model"] == model].sort_values("eval_res")
        if g.empty:
            continue
        c = colours[model]
        x = g["eval_res"].to_numpy()
        ax.plot(x, g["rel_l2"], "-o", color=c, ms=4, lw=1.6, label=str(model))
        if (g["n_seeds"] > 1).any():
            ax.fill_between(x, g["rel_l2_min"], g["rel_l2_max"], color=c, alpha=0.18, lw=0)
        at_train = g[g["eval_res"] == g["train_res"]]
        ax.plot(at_train["eval_res"], at_train["rel_l2"], "*", color=c, ms=15, mec="black", mew=0.8)
    _log2_axis(ax, pd.unique(agg["eval_res"]))
    readable_log_y(ax)
    ax.set_xlabel("evaluation resolution (grid points per axis, log2 scale)")
    ax.set_ylabel("relative L2 error (test set)")
    ax.set_title(f"{pde}: error against resolution")
    ax.grid(True, which="both", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], ls="", marker="*", ms=12, mfc="white", mec="black"))
    labels.append("training resolution")
    ax.legend(handles, labels, fontsize=9, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_figure(fig, path)


def plot_error_overview(
    metrics: pd.DataFrame, pdes: Sequence[str], path: Path, models: Sequence[str] | None = None
) -> Path | None:
    """The page's central figure: error against evaluation resolution, every model, one panel per PDE.

    Panels share the log y axis (the same decade reads the same in every panel) and one legend; a
    star marks each model's training resolution, as in the per-PDE figures below it.
    """
    pdes = [p for p in pdes if not metrics[metrics["pde"] == p].empty]
    if not pdes:
        return None
    agg = seed_mean(metrics[metrics["pde"].isin(pdes)])
    colours = model_colours(_ordered(list(models or []) + list(pd.unique(agg["model"])), None))
    cols = min(len(pdes), 3)
    rows = -(-len(pdes) // cols)
    fig = Figure(figsize=(3.6 * cols + 1.8, 2.9 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, sharey=True, squeeze=False)).ravel()
    lo, hi = agg["rel_l2"].min(), agg["rel_l2"].max()
    for ax, pde in zip(axes, pdes, strict=False):
        g = agg[agg["pde"] == pde]
        for model in _ordered(list(pd.unique(g["model"])), models):
            gm = g[g["model"] == model].sort_values("eval_res")
            ax.plot(gm["eval_res"], gm["rel_l2"], "-o", color=colours[model], ms=3, lw=1.4, label=str(model))
            at = gm[gm["eval_res"] == gm["train_res"]]
            ax.plot(at["eval_res"], at["rel_l2"], "*", color=colours[model], ms=11, mec="black", mew=0.6)
        _log2_axis(ax, pd.unique(g["eval_res"]))
        ax.set_title(str(pde), fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.set_xlabel("grid points per axis", fontsize=8)
    for ax in axes[len(pdes):]:
        ax.set_visible(False)
    for ax in axes[:: cols]:
        ax.set_ylabel("relative L2 error", fontsize=8)
    for ax in axes[: len(pdes)]:
        readable_log_y(ax)
        ax.set_ylim(lo / 1.5, hi * 1.5)
    handles, labels = {}, []
    for ax in axes[: len(pdes)]:
        for hd, lb in zip(*ax.get_legend_handles_labels(), strict=True):
            if lb not in handles:
                handles[lb] = hd
                labels.append(lb)
    star = Line2D([], [], ls="", marker="*", ms=10, mfc="white", mec="black")
    fig.legend([handles[lb] for lb in labels] + [star], labels + ["training resolution"], fontsize=8,
               frameon=False, loc="outside right upper")
    return save_figure(fig, path)


def _resolutions(ds: xr.Dataset) -> list[int]:
    """The resolutions r for which ``ds`` holds ``pred_s{r}``, ascending."""
    found = (re.fullmatch(r"pred_s(\d+)", str(v)) for v in ds.data_vars)
    return sorted(int(m.group(1)) for m in found if m)


def is_2d(ds: xr.Dataset) -> bool:
    """Whether an examples dataset holds 2D fields (a ``y_s{r}`` dimension)."""
    return any(str(d).startswith("y_s") for d in ds.dims)


def _first_seed(examples: Mapping[RunKey, xr.Dataset], pde: str, model: str) -> xr.Dataset | None:
    seeds = sorted(k[2] for k in examples if k[0] == pde and k[1] == model)
    return examples[(pde, model, seeds[0])] if seeds else None


def plot_examples(
    examples: Mapping[RunKey, xr.Dataset],
    pde: str,
    train_res: int,
    path: Path,
    models: Sequence[str] | None = None,
    n_samples: int = 3,
) -> Path | None:
    """Predictions against truth at the training and the finest resolution, one column per model.

    1D: each panel overlays ``n_samples`` samples, prediction solid and truth dashed in one colour.
    2D: truth, prediction and absolute error of the first sample as images. Uses the lowest seed.
    """
    found = list(dict.fromkeys(k[1] for k in examples if k[0] == pde))
    order = _ordered(found, models)
    runs = {m: ds for m in order if (ds := _first_seed(examples, pde, m)) is not None}
    if not runs:
        return None
    all_res = sorted(set().union(*(_resolutions(ds) for ds in runs.values())))
    if not all_res:
        return None
    shown = [r for r in dict.fromkeys([train_res, all_res[-1]]) if r in all_res] or [all_res[-1]]
    first = next(iter(runs.values()))
    if is_2d(first):
        fig = _examples_2d(runs, shown, train_res)
    else:
        fig = _examples_1d(runs, shown, train_res, n_samples)
    fig.suptitle(f"{pde}: predictions against truth", fontsize=12)
    return save_figure(fig, path)


def _res_title(model: str, res: int, train_res: int) -> str:
    return f"{model}, s = {res}" + (" (training)" if res == train_res else f" ({res / train_res:.3g}x)")


def _examples_1d(runs: dict[str, xr.Dataset], shown: list[int], train_res: int, n_samples: int) -> Figure:
    ncol, nrow = len(runs), len(shown)
    fig = Figure(figsize=(3.6 * ncol + 0.4, 2.7 * nrow + 0.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(nrow, ncol, squeeze=False, sharex=True))
    for j, (model, ds) in enumerate(runs.items()):
        for i, res in enumerate(shown):
            ax = axes[i, j]
            if f"pred_s{res}" not in ds:
                ax.set_axis_off()
                ax.set_title(f"{model}: no s = {res}", fontsize=9)
                continue
            x = ds[f"x_s{res}"].to_numpy()
            truth, pred = ds[f"u_s{res}"].to_numpy(), ds[f"pred_s{res}"].to_numpy()
            for k in range(min(n_samples, truth.shape[0])):
                c = PALETTE[k % len(PALETTE)]
                ax.plot(x, truth[k], "--", color=c, lw=1.8, alpha=0.7)
                ax.plot(x, pred[k], "-", color=c, lw=1.0)
            ax.set_title(_res_title(model, res, train_res), fontsize=9)
            ax.tick_params(labelsize=8)
            ax.grid(True, alpha=0.3)
            if i == nrow - 1:
                ax.set_xlabel("x", fontsize=9)
    legend = [
        Line2D([], [], color="black", ls="-", lw=1.0, label="prediction"),
        Line2D([], [], color="black", ls="--", lw=1.8, alpha=0.7, label="truth"),
    ]
    fig.legend(handles=legend, loc="outside lower center", ncols=2, fontsize=9, frameon=False)
    return fig


def _examples_2d(runs: dict[str, xr.Dataset], shown: list[int], train_res: int) -> Figure:
    """Rows: resolutions. Columns: truth, each model's prediction, each model's absolute error."""
    models = list(runs)
    ncol, nrow = 1 + 2 * len(models), len(shown)
    fig = Figure(figsize=(1.9 * ncol + 1.2, 2.1 * nrow + 0.5))
    fig.subplots_adjust(left=0.02, right=0.9, bottom=0.03, top=0.86, wspace=0.08, hspace=0.3)
    axes = fig.subplots(nrow, ncol, squeeze=False)

    def field(ds: xr.Dataset, var: str, res: int) -> np.ndarray:
        return ds[var].isel(example=0).transpose(f"y_s{res}", f"x_s{res}").to_numpy()

    for i, res in enumerate(shown):
        have = [m for m in models if f"pred_s{res}" in runs[m]]
        truth = field(runs[have[0]], f"u_s{res}", res) if have else None
        preds = {m: field(runs[m], f"pred_s{res}", res) for m in have}
        errs = {m: np.abs(preds[m] - truth) for m in have}
        lo, hi = (float(np.nanmin(truth)), float(np.nanmax(truth))) if have else (0.0, 1.0)
        emax = max((float(np.nanmax(e)) for e in errs.values()), default=0.0) or 1.0
        tag = "training" if res == train_res else f"{res / train_res:.3g}x"
        cells = [("truth", truth, "viridis", lo, hi)]
        cells += [(f"{m}: prediction", preds.get(m), "viridis", lo, hi) for m in models]
        cells += [(f"{m}: |error|", errs.get(m), "magma", 0.0, emax) for m in models]
        images = {}
        for ax, (label, img, cmap, vmin, vmax) in zip(axes[i], cells, strict=True):
            ax.set_xticks([])
            ax.set_yticks([])
            if img is None:
                ax.set_axis_off()
                continue
            images[cmap] = ax.imshow(
                img, origin="lower", extent=(0, 1, 0, 1), cmap=cmap, vmin=vmin, vmax=vmax
            )
            ax.set_title(label, fontsize=8)
        axes[i, 0].set_ylabel(f"s = {res} ({tag})", fontsize=9)
        for k, cmap in enumerate(("viridis", "magma")):
            if cmap in images:
                box = axes[i, -1].get_position()
                cax = fig.add_axes((0.915 + 0.04 * k, box.y0, 0.012, box.height))
                fig.colorbar(images[cmap], cax=cax).ax.tick_params(labelsize=7)
    return fig


def plot_training_curves(
    histories: Mapping[RunKey, pd.DataFrame], pde: str, path: Path, models: Sequence[str] | None = None
) -> Path | None:
    """Train and validation loss per epoch (log y), one line per model, mean over seeds."""
    found = list(dict.fromkeys(k[1] for k in histories if k[0] == pde))
    if not found:
        return None
    order = _ordered(found, models)
    colours = model_colours(_ordered(list(models or []) + found, None))
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_train, ax_val = fig.subplots(1, 2, sharey=True)
    for model in order:
        frames = [h for k, h in histories.items() if k[0] == pde and k[1] == model]
        mean = pd.concat(frames).groupby("epoch")[["train_loss", "val_loss"]].mean().sort_index()
        for ax, col in ((ax_train, "train_loss"), (ax_val, "val_loss")):
            y = mean[col].where(mean[col] > 0)
            if y.notna().any():
                ax.plot(mean.index, y, color=colours[model], lw=1.5, label=str(model))
    for ax, title in ((ax_train, "training loss"), (ax_val, "validation loss")):
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(f"{pde}: {title}", fontsize=11)
        ax.grid(True, which="both", alpha=0.3)
    ax_train.set_ylabel("loss (mean over seeds)")
    ax_train.legend(fontsize=9, frameon=False)
    return save_figure(fig, path)


def plot_error_vs_step(
    steps: pd.DataFrame, pde: str, train_res: int, path: Path, models: Sequence[str] | None = None
) -> Path | None:
    """Rollout error per predicted time step at the training resolution: relative L2 (left) and the
    relative error of total enstrophy (right), one line per model, mean over seeds."""
    g = steps[(steps["pde"] == pde) & (steps["eval_res"] == train_res)]
    if g.empty:
        return None
    found = list(pd.unique(g["model"]))
    order = _ordered(found, models)
    colours = model_colours(_ordered(list(models or []) + found, None))
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_l2, ax_z = fig.subplots(1, 2, sharex=True)
    for model in order:
        mean = g[g["model"] == model].groupby("t")[["rel_l2_mean", "enstrophy_rel_error_mean"]].mean().sort_index()
        c = colours[model]
        ax_l2.plot(mean.index, mean["rel_l2_mean"], "-o", ms=3, color=c, lw=1.5, label=str(model))
        z = mean["enstrophy_rel_error_mean"].where(mean["enstrophy_rel_error_mean"] > 0)
        ax_z.plot(mean.index, z, "-o", ms=3, color=c, lw=1.5, label=str(model))
    for ax, title in ((ax_l2, "relative L2 error"), (ax_z, "relative error of total enstrophy")):
        ax.set_yscale("log")
        ax.set_xlabel("time of the predicted snapshot")
        ax.set_title(f"{pde}: {title}", fontsize=11)
        ax.grid(True, which="both", alpha=0.3)
    ax_l2.set_ylabel(f"test mean at s = {train_res}")
    ax_l2.legend(fontsize=9, frameon=False)
    return save_figure(fig, path)


def plot_spectrum(
    spectra: pd.DataFrame, pde: str, train_res: int, path: Path, models: Sequence[str] | None = None
) -> Path | None:
    """Energy and enstrophy spectra of the last predicted snapshot at the training resolution, log-log:
    truth dashed black, each model's prediction in its colour (test-set mean, lowest seed)."""
    g = spectra[(spectra["pde"] == pde) & (spectra["eval_res"] == train_res) & (spectra["k"] > 0)]
    if g.empty:
        return None
    g = g[g["seed"] == g["seed"].min()]
    found = list(pd.unique(g["model"]))
    order = _ordered(found, models)
    colours = model_colours(_ordered(list(models or []) + found, None))
    fig = Figure(figsize=(10, 3.9), layout="constrained")
    axes = fig.subplots(1, 2)
    truth = g[g["model"] == order[0]].sort_values("k")
    t_last = float(truth["t"].iloc[0])
    for ax, kind in zip(axes, ("energy", "enstrophy"), strict=True):
        ax.loglog(truth["k"], truth[f"{kind}_true"].where(truth[f"{kind}_true"] > 0), "--", color="black",
                  lw=2.0, label="truth")
        for model in order:
            m = g[g["model"] == model].sort_values("k")
            ax.loglog(m["k"], m[f"{kind}_pred"].where(m[f"{kind}_pred"] > 0), "-", color=colours[model], lw=1.3,
                      label=str(model))
        ax.set_xlabel("wavenumber |k| (shell)")
        ax.set_title(f"{pde}: {kind} spectrum at t = {t_last:g}", fontsize=11)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel(f"test mean at s = {train_res}")
    axes[0].legend(fontsize=9, frameon=False)
    return save_figure(fig, path)
