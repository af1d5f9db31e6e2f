"""From measurement tables to the claims' results: effects, verdicts with each claim's margin and Holm's
correction, the best Transformer variant, and the same at every training budget. The HTML of these
results is ``opbench.experiments.claims_fragment``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from opbench.experiments import claims as C
from opbench.experiments.registry import claim_specs
from opbench.experiments.stats import decide, holm_outcomes, robustness

DEFAULT_MARGIN = math.log(1.3)  # the report's tolerance: a ratio within 1.3x is no effect
DEFAULT_ALPHA = 0.05


def _margin(r: C.ClaimResult, exp: Mapping[str, Any]) -> float:
    return float(((exp.get("claims") or {}).get(r.key) or {}).get("margin", exp.get("margin", DEFAULT_MARGIN)))


def _holm_in_place(results: Sequence[C.ClaimResult], exp: Mapping[str, Any]) -> None:
    decisions = [decide(r.values, +1, r.margin) for r in results]
    for r, d, (outcome, q) in zip(results, decisions, holm_outcomes(decisions, exp.get("alpha", DEFAULT_ALPHA)),
                                  strict=True):
        r.verdict, r.p, r.p_holm = outcome, d.p, q


def apply_margin_and_holm(results: Sequence[C.ClaimResult], exp: Mapping[str, Any]) -> None:
    """Set each run claim's verdict from its per-seed effects, its equivalence margin (the claim's
    ``margin``, else ``experiments.margin``, else log 1.3) and Holm's correction across the claims
    that ran, at ``experiments.alpha``; 'not run' rows stay as they are."""
    ran = [r for r in results if r.verdict != "not run"]
    for r in ran:
        r.margin = _margin(r, exp)
    _holm_in_place(ran, exp)


def _best_variant(effect, variants: Sequence[str], reference: str) -> C.ClaimResult | None:
    """The claim with each Transformer variant as contender; the one with the smallest mean effect
    (the variant that fares best against the reference), or None without variants."""
    tried = [(v, effect(v, reference)) for v in variants]
    tried = [(v, r) for v, r in tried if r.interval.n > 0 and math.isfinite(r.interval.mean)]
    if not tried:
        return None
    name, best = min(tried, key=lambda t: t[1].interval.mean)
    best.contender = name
    return best


def compute_claims(measurements: Mapping[str, pd.DataFrame], exp: Mapping[str, Any], ladder: Sequence[int],
                   figures: Mapping[str, Path] | None = None,
                   unconverged: Mapping[str, Sequence[str]] | None = None) -> list[C.ClaimResult]:
    """One result per claim, in claim order; claims without measurements become 'not run' rows.

    Verdicts use each claim's margin and Holm's correction (``apply_margin_and_holm``);
    ``unconverged`` names, per claim, its runs whose best validation epoch is in the last 10%. A
    claim with ``variants`` (Transformer variants among its models) also gets the verdict of the best
    variant as contender (``ClaimResult.variant``), Holm-corrected across the claims that have one.
    """
    out, figures = [], figures or {}
    for spec in claim_specs():
        key = spec.key
        if key not in measurements:
            out.append(C.not_run(key, "not run: disabled in the config"))
            continue
        m, cfg = measurements[key], exp["claims"][key]

        def effect(con: str, ref: str, spec=spec, m=m) -> C.ClaimResult:
            return spec.effect(m, con, ref, exp)

        r = effect(cfg["contender"], cfg["reference"])
        r.variant = _best_variant(effect, cfg.get("variants", []), cfg["reference"])
        if key in figures and spec.figure is not None:
            Path(figures[key]).parent.mkdir(parents=True, exist_ok=True)
            spec.figure(m, exp, Path(figures[key]))
        r.unconverged = list((unconverged or {}).get(key, []))
        out.append(r)
    apply_margin_and_holm(out, exp)
    variants = [r.variant for r in out if r.variant is not None]
    for v in variants:  # the same margin as the claim's plain verdict
        v.margin = next(r.margin for r in out if r.variant is v)
    _holm_in_place(variants, exp)
    return out


def budget_label(budget: int) -> str:
    return f"{int(budget)}x"


def compute_claims_by_budget(measurements: Mapping[int, Mapping[str, pd.DataFrame]], exp: Mapping[str, Any],
                             ladder: Sequence[int], figures: Mapping[str, Path] | None = None,
                             unconverged: Mapping[int, Mapping[str, Sequence[str]]] | None = None
                             ) -> list[C.ClaimResult]:
    """The claims table at every budget (``experiments.budgets``; each budget its own table, Holm
    across its claims). The rows returned are those of the largest budget at which a claim was
    measured (its figure drawn from it), each with ``budgets``: the verdict, interval and best
    variant's verdict at every budget, and ``robustness`` ('robust' when the verdict is the same at
    every budget, else 'depends on budget' and where it flips; likewise for the best variant)."""
    order = sorted(measurements)
    tables = {b: compute_claims(measurements[b], exp, ladder, None, (unconverged or {}).get(b)) for b in order}
    out = []
    for i, spec in enumerate(claim_specs()):
        ran = [b for b in order if spec.key in measurements[b]]
        if not ran:
            out.append(tables[order[-1]][i] if order else C.not_run(spec.key, "not run: disabled in the config"))
            continue
        top = tables[ran[-1]][i]
        if figures and spec.key in figures and spec.figure is not None:
            Path(figures[spec.key]).parent.mkdir(parents=True, exist_ok=True)
            spec.figure(measurements[ran[-1]][spec.key], exp, Path(figures[spec.key]))
        per = [(b, tables[b][i]) for b in ran]
        top.budgets = [{"budget": budget_label(b), "verdict": r.verdict, "mean": r.interval.mean,
                        "low": r.interval.low, "high": r.interval.high, "p_holm": r.p_holm,
                        "n_unconverged": len(r.unconverged),
                        "variant_verdict": r.variant.verdict if r.variant else ""} for b, r in per]
        top.robustness = robustness([(budget_label(b), r.verdict) for b, r in per])
        if top.variant is not None:
            top.variant_robustness = robustness([(budget_label(b), r.variant.verdict) for b, r in per if r.variant])
        out.append(top)
    return out
