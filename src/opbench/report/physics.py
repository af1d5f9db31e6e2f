"""Report section for the physics experiments (PINN, HNN, DDPM): figures, tables, computed sentences, claims rows.

``physics_section`` reads the tidy tables written by the physics rules and returns an HTML fragment
(figures under ``fig_dir``, referenced as ``figures/<name>``) and a claims table with the columns
``claim, experiment, effect, ci_low, ci_high, verdict, section`` for the report's claims table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from opbench.intervals import mean_interval
from opbench.physics.hnn_bench import final_drift
from opbench.physics.pinn_bench import break_even
from opbench.plotting import model_colours, save_figure
from opbench.render.formatting import interval, number
from opbench.render.html import render, table_data

CLAIM_COLUMNS = ["claim", "experiment", "effect", "ci_low", "ci_high", "verdict", "section"]


_g = number  # short, for the many numbers in the sentences below


def _n(v: float) -> str:
    return "never (the operator is not cheaper per instance)" if not math.isfinite(v) else f"{int(v):,}"


def _mean_ci(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval of the mean of non-negative values (``intervals.mean_interval``, the
    claims' interval; lower end clipped at 0; the mean itself twice for fewer than 2 values)."""
    iv = mean_interval(np.asarray(values, dtype=np.float64))
    if iv.n < 2:
        return iv.mean, iv.mean, iv.mean
    return iv.mean, max(iv.low, 0.0), iv.high


# ---------------------------------------------------------------- PINN


def _plot_pinn(table: pd.DataFrame, path: Path) -> Path:
    pdes = list(pd.unique(table["pde"]))
    methods = list(pd.unique(table["method"]))
    colours = model_colours(methods)
    fig = Figure(figsize=(4.2 * len(pdes), 3.4), layout="constrained")
    for i, pde in enumerate(pdes):
        ax = fig.add_subplot(1, len(pdes), i + 1)
        g = table[table["pde"] == pde]
        for m in methods:
            s = g[g["method"] == m].groupby("eval_res")["rel_l2"].mean()
            if len(s):
                ax.plot(s.index, np.maximum(s.values, 1e-16), "o-", color=colours[m], label=m)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("evaluation resolution")
        ax.set_ylabel("relative L2 error")
        ax.set_title(pde)
        ax.legend(fontsize=8)
    return save_figure(fig, path)


def pinn_part(amort: pd.DataFrame, per_instance: pd.DataFrame, fig_dir: Path) -> tuple[dict[str, Any], list[dict]]:
    png = _plot_pinn(per_instance, fig_dir / "physics_pinn.png")
    sentences, claims = [], []
    for _, r in amort.iterrows():
        op = r["operator"]
        pinn_s = per_instance[(per_instance["pde"] == r["pde"]) & (per_instance["method"] == "pinn")]
        secs = pinn_s.groupby("instance")["seconds"].first().to_numpy()
        _, lo_s, hi_s = _mean_ci(secs)
        gain = r["pinn_seconds"] - r["operator_seconds"]
        sentences.append(
            f"{r['pde']}: the PINN needs no training data but costs {_g(r['pinn_seconds'])} s per instance "
            f"(solver {_g(r['solver_seconds'])} s, {op} inference {_g(r['operator_seconds'])} s); training the "
            f"{op} ({_g(r['operator_train_seconds'], '.1f')} s) pays off after {_n(r['break_even_train'])} instances, "
            f"after {_n(r['break_even_with_data'])} when the solves of its training data are counted. Errors at "
            f"s = {r['eval_res']}: PINN {_g(r['pinn_rel_l2'])}, {op} {_g(r['operator_rel_l2'])}, "
            f"solver {_g(r['solver_rel_l2'])} (relative L2; PINN over {r['instances']} instances, {op} over the "
            f"test set)."
            + (f" The PINN is far less accurate than the {op} here (over 10x its error), so the break-even compares "
               "unequal answers." if r["pinn_rel_l2"] > 10 * r["operator_rel_l2"] else "")
        )
        be = r["break_even_train"]
        train_s, op_s = r["operator_train_seconds"], r["operator_seconds"]
        claims.append({
            "claim": f"Training the {op} pays off against one PINN fit per instance ({r['pde']})",
            "experiment": f"physics_pinn/{r['pde']}", "effect": be,
            "ci_low": break_even(train_s, hi_s, op_s), "ci_high": break_even(train_s, lo_s, op_s),
            "verdict": "supported" if math.isfinite(be) and gain > 0 else "not supported",
            "section": "Physics-informed networks",
        })
        errs = pinn_s[pinn_s["eval_res"] == r["eval_res"]]["rel_l2"].to_numpy()
        m, lo, hi = _mean_ci(errs)
        ratio = r["operator_rel_l2"]
        claims.append({
            "claim": f"The PINN reaches the {op}'s accuracy without data ({r['pde']}; effect = PINN / {op} error)",
            "experiment": f"physics_pinn/{r['pde']}", "effect": m / ratio,
            "ci_low": lo / ratio, "ci_high": hi / ratio,
            "verdict": "supported" if hi / ratio <= 1 else ("not supported" if lo / ratio > 1 else "inconclusive"),
            "section": "Physics-informed networks",
        })
    show = amort.rename(columns={"eval_res": "res"})
    fmts = {c: (lambda v: _g(v)) for c in show.columns if show[c].dtype.kind == "f"}
    part = {"png": png.name, "sentences": sentences,
            "table": table_data(show, fmts, [c for c in show.columns if c not in ("pde", "operator")])}
    return part, claims


# ---------------------------------------------------------------- HNN


def _plot_hnn(tables: Sequence[pd.DataFrame], path: Path) -> Path:
    fig = Figure(figsize=(9, 3.2 * len(tables)), layout="constrained")
    for i, t in enumerate(tables):
        keys = list(dict.fromkeys(zip(t["model"], t["integrator"], strict=True)))
        colours = model_colours([f"{m} ({k})" for m, k in keys])
        for j, col in enumerate(("energy_drift", "trajectory_error")):
            ax = fig.add_subplot(len(tables), 2, 2 * i + j + 1)
            for m, k in keys:
                g = t[(t["model"] == m) & (t["integrator"] == k)].iloc[1:]
                ax.plot(g["periods"], np.clip(g[col].to_numpy(), 1e-12, 1e6), color=colours[f"{m} ({k})"],
                        label=f"{m} ({k})")
            ax.set_yscale("log")
            ax.set_xlabel("periods")
            ax.set_ylabel("relative energy error" if j == 0 else "relative trajectory error")
            ax.set_title(str(t["system"].iloc[0]))
            if i == 0 and j == 0:
                ax.legend(fontsize=8)
    return save_figure(fig, path)


def hnn_part(tables: Sequence[pd.DataFrame], fig_dir: Path) -> tuple[dict[str, Any], list[dict]]:
    png = _plot_hnn(tables, fig_dir / "physics_hnn.png")
    finals = pd.concat([final_drift(t) for t in tables], ignore_index=True)
    sentences, claims = [], []
    for system, g in finals.groupby("system", sort=False):
        periods = float(g["periods"].iloc[0])
        by = {(r["model"], r["integrator"]): r for _, r in g.iterrows()}
        key = next((k for k in (("hnn", "leapfrog"), ("hnn", "rk4")) if k in by), None)
        if key is None:
            continue
        hnn = by[key]
        others = ", ".join(f"{m}: {_g(r['energy_drift'])}" for (m, k), r in by.items() if m != "hnn")
        sentences.append(
            f"{system}: the HNN ({hnn['integrator']}) conserves energy to {_g(hnn['energy_drift'])} (relative) over "
            f"{periods:.0f} periods ({others}); trajectory error after {periods:.0f} periods: HNN "
            f"{_g(hnn['trajectory_error'])}, "
            + ", ".join(f"{m} {_g(r['trajectory_error'])}" for (m, k), r in by.items() if m != "hnn") + "."
        )
        mlp = by.get(("mlp", "rk4"))
        if mlp is not None:
            eff = float(mlp["energy_drift"]) / max(float(hnn["energy_drift"]), 1e-300)
            claims.append({
                "claim": f"HNN conserves energy better than an MLP over {periods:.0f} periods ({system}; "
                         "effect = MLP / HNN final energy error)",
                "experiment": f"physics_hnn/{system}", "effect": eff, "ci_low": math.nan, "ci_high": math.nan,
                "verdict": "supported" if eff > 1 else "not supported",
                "section": "Hamiltonian networks",
            })
    show = finals[["system", "model", "integrator", "periods", "energy_drift", "trajectory_error",
                   "train_seconds", "n_params"]]
    fmts = {c: (lambda v: _g(v)) for c in ("energy_drift", "trajectory_error", "train_seconds")}
    fmts["periods"] = lambda v: _g(v, ".0f")
    part = {"png": png.name, "sentences": sentences,
            "table": table_data(show, fmts, ["periods", "energy_drift", "trajectory_error", "train_seconds",
                                             "n_params"])}
    return part, claims


# ---------------------------------------------------------------- diffusion


def _plot_diffusion(samples: xr.Dataset, path: Path) -> Path:
    rows = ["test", "ddpm", "gaussian_same_spectrum"]
    cols = min(4, samples.sizes["sample"])
    fig = Figure(figsize=(2.2 * cols + 4, 2.2 * len(rows)))
    vmax = float(np.abs(samples["test"].values).max())
    for i, name in enumerate(rows):
        for j in range(cols):
            ax = fig.add_subplot(len(rows), cols + 2, i * (cols + 2) + j + 1)
            ax.imshow(samples[name].values[j], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(name.replace("_same_spectrum", ""), fontsize=8)
    ax = fig.add_subplot(1, cols + 2, (cols + 1, cols + 2))
    spec = samples["energy_spectrum"]
    k = np.arange(1, spec.sizes["k"])
    for i, m in enumerate(spec["method"].values):
        ax.loglog(k, np.maximum(spec.values[i, 1:], 1e-30), "k--" if m == "test" else "-", label=str(m))
    ax.set_xlabel("wavenumber k")
    ax.yaxis.tick_right()
    ax.yaxis.set_label_position("right")
    ax.set_ylabel("energy spectrum E(k)")
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def diffusion_part(stats: pd.DataFrame, samples: xr.Dataset, fig_dir: Path) -> tuple[dict[str, Any], list[dict]]:
    png = _plot_diffusion(samples, fig_dir / "physics_diffusion.png")
    by = stats.set_index("method")
    d, gs, floor = by.loc["ddpm"], by.loc["gaussian_same_spectrum"], by.loc["training_data"]
    sentence = (
        f"The DDPM's vorticity samples have an energy-spectrum log error of {_g(d['spectrum_log_error'])} "
        f"(Gaussian baseline with the data's spectrum {_g(gs['spectrum_log_error'])}, training data "
        f"{_g(floor['spectrum_log_error'])}), a vorticity W1 of {_g(d['w1'])} (baseline {_g(gs['w1'])}, data "
        f"{_g(floor['w1'])}) and histogram TV {_g(d['histogram_tv'])} (baseline {_g(gs['histogram_tv'])}, data "
        f"{_g(floor['histogram_tv'])}), against {int(d['n_test_fields'])} held-out fields at s = {int(d['res'])}."
    )
    claims = []
    for stat, label in (("spectrum_log_error", "energy spectrum"), ("w1", "vorticity distribution (W1)")):
        eff = float(d[stat]) / max(float(gs[stat]), 1e-300)
        claims.append({
            "claim": f"The DDPM matches the {label} of held-out vorticity better than a Gaussian with the data's "
                     "spectrum (effect = DDPM / baseline distance)",
            "experiment": "physics_diffusion", "effect": eff, "ci_low": math.nan, "ci_high": math.nan,
            "verdict": "supported" if eff < 1 else "not supported", "section": "Generative model",
        })
    show = stats[["method", "spectrum_log_error", "w1", "histogram_tv", "n_samples"]]
    fmts = {c: (lambda v: _g(v)) for c in ("spectrum_log_error", "w1", "histogram_tv")}
    part = {"png": png.name, "sentences": [sentence],
            "table": table_data(show, fmts, ["spectrum_log_error", "w1", "histogram_tv", "n_samples"])}
    return part, claims


# ---------------------------------------------------------------- section


def physics_section(tables: Sequence[str | Path], fig_dir: Path) -> tuple[str, pd.DataFrame]:
    """The physics section's HTML and its claims rows, from the physics rules' outputs (paths by name)."""
    paths = [Path(p) for p in tables]
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    parts, claims = {}, []
    amort = next((p for p in paths if p.name == "pinn_amortization.csv"), None)
    if amort is not None:
        per = pd.concat([pd.read_csv(p) for p in paths if p.parent.name == "pinn" and p != amort], ignore_index=True)
        parts["pinn"], c = pinn_part(pd.read_csv(amort), per, fig_dir)
        claims += c
    hnn = [pd.read_csv(p) for p in paths if p.parent.name == "hnn"]
    if hnn:
        parts["hnn"], c = hnn_part(hnn, fig_dir)
        claims += c
    stats = next((p for p in paths if p.name == "stats.csv"), None)
    nc = next((p for p in paths if p.suffix == ".nc"), None)
    if stats is not None and nc is not None:
        with xr.open_dataset(nc) as ds:
            parts["diffusion"], c = diffusion_part(pd.read_csv(stats), ds.load(), fig_dir)
        claims += c
    return str(render("physics_section.html.j2", **parts)), pd.DataFrame(claims, columns=CLAIM_COLUMNS)


def claims_rows_fragment(rows: pd.DataFrame) -> str:
    """The physics rows of the claims table (``physics_section``'s claims), an HTML fragment of their own:
    their measures are not effects of a contender against a reference operator."""
    if not len(rows):
        return ""
    body = [{"claim": str(r["claim"]), "experiment": str(r["experiment"]), "verdict": str(r["verdict"]),
             "anchor": str(r.get("section_id", "physics")),
             "measure": interval(r["effect"], r["ci_low"], r["ci_high"])}
            for r in rows.to_dict("records")]
    return str(render("physics_claims.html.j2", rows=body))
