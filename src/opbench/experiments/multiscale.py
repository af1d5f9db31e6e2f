"""Claim 6 (multi-scale): band errors and energy spectra of the base pipeline's Navier-Stokes runs.

Claim 6 trains nothing of its own: it reads the runs the base pipeline makes on each Navier-Stokes
entry named in ``experiments.claims.multiscale.pdes`` (one per viscosity, each with >= 3 seeds),
at the training resolution:

- ``metrics.csv``: relative error per Fourier band (``rel_l2_low/mid/high``, see
  ``opbench.evaluation.bands``), the rollout's mean over its samples and steps;
- ``spectra.csv``: the radial energy spectrum of truth and prediction at the last rolled-out step.

Effect (direction +1, a positive value means the contender is worse at high wavenumbers): per seed,
the mean over the viscosities of ``log(own high-band error of the contender / that of the
reference)``, runs paired by seed index; then its mean and 95% t-interval over seeds. The own-band
error is the band's error over the truth's own content there, capped at 1 (a zero prediction), so a
model whose high band is noise scores no worse than one that predicts nothing there. Runs without
enstrophy spectra fall back to the raw high-band error ratio, and the effect's text says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from opbench.evaluation.bands import BANDS
from opbench.plotting import model_colours, readable_log_y, save_figure

BAND_COLUMNS = {b: f"rel_l2_{b}" for b in BANDS}


def measurements(metrics: Sequence[pd.DataFrame], spectra: Sequence[pd.DataFrame],
                 nu: Mapping[str, float]) -> pd.DataFrame:
    """One long table: ``kind=band`` rows (pde, nu, model, seed, band, rel_l2) at the training
    resolution, and ``kind=spectrum`` rows (k, energy_true, energy_pred) at the last step there."""
    rows = []
    for m in metrics:
        m = m[m["eval_res"] == m["train_res"]]
        for _, r in m.iterrows():
            for band, col in BAND_COLUMNS.items():
                rows.append({"kind": "band", "pde": r["pde"], "nu": float(nu[r["pde"]]), "model": r["model"],
                             "seed": int(r["seed"]), "band": band, "rel_l2": float(r[col])})
    bands = pd.DataFrame(rows)
    parts = [bands]
    for s in spectra:
        s = s[s["eval_res"] == s["train_res"]]
        s = s[s["step"] == s["step"].max()]
        extra = {c: s[c] for c in ("enstrophy_true", "enstrophy_pred") if c in s}
        parts.append(pd.DataFrame({"kind": "spectrum", "pde": s["pde"], "nu": s["pde"].map(nu).astype(float),
                                   "model": s["model"], "seed": s["seed"].astype(int), "res": s["eval_res"],
                                   "k": s["k"], "energy_true": s["energy_true"], "energy_pred": s["energy_pred"],
                                   **extra}))
    return pd.concat(parts, ignore_index=True)


def band_of_shell(k: np.ndarray, res: int, edges: tuple[float, float] = (0.25, 0.5)) -> np.ndarray:
    """The band (low/mid/high, as ``opbench.evaluation.bands``) of each radial shell k on a res^2 grid."""
    k_nyq = res // 2
    k = np.asarray(k, dtype=np.float64)
    return np.where(k < edges[0] * k_nyq, "low", np.where(k < edges[1] * k_nyq, "mid", "high"))


def own_band_table(m: pd.DataFrame) -> pd.DataFrame:
    """Per (nu, model, seed, band): the error relative to the truth's own content in that band, and the
    band's spectrum ratio E_pred / E_true, beside two oracles: a zero prediction and the truth
    low-passed below the high band.

    The band error of a run (``rel_l2_<band>``: the band's error norm over the whole truth's norm) is
    divided by sqrt(the truth's share of its enstrophy in the band), read from the vorticity spectrum
    at the last step (shells binned to the nearest integer |k|, so the share is approximate at the band
    edges). An own-band error of 1 is what predicting zero there scores: a model above 1 has no skill
    in that band, and a ratio between two such models measures noise, not small scales."""
    bands, spectra = m[m["kind"] == "band"], m[m["kind"] == "spectrum"]
    if spectra.empty or "enstrophy_true" not in spectra:
        return pd.DataFrame(columns=["nu", "model", "seed", "band", "own_rel_l2", "spectrum_ratio"])
    rows = []
    for (nu, model, seed), sp in spectra.groupby(["nu", "model", "seed"], sort=False):
        which = band_of_shell(sp["k"].to_numpy(), int(sp["res"].iloc[0]))
        total = float(sp["enstrophy_true"].sum())
        for band in BANDS:
            sel = which == band
            e_true, e_pred = float(sp["enstrophy_true"][sel].sum()), float(sp["enstrophy_pred"][sel].sum())
            err = bands[(bands["nu"] == nu) & (bands["model"] == model) & (bands["seed"] == seed)
                        & (bands["band"] == band)]["rel_l2"]
            share = e_true / total if total > 0 else np.nan
            own = float(err.mean()) / np.sqrt(share) if len(err) and share > 0 else np.nan
            rows.append({"nu": nu, "model": model, "seed": int(seed), "band": band, "own_rel_l2": own,
                         "spectrum_ratio": e_pred / e_true if e_true > 0 else np.nan})
            if model == spectra["model"].iloc[0]:  # the oracles, once per (nu, seed)
                low = band != "high"
                rows.append({"nu": nu, "model": "zero", "seed": int(seed), "band": band, "own_rel_l2": 1.0,
                             "spectrum_ratio": 0.0})
                rows.append({"nu": nu, "model": "lowpass", "seed": int(seed), "band": band,
                             "own_rel_l2": 0.0 if low else 1.0, "spectrum_ratio": 1.0 if low else 0.0})
    return pd.DataFrame(rows)


def _paired_log_ratios(err: pd.Series, contender: str, reference: str) -> dict[int, float]:
    """Per seed: mean over viscosities of log(err contender / err reference), ``err`` indexed by
    (model, nu, seed). Only seeds for which both models have a positive error at every viscosity count
    (runs paired by seed index)."""
    nus = sorted(err.index.get_level_values("nu").unique())
    by_model = err.index.get_level_values("model")
    seeds = sorted(set(err[by_model == contender].index.get_level_values("seed"))
                   & set(err[by_model == reference].index.get_level_values("seed")))
    out = {}
    for s in seeds:
        pairs = [(err.get((contender, nu, s), np.nan), err.get((reference, nu, s), np.nan)) for nu in nus]
        if pairs and all(c > 0 and r > 0 for c, r in pairs):
            out[int(s)] = float(np.mean([np.log(c / r) for c, r in pairs]))
    return out


def own_band_log_ratio(m: pd.DataFrame, contender: str, reference: str, band: str = "high",
                       cap: float = 1.0, own: pd.DataFrame | None = None) -> dict[int, float]:
    """Per seed: mean over viscosities of log(own-band error of the contender / that of the reference),
    each capped at ``cap`` (1: what a zero prediction scores in the band, ``own_band_table``; pass
    ``own`` when it is already computed).

    The cap is the oracle: a model worse than predicting zero in a band has no skill there, and two
    such models tie (log 1 / 1 = 0) instead of a ratio of the noise they add. Seeds are paired as in
    ``band_log_ratio``; empty when the runs have no enstrophy spectra."""
    own = own_band_table(m) if own is None else own
    if own.empty:
        return {}
    own = own[own["band"] == band]
    err = own.groupby(["model", "nu", "seed"])["own_rel_l2"].mean().clip(lower=1e-12, upper=cap)
    return _paired_log_ratios(err, contender, reference)


def band_log_ratio(m: pd.DataFrame, contender: str, reference: str, band: str = "high") -> dict[int, float]:
    """Per seed: mean over viscosities of log(err_band contender / err_band reference).

    Only seeds for which both models have a positive error at every viscosity count (paired by seed).
    """
    b = m[(m["kind"] == "band") & (m["band"] == band)] if "kind" in m else m[m["band"] == band]
    return _paired_log_ratios(b.groupby(["model", "nu", "seed"])["rel_l2"].mean(), contender, reference)


def multiscale_figure(m: pd.DataFrame) -> Figure:
    """Top row: grouped bars (low/mid/high) per model, one panel per viscosity, bars min-max over
    seeds; bottom row: energy spectrum at the last step, truth and each model (mean over seeds).
    Each row shares its y axis, so the viscosities compare at a glance; one legend per row."""
    bands, spectra = m[m["kind"] == "band"], m[m["kind"] == "spectrum"]
    nus = sorted(bands["nu"].unique(), reverse=True)
    models = list(pd.unique(bands["model"]))
    colours = model_colours(models)
    fig = Figure(figsize=(3.4 * len(nus) + 1.6, 6.6), layout="constrained")
    axes = fig.subplots(2, len(nus), squeeze=False, sharey="row")
    width = 0.8 / len(BANDS)
    shades = dict(zip(BANDS, (1.0, 0.65, 0.35), strict=True))
    for j, nu in enumerate(nus):
        ax = axes[0, j]
        g = bands[bands["nu"] == nu]
        here = [k for k in models if k in set(g["model"])]  # a model trained only at some viscosities
        for i, band in enumerate(BANDS):
            s = g[g["band"] == band].groupby("model")["rel_l2"].agg(["mean", "min", "max"]).reindex(here)
            x = np.arange(len(here)) + (i - 1) * width
            ax.bar(x, s["mean"], width, color=[colours[k] for k in here], alpha=shades[band],
                   yerr=[(s["mean"] - s["min"]).clip(lower=0), (s["max"] - s["mean"]).clip(lower=0)], capsize=2,
                   edgecolor="k", linewidth=0.3)
        ax.set_xticks(np.arange(len(here)), here, fontsize=7)
        ax.set_yscale("log")
        ax.set_title(f"nu = {nu:g}", fontsize=10)
        ax = axes[1, j]
        sp = spectra[spectra["nu"] == nu]
        if not sp.empty:
            true = sp.groupby("k")["energy_true"].mean()
            ax.plot(true.index[1:], true.to_numpy()[1:], "k-", lw=2)
            for model in models:
                e = sp[sp["model"] == model].groupby("k")["energy_pred"].mean()
                if not e.empty:
                    ax.plot(e.index[1:], e.to_numpy()[1:], "--", color=colours[model])
        ax.set(xscale="log", yscale="log", xlabel="wavenumber |k|")
    readable_log_y(axes[0, 0])
    axes[0, 0].set_ylabel("band relative L2 error")
    axes[1, 0].set_ylabel("energy E(k) at the last step")
    band_keys = [Patch(facecolor="0.3", alpha=shades[b], edgecolor="k", label=f"{b} band") for b in BANDS]
    model_keys = [Patch(facecolor=colours[k], label=k) for k in models]
    axes[0, -1].legend(handles=model_keys + band_keys, fontsize=8, frameon=False, loc="upper left",
                       bbox_to_anchor=(1.02, 1.0))
    line_keys = [Line2D([], [], color="k", lw=2, label="truth")]
    line_keys += [Line2D([], [], color=colours[k], ls="--", label=k) for k in models]
    axes[1, -1].legend(handles=line_keys, fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def figure(m: pd.DataFrame, path: Path) -> Path:
    """Claim 6's figure (``multiscale_figure``) written to ``path``."""
    return save_figure(multiscale_figure(m), path)
