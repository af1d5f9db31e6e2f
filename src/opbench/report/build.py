"""Assemble the HTML report: its own sections (verdicts, setup, metrics, figures, cost, provenance)
and the fragments other rules wrote (claims, physics, reproduction), through the page template."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr
from markupsafe import Markup

from opbench.atomic import atomic_write_text
from opbench.render.formatting import number, plain
from opbench.render.html import render, table_data
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


def _num(spec: str) -> Callable[[object], str]:
    """``formatting.number`` with ``spec``, as a per-column cell formatter."""
    return partial(number, spec=spec)


def _order(configured: Mapping[str, Any] | None, found: list[str]) -> list[str]:
    """Names in config order, then any found in the metrics but not configured."""
    return list(dict.fromkeys([*(k for k in (configured or {}) if k in found), *found]))


def _flat(spec: Mapping[str, Any], skip: set[str], prefix: str = "") -> list[tuple[str, str]]:
    """(dotted name, value) for every leaf of a config entry, nested mappings spelled ``grf.tau``."""
    rows: list[tuple[str, str]] = []
    for k, v in spec.items():
        if k in skip:
            continue
        if isinstance(v, Mapping):
            rows += _flat(v, set(), f"{prefix}{k}.")
        else:
            rows.append((f"{prefix}{k}", plain(v)))
    return rows


def _param_cards(entries: Mapping[str, Mapping[str, Any]], names: list[str], skip: set[str]) -> list[dict[str, Any]]:
    """One small name/value table per entry, captioned with its name (and its type when it differs)."""
    cards = []
    for name in names:
        rows = _flat(entries.get(name) or {}, skip)
        kv = pd.DataFrame(rows or [("–", "–")], columns=["parameter", "value"])
        kind = (entries.get(name) or {}).get("type")
        cards.append(table_data(kv, css_class="kv", caption=f"{name} ({kind})" if kind and kind != name else name))
    return cards


def _setup(config: Mapping[str, Any], pdes: list[str], models: list[str]) -> dict[str, Any]:
    pde_cfg, model_cfg = config.get("pdes") or {}, config.get("models") or {}
    pde_rows = pd.DataFrame(
        [
            {
                "pde": p,
                "type": (pde_cfg.get(p) or {}).get("type", "–"),
                "training resolution (grid points)": (pde_cfg.get(p) or {}).get("train_res", "–"),
                "evaluation ladder (grid points)": plain((pde_cfg.get(p) or {}).get("ladder", [])),
            }
            for p in pdes
        ]
    )
    return {
        "pdes": table_data(pde_rows, numeric=["training resolution (grid points)"]),
        "pde_cards": _param_cards(pde_cfg, pdes, {"type", "train_res", "ladder"}),
        "model_cards": _param_cards(model_cfg, models, {"type"}),
    }


def _metrics_table(agg: pd.DataFrame, ratios: pd.DataFrame) -> dict[str, Any]:
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

    return table_data(out, fmts, numeric, row_class)


def _cost_table(metrics: pd.DataFrame, pdes: list[str], models: list[str]) -> dict[str, Any]:
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
    fmts = {"parameters": _num(",d"), "training s": _num(".1f")}
    fmts.update({c: _num(".3g") for c in out.columns if c.startswith("infer")})
    numeric = [c for c in out.columns if c not in ("pde", "model")]
    return table_data(out, fmts, numeric)


def _published(metrics: pd.DataFrame, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """Our error beside the FNO paper's, for runs trained and evaluated on a published setup."""
    table = comparison(metrics, config)
    if table.empty:
        return None
    g4 = _num(".4g")
    fmts = {"ours": g4, "published": g4, "ratio ours / published": _num(".2f")}
    return {"source": SOURCE,
            "table": table_data(table, fmts, ["resolution", "ours", "published", "ratio ours / published"])}


def _rollout(pde: str, train_res: int, steps: pd.DataFrame | None, spectra: pd.DataFrame | None,
             fig_dir: Path, models: list[str]) -> dict[str, str | None]:
    """Figure names of the error per predicted step and of the spectra of a time-dependent PDE (None
    for static tasks)."""
    out: dict[str, str | None] = {"steps": None, "spectrum": None}
    name = safe_name(pde)
    if steps is not None and not steps.empty:
        png = plot_error_vs_step(steps, pde, train_res, fig_dir / f"error_vs_step_{name}.png", models)
        if png is not None:
            out["steps"] = png.name
    if spectra is not None and not spectra.empty:
        png = plot_spectrum(spectra, pde, train_res, fig_dir / f"spectrum_{name}.png", models)
        if png is not None:
            out["spectrum"] = png.name
    return out


def _pde_section(pde: str, metrics: pd.DataFrame, g: pd.DataFrame, ratios: pd.DataFrame, verdicts: list[str],
                 histories: Mapping[RunKey, pd.DataFrame], examples: Mapping[RunKey, xr.Dataset],
                 steps: pd.DataFrame | None, spectra: pd.DataFrame | None, fig_dir: Path,
                 models: list[str]) -> dict[str, Any]:
    """One PDE's figures (written here) and tables, for the ``pde`` block of the page template."""
    train_res = int(g["train_res"].iloc[0])
    name = safe_name(pde)
    err_png = plot_error_vs_resolution(metrics, pde, fig_dir / f"error_vs_resolution_{name}.png", models)
    ex_png = plot_examples(examples, pde, train_res, fig_dir / f"examples_{name}.png", models)
    mine = [ds for k, ds in examples.items() if k[0] == pde]
    section = {
        "name": pde, "train_res": train_res, "error_png": err_png.name if err_png else None,
        "verdicts": verdicts, "metrics": _metrics_table(g, ratios),
        "examples_png": ex_png.name if ex_png else None,
        "examples_2d": any(is_2d(ds) for ds in mine),
        "rollout_examples": any(ds.attrs.get("task") == "rollout" for ds in mine),
        **_rollout(pde, train_res, steps, spectra, fig_dir, models),
    }
    tc_png = plot_training_curves(histories, pde, fig_dir / f"training_curves_{name}.png", models)
    section["curves_png"] = tc_png.name if tc_png else None
    return section


def _provenance(provenance: Mapping[str, str]) -> dict[str, Any] | None:
    if not provenance:
        return None
    kv = pd.DataFrame({"item": list(provenance), "value": [str(v) for v in provenance.values()]})
    return table_data(kv, css_class="kv")


FRAGMENTS = ("claims", "physics_claims", "claim_sections", "reproduced", "reproduction", "physics")


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
    fragments: Mapping[str, str] | None = None,
) -> Path:
    """Write ``out_dir/index.html`` and its figures under ``out_dir/figures/``; return the page's path.

    ``tolerance`` (the largest error ratio to the training resolution still called invariant) defaults
    to ``config["report"]["invariance_tolerance"]``, else 1.3. ``steps`` and ``spectra`` (tidy tables
    of rollout tasks, see ``opbench.evaluation.ladder``) add the error per predicted step and spectra.
    ``fragments`` are HTML written by the rules that own their data, placed as they are, by name
    (``FRAGMENTS``): ``claims`` (the claims summary, on the first screen with the central figure),
    ``physics_claims`` (the physics rows, after the central figure), ``claim_sections``,
    ``reproduced`` (the recorded reproductions), ``reproduction`` and ``physics`` (before the cost table).
    Figures are written before the page, each atomically, so a page on disk never points at a missing
    figure.
    """
    unknown = sorted(set(fragments or {}) - set(FRAGMENTS))
    if unknown:
        raise ValueError(f"build_report: unknown fragments {unknown}; allowed: {', '.join(FRAGMENTS)}")
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

    overview = plot_error_overview(metrics, pdes, fig_dir / "error_overview.png", models)
    sections = [
        _pde_section(pde, metrics, agg[agg["pde"] == pde], ratios[ratios["pde"] == pde], verdicts.get(pde, []),
                     histories, examples, steps, spectra, fig_dir, models)
        for pde in pdes if not agg[agg["pde"] == pde].empty
    ]
    page = render(
        "page.html.j2",
        title=str(config.get("title") or "opbench report"),
        fragments={k: Markup(v) for k, v in (fragments or {}).items() if v},
        overview_png=overview.name if overview is not None else None,
        tolerance=f"{tolerance:g}x",
        summary_verdicts=[verdicts[p][0] for p in pdes if p in verdicts],
        setup=_setup(config, pdes, models),
        pdes=sections,
        published=_published(metrics, config),
        cost=_cost_table(metrics, pdes, models),
        provenance=_provenance(provenance),
    )
    index = out_dir / "index.html"
    atomic_write_text(index, page)
    return index
