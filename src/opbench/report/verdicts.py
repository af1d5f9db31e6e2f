"""Verdicts computed from the metrics table: pure functions returning data, and sentence formatters.

Seeds are averaged first (mean relative L2 per pde, model and evaluation resolution), then ratios are
taken between those means: ``ratio(r) = error(r) / error(train_res)``. A model counts as resolution
invariant on a PDE when no evaluated resolution has a ratio above the tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_TOLERANCE = 1.3
_KEYS = ["pde", "model", "eval_res"]


def seed_mean(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per (pde, model, eval_res), with the spread of the seeds.

    Columns: pde, model, eval_res, train_res, rel_l2 (mean over seeds), rel_l2_seed_std (0 for one
    seed), rel_l2_min, rel_l2_max, rel_l2_within (mean of the per-seed std over test samples), n_seeds,
    and the cost columns averaged over seeds when present.
    """
    missing = {"pde", "model", "seed", "train_res", "eval_res", "rel_l2_mean"} - set(metrics.columns)
    if missing:
        raise KeyError(f"metrics lack columns {sorted(missing)}")
    train_counts = metrics.groupby(["pde", "model"], sort=False)["train_res"].nunique()
    if (train_counts > 1).any():
        bad = [f"{p}/{m}" for (p, m) in train_counts[train_counts > 1].index]
        raise ValueError(f"several training resolutions for {', '.join(bad)}")
    grouped = metrics.groupby(_KEYS, sort=False)
    out = grouped.agg(
        train_res=("train_res", "first"),
        rel_l2=("rel_l2_mean", "mean"),
        rel_l2_min=("rel_l2_mean", "min"),
        rel_l2_max=("rel_l2_mean", "max"),
        n_seeds=("seed", "nunique"),
    )
    out["rel_l2_seed_std"] = grouped["rel_l2_mean"].std(ddof=1).fillna(0.0)
    optional = ["rel_l2_std", "n_params", "train_seconds", "infer_seconds_per_sample"]
    for col in optional:
        if col in metrics.columns:
            name = "rel_l2_within" if col == "rel_l2_std" else col
            out[name] = grouped[col].mean()
    out = out.reset_index()
    out["train_res"] = out["train_res"].astype(int)
    out["eval_res"] = out["eval_res"].astype(int)
    return out.sort_values(_KEYS, kind="stable", key=_order_key(metrics)).reset_index(drop=True)


def _order_key(metrics: pd.DataFrame):
    """Sort key keeping pdes and models in their order of first appearance, resolutions ascending."""
    first = {c: {v: i for i, v in enumerate(pd.unique(metrics[c]))} for c in ("pde", "model")}

    def key(col: pd.Series) -> pd.Series:
        if col.name in first:
            return col.map(first[col.name])
        return col

    return key


def resolution_ratios(metrics: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """One row per (pde, model): the error at the training, finest and coarsest resolutions and ratios.

    Columns: pde, model, train_res, err_train, finest_res, err_finest, ratio_finest, coarsest_res,
    err_coarsest, ratio_coarsest, worst_res, worst_ratio (the largest ratio over all evaluated
    resolutions), invariant (worst_ratio <= tolerance; False when the training resolution was not
    evaluated, in which case the ratios are NaN).
    """
    if not tolerance >= 1.0:
        raise ValueError(f"tolerance must be >= 1, got {tolerance}")
    agg = seed_mean(metrics)
    rows = []
    for (pde, model), g in agg.groupby(["pde", "model"], sort=False):
        g = g.sort_values("eval_res")
        train_res = int(g["train_res"].iloc[0])
        at_train = g.loc[g["eval_res"] == train_res, "rel_l2"]
        err_train = float(at_train.iloc[0]) if len(at_train) else np.nan
        ratios = g["rel_l2"].to_numpy() / err_train if err_train > 0 else np.full(len(g), np.nan)
        res = g["eval_res"].to_numpy()
        finite = np.isfinite(ratios)
        worst = int(np.argmax(np.where(finite, ratios, -np.inf))) if finite.any() else 0
        rows.append(
            {
                "pde": pde,
                "model": model,
                "train_res": train_res,
                "err_train": err_train,
                "finest_res": int(res[-1]),
                "err_finest": float(g["rel_l2"].iloc[-1]),
                "ratio_finest": float(ratios[-1]),
                "coarsest_res": int(res[0]),
                "err_coarsest": float(g["rel_l2"].iloc[0]),
                "ratio_coarsest": float(ratios[0]),
                "worst_res": int(res[worst]),
                "worst_ratio": float(ratios[worst]) if finite.any() else np.nan,
                "invariant": bool(finite.all() and ratios.max() <= tolerance),
            }
        )
    return pd.DataFrame(rows, columns=_RATIO_COLUMNS)


_RATIO_COLUMNS = [
    "pde", "model", "train_res", "err_train", "finest_res", "err_finest", "ratio_finest",
    "coarsest_res", "err_coarsest", "ratio_coarsest", "worst_res", "worst_ratio", "invariant",
]  # fmt: skip


@dataclass(frozen=True)
class PdeSummary:
    """Which models stay within the tolerance on one PDE."""

    pde: str
    tolerance: float
    invariant: list[str]
    not_invariant: list[tuple[str, float, int]]  # (model, worst ratio, resolution of the worst ratio)
    unknown: list[str]  # models never evaluated at their training resolution
    only_res: int | None = None  # the single resolution evaluated, when the ladder has one rung


def summarize(ratios: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE) -> list[PdeSummary]:
    """Group the output of :func:`resolution_ratios` into one summary per PDE."""
    out = []
    for pde, g in ratios.groupby("pde", sort=False):
        known = g[np.isfinite(g["worst_ratio"])]
        bad = known[~known["invariant"]]
        out.append(
            PdeSummary(
                pde=str(pde),
                tolerance=tolerance,
                invariant=[str(m) for m in known.loc[known["invariant"], "model"]],
                not_invariant=[
                    (str(r.model), float(r.worst_ratio), int(r.worst_res)) for r in bad.itertuples()
                ],
                unknown=[str(m) for m in g.loc[~np.isfinite(g["worst_ratio"]), "model"]],
                only_res=int(g["finest_res"].iloc[0]) if (g["finest_res"] == g["coarsest_res"]).all()
                and g["finest_res"].nunique() == 1 else None,
            )
        )
    return out


def _res_factor(a: int, b: int) -> str:
    """How many times finer b is than a, as '4x' or '4.95x'."""
    return f"{max(a, b) / min(a, b):.3g}x"


def _change(ratio: float) -> str:
    if f"{ratio:.2f}" == "1.00":
        return "stays at 1.00x"
    if ratio > 1.0:
        return f"grows by {ratio:.2f}x"
    return f"shrinks to {ratio:.2f}x"


def ratio_sentence(row: pd.Series | dict) -> str:
    """One sentence for one (pde, model) row of :func:`resolution_ratios` (plain text, not escaped)."""
    r = dict(row)
    pde, model, tr = r["pde"], r["model"], int(r["train_res"])
    if not np.isfinite(r["err_train"]) or not r["err_train"] > 0:
        return f"On {pde}, {model} was not evaluated at its training resolution {tr}, so no ratio is given."
    parts = []
    if r["finest_res"] > tr:
        fr = int(r["finest_res"])
        parts.append(
            f"{_change(r['ratio_finest'])} from the training resolution {tr} to {fr} "
            f"({_res_factor(tr, fr)} finer)"
        )
    if r["coarsest_res"] < tr:
        cr = int(r["coarsest_res"])
        where = f"at {cr}" if parts else f"from the training resolution {tr} to {cr}"
        parts.append(f"{_change(r['ratio_coarsest'])} {where} ({_res_factor(tr, cr)} coarser)")
    base = f"relative L2 {r['err_train']:.3g} at {tr}"
    if not parts:
        return f"On {pde}, {model} was evaluated only at its training resolution ({base})."
    return f"On {pde}, {model}'s error " + " and ".join(parts) + f"; {base}."


def summary_sentence(s: PdeSummary) -> str:
    """One line per PDE naming the models that stay within the tolerance and those that do not."""
    tol = f"{s.tolerance:g}x"
    if s.only_res is not None:  # nothing off the training grid was evaluated: no verdict either way
        return f"{s.pde}: only resolution {s.only_res} was evaluated, so there is no invariance verdict."
    pieces = []
    if s.invariant:
        pieces.append(
            f"within {tol} of their training-resolution error at every evaluated resolution: "
            + ", ".join(s.invariant)
        )
    else:
        pieces.append(f"no model stays within {tol} of its training-resolution error")
    if s.not_invariant:
        worst = ", ".join(f"{m} (up to {r:.2f}x at {res})" for m, r, res in s.not_invariant)
        pieces.append(f"not invariant: {worst}")
    if s.unknown:
        pieces.append("not evaluated at the training resolution: " + ", ".join(s.unknown))
    return f"{s.pde}: " + "; ".join(pieces) + "."


def verdict_sentences(metrics: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE) -> dict[str, list[str]]:
    """All verdicts per PDE: the summary line first, then one sentence per model."""
    ratios = resolution_ratios(metrics, tolerance)
    out: dict[str, list[str]] = {}
    for s in summarize(ratios, tolerance):
        rows = ratios[ratios["pde"] == s.pde]
        out[s.pde] = [summary_sentence(s), *(ratio_sentence(r) for _, r in rows.iterrows())]
    return out
