"""Assemble the HTML report: figures, verdicts, tables and provenance, written atomically."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from opbench.atomic import atomic_write_text
from opbench.report import html as h
from opbench.report.figures import (
    RunKey,
    is_2d,
    plot_error_overview,
    plot_error_vs_resolution,
    plot_error_vs_step,
    plot_examples,
    plot_spectrum,
    plot_training_curves,
    safe_name,
)
from opbench.report.published import SOURCE, comparison
from opbench.report.verdicts import DEFAULT_TOLERANCE, resolution_ratios, seed_mean, verdict_sentences

CLAIM = (
    "This benchmark tests the claim that a standard Transformer falls short of a neural operator "
    "(the Fourier neural operator, FNO) in scientific computing, above all in discretization "
    "invariance: a model of a solution operator should give the same answer for the same input "
    "function whatever grid that function is sampled on. Every model is trained at one resolution "
    "per PDE and then evaluated, without retraining, on a ladder of coarser and finer grids holding "
    "the same functions. The contenders are neural operators, a standard Transformer with learned "
    "absolute positional embeddings, and an MLP on fixed-length vectors. Off its training grid the "
    "Transformer is applied with its positional embedding linearly interpolated to the new sequence "
    "length, the most generous honest option, since a learned embedding has no value between its "
    "training positions. The MLP cannot take another length at all: its input is interpolated to "
    "its training grid and its output interpolated back to the evaluation grid. A model counts as "
    "resolution invariant on a PDE when its mean error over seeds stays within {tol} of its error at "
    "the training resolution at every evaluated resolution."
)


def _num(fmt: str) -> Any:
    def f(v: object) -> str:
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return "–"
        return format(v, fmt)

    return f


def _int(v: object) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{round(float(v)):,}"


def _order(configured: Mapping[str, Any] | None, found: list[str]) -> list[str]:
    """Names in config order, then any found in the metrics but not configured."""
    return list(dict.fromkeys([*(k for k in (configured or {}) if k in found), *found]))


def _value(v: object) -> str:
    """A config value as a reader sees it: 0.001 not 1.0e-3, lists comma-separated."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list | tuple):
        return ", ".join(_value(x) for x in v)
    return str(v)


def _flat(spec: Mapping[str, Any], skip: set[str], prefix: str = "") -> list[tuple[str, str]]:
    """(dotted name, value) for every leaf of a config entry, nested mappings spelled ``grf.tau``."""
    rows: list[tuple[str, str]] = []
    for k, v in spec.items():
        if k in skip:
            continue
        if isinstance(v, Mapping):
            rows += _flat(v, set(), f"{prefix}{k}.")
        else:
            rows.append((f"{prefix}{k}", _value(v)))
    return rows


def _param_cards(entries: Mapping[str, Mapping[str, Any]], names: list[str], skip: set[str], summary: str) -> str:
    """One small name/value table per entry, side by side (wrapping), captioned with its name; folded
    under ``summary`` so the setup does not push the results down the page."""
    cards = []
    for name in names:
        rows = _flat(entries.get(name) or {}, skip)
        kv = pd.DataFrame(rows or [("–", "–")], columns=["parameter", "value"])
        kind = (entries.get(name) or {}).get("type")
        cards.append(h.table(kv, css_class="kv", caption=f"{name} ({kind})" if kind and kind != name else name))
    return f'<details><summary>{h.esc(summary)}</summary><div class="cards">{"".join(cards)}</div></details>'


def _setup_section(config: Mapping[str, Any], pdes: list[str], models: list[str]) -> str:
    pde_cfg, model_cfg = config.get("pdes") or {}, config.get("models") or {}
    pde_rows = pd.DataFrame(
        [
            {
                "pde": p,
                "type": (pde_cfg.get(p) or {}).get("type", "–"),
                "training resolution (grid points)": (pde_cfg.get(p) or {}).get("train_res", "–"),
                "evaluation ladder (grid points)": _value((pde_cfg.get(p) or {}).get("ladder", [])),
            }
            for p in pdes
        ]
    )
    return (
        "<h2>Setup</h2><h3>PDEs</h3>"
        + h.table(pde_rows, numeric=["training resolution (grid points)"])
        + "<p>Every PDE lives on the unit interval or square, so lengths, times (T, dt) and coefficients "
        "are nondimensional; resolutions count grid points per axis.</p>"
        + _param_cards(pde_cfg, pdes, {"type", "train_res", "ladder"}, "Parameters of each PDE (name and value)")
        + "<h3>Models</h3>"
        + _param_cards(model_cfg, models, {"type"},
                       "Constructor arguments of each model (its type in brackets) and its own training settings")
    )


def _metrics_table(agg: pd.DataFrame, ratios: pd.DataFrame) -> str:
    t = agg.merge(ratios[["model", "err_train"]], on="model", how="left")
    t["ratio"] = t["rel_l2"] / t["err_train"]
    out = pd.DataFrame(
        {
            "model": t["model"],
            "eval res": t["eval_res"],
            "train res": t["train_res"],
            "rel. L2 (mean over seeds)": t["rel_l2"],
            "std over seeds": t["rel_l2_seed_std"],
            "min seed": t["rel_l2_min"],
            "max seed": t["rel_l2_max"],
            "ratio to train res": t["ratio"],
            "seeds": t["n_seeds"],
        }
    )
    g4, g3 = _num(".4g"), _num(".3g")
    fmts = {
        "rel. L2 (mean over seeds)": g4,
        "std over seeds": g3,
        "min seed": g4,
        "max seed": g4,
        "ratio to train res": _num(".2f"),
    }
    numeric = [c for c in out.columns if c != "model"]

    def row_class(r: pd.Series) -> str:
        return "train" if r["eval res"] == r["train res"] else ""

    return h.table(out, fmts, numeric, row_class)


def _cost_table(metrics: pd.DataFrame, pdes: list[str], models: list[str]) -> str:
    cost_cols = [c for c in ("n_params", "train_seconds") if c in metrics.columns]
    per_run = metrics.groupby(["pde", "model", "seed"], sort=False)[cost_cols].first()
    per_model = per_run.groupby(["pde", "model"], sort=False).mean()
    agg = seed_mean(metrics)
    rows = []
    for pde in pdes:
        for model in models:
            g = agg[(agg["pde"] == pde) & (agg["model"] == model)].sort_values("eval_res")
            if g.empty:
                continue
            row: dict[str, Any] = {"pde": pde, "model": model}
            for c in cost_cols:
                row[c] = per_model.loc[(pde, model), c]
            if "infer_seconds_per_sample" in g.columns:
                at_train = g.loc[g["eval_res"] == g["train_res"], "infer_seconds_per_sample"]
                row["infer s/sample at train res"] = float(at_train.iloc[0]) if len(at_train) else math.nan
                row["infer s/sample at finest res"] = float(g["infer_seconds_per_sample"].iloc[-1])
            rows.append(row)
    out = pd.DataFrame(rows).rename(columns={"n_params": "parameters", "train_seconds": "training s"})
    fmts = {"parameters": _int, "training s": _num(".1f")}
    fmts.update({c: _num(".3g") for c in out.columns if c.startswith("infer")})
    numeric = [c for c in out.columns if c not in ("pde", "model")]
    return h.table(out, fmts, numeric)


def _published_section(metrics: pd.DataFrame, config: Mapping[str, Any]) -> str:
    """Our error beside the FNO paper's, for runs trained and evaluated on a published setup."""
    table = comparison(metrics, config)
    if table.empty:
        return ""
    g4 = _num(".4g")
    fmts = {"ours": g4, "published": g4, "ratio ours / published": _num(".2f")}
    return (
        "<h2>Against the published numbers</h2>"
        f"<p>Relative L2 test error at the training resolution beside the number published by {h.esc(SOURCE)} "
        "for the same PDE, model and resolution. The budget column says whether this run used the paper's "
        "training recipe; where it did not, the comparison is of a different training budget, not a "
        "reproduction.</p>"
        + h.table(table, fmts, ["resolution", "ours", "published", "ratio ours / published"])
    )


def _rollout_parts(pde: str, train_res: int, steps: pd.DataFrame | None, spectra: pd.DataFrame | None,
                   fig_dir: Path, models: list[str]) -> list[str]:
    """Error per predicted step and spectra of a time-dependent PDE (nothing for static tasks)."""
    parts: list[str] = []
    name = safe_name(pde)
    if steps is not None and not steps.empty:
        png = plot_error_vs_step(steps, pde, train_res, fig_dir / f"error_vs_step_{name}.png", models)
        if png is not None:
            parts.append("<h3>Error over the rollout</h3>")
            parts.append(h.figure(
                f"figures/{png.name}", f"{pde}: error against predicted time step",
                f"{pde}: each model is given the first snapshots and rolls out the rest autoregressively, "
                f"feeding its predictions back. Left: relative L2 error of each predicted snapshot; right: "
                f"relative error of its total enstrophy (1/2 mean w^2); test mean at s = {train_res}, mean "
                f"over seeds.",
            ))
    if spectra is not None and not spectra.empty:
        png = plot_spectrum(spectra, pde, train_res, fig_dir / f"spectrum_{name}.png", models)
        if png is not None:
            parts.append(h.figure(
                f"figures/{png.name}", f"{pde}: energy and enstrophy spectra",
                f"{pde}: radially binned kinetic-energy spectrum (left, of the velocity induced by the "
                f"vorticity) and enstrophy spectrum (right) of the last predicted snapshot at s = {train_res}, "
                f"test-set mean; truth dashed black.",
            ))
    return parts


def _provenance(provenance: Mapping[str, str]) -> str:
    if not provenance:
        return "<p>No provenance recorded.</p>"
    kv = pd.DataFrame({"item": list(provenance), "value": [str(v) for v in provenance.values()]})
    return "<h3>Provenance</h3>" + h.table(kv, css_class="kv")


def build_report(
    metrics: pd.DataFrame,
    histories: Mapping[RunKey, pd.DataFrame],
    examples: Mapping[RunKey, xr.Dataset],
    config: Mapping[str, Any],
    provenance: Mapping[str, str],
    out_dir: Path,
    tolerance: float | None = None,
    steps: pd.DataFrame | None = None,
    spectra: pd.DataFrame | None = None,
    claims: Mapping[str, Any] | None = None,
    extra_claims: pd.DataFrame | None = None,
    extra_sections: list[str] | None = None,
) -> Path:
    """Write ``out_dir/index.html`` and its figures under ``out_dir/figures/``; return the page's path.

    ``tolerance`` (the largest error ratio to the training resolution still called invariant) defaults
    to ``config["report"]["invariance_tolerance"]``, else 1.3. ``steps`` and ``spectra`` (tidy tables
    of rollout tasks, see ``opbench.evaluation.ladder``) add the error per predicted step and spectra.
    ``extra_sections`` are HTML fragments (e.g. ``opbench.report.physics``) placed before the cost table.
    Figures are written before the page, each atomically, so a page on disk never points at a missing
    figure.
    """
    report_cfg = config.get("report")
    if tolerance is None:
        tolerance = float(
            (report_cfg or {}).get("invariance_tolerance", DEFAULT_TOLERANCE)
            if isinstance(report_cfg, Mapping)
            else DEFAULT_TOLERANCE
        )
    out_dir = Path(out_dir)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)

    pdes = _order(config.get("pdes"), list(pd.unique(metrics["pde"])))
    models = _order(config.get("models"), list(pd.unique(metrics["model"])))
    agg = seed_mean(metrics)
    ratios = resolution_ratios(metrics, tolerance)
    verdicts = verdict_sentences(metrics, tolerance)
    tol_text = f"{tolerance:g}x"

    # the first screen: the claims table, then the central figure (every model, every PDE)
    parts = []
    claim_sections, central = "", ""
    overview = plot_error_overview(metrics, pdes, fig_dir / "error_overview.png", models)
    if overview is not None:
        central = ("<h2>Error against resolution</h2>" + h.figure(
            f"figures/{overview.name}", "relative L2 error against resolution, every model, one panel per PDE",
            "Relative L2 test error against the evaluation resolution (log2 axis), mean over seeds, one panel per "
            "PDE on a shared error axis; a star marks each model's training resolution. Each PDE's section below "
            "has the same figure with the seeds' spread."))
    if claims or (extra_claims is not None and len(extra_claims)):
        from opbench.experiments.report import claims_html

        front, claim_sections = claims_html(claims, extra_claims, after_table=central)
        parts.append(front)
    else:
        parts.append(central)
    parts.append(f'<p class="claim">{h.esc(CLAIM.format(tol=tol_text))}</p>')
    parts.append("<h2>Verdicts</h2>")
    parts.append(
        h.bullet_list([verdicts[p][0] for p in pdes if p in verdicts], css_class="verdicts")
        + "<p>Ratios compare the mean error over seeds at one resolution with the mean error over "
        "seeds at the training resolution; they are computed from the metrics table below.</p>"
    )
    parts.append(_setup_section(config, pdes, models))

    for pde in pdes:
        g = agg[agg["pde"] == pde]
        if g.empty:
            continue
        train_res = int(g["train_res"].iloc[0])
        name = safe_name(pde)
        parts.append(f"<h2>{h.esc(pde)}</h2>")
        err_png = plot_error_vs_resolution(metrics, pde, fig_dir / f"error_vs_resolution_{name}.png", models)
        if err_png is not None:
            parts.append(
                h.figure(
                    f"figures/{err_png.name}",
                    f"{pde}: relative L2 error against resolution",
                    f"Relative L2 test error of each model on {pde} against the evaluation resolution "
                    f"(log2 axis): mean over seeds, band spanning the seeds' min to max, star at the "
                    f"training resolution {train_res}.",
                )
            )
        parts.append(h.bullet_list(verdicts.get(pde, []), css_class="verdicts", first_class="summary"))
        parts.append("<h3>Errors by resolution</h3>")
        parts.append(_metrics_table(g, ratios[ratios["pde"] == pde]))

        ex_png = plot_examples(examples, pde, train_res, fig_dir / f"examples_{name}.png", models)
        if ex_png is not None:
            two_d = any(is_2d(ds) for k, ds in examples.items() if k[0] == pde)
            how = (
                "one test sample: the truth, each model's prediction (same colour scale) and its absolute "
                "error (one scale per row)"
                if two_d
                else "a few test samples, one panel per model, prediction solid and truth dashed"
            )
            if any(ds.attrs.get("task") == "rollout" for k, ds in examples.items() if k[0] == pde):
                how += "; for this rollout task, the last predicted snapshot of the autoregressive rollout"
            parts.append("<h3>Predictions against truth</h3>")
            parts.append(
                h.figure(
                    f"figures/{ex_png.name}",
                    f"{pde}: predictions against truth",
                    f"{pde} at the training resolution {train_res} and at the finest evaluated "
                    f"resolution: {how} (lowest seed of each model).",
                )
            )
        else:
            parts.append(f"<p>No example predictions were stored for {h.esc(pde)}.</p>")

        parts += _rollout_parts(pde, train_res, steps, spectra, fig_dir, models)

        tc_png = plot_training_curves(histories, pde, fig_dir / f"training_curves_{name}.png", models)
        if tc_png is not None:
            parts.append("<h3>Training curves</h3>")
            parts.append(
                h.figure(
                    f"figures/{tc_png.name}",
                    f"{pde}: training curves",
                    f"Training and validation loss per epoch on {pde} (log scale), mean over seeds.",
                )
            )

    parts.append(_published_section(metrics, config))
    if claim_sections:
        parts.append(claim_sections)
    parts += list(extra_sections or [])
    parts.append("<h2>Cost</h2>")
    parts.append(
        "<p>Parameters, wall-clock training time and inference time per test sample, mean over seeds.</p>"
    )
    parts.append(_cost_table(metrics, pdes, models))

    title = str(config.get("title") or "opbench report")
    page = h.page(title, "\n".join(parts), _provenance(provenance))
    index = out_dir / "index.html"
    atomic_write_text(index, page)
    return index
