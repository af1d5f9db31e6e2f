"""The claims' HTML fragments for the report page, rendered from the claims JSON written by the
``exp_claims`` rule: the front (summary table, how verdicts are decided, the full table) and one
section per claim. The report rule places them as they are; it never imports this module."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from markupsafe import Markup

from opbench.experiments.claim_results import DEFAULT_ALPHA
from opbench.experiments.plan import claim_titles
from opbench.render.formatting import interval, number
from opbench.render.html import render, table_data


def _unconverged_cell(c: Mapping[str, Any]) -> str:
    n = c.get("n_unconverged")
    if c.get("verdict") == "not run" or n is None or (isinstance(n, float) and not math.isfinite(n)):
        return "–"
    return "none" if int(n) == 0 else f"{int(n)} run{'s' * (int(n) > 1)}"


def _budget_cell(c: Mapping[str, Any]) -> str:
    """'robust' or 'depends on budget: ...', then each budget's verdict (and the best variant's)."""
    if not c.get("budget_verdicts"):
        return "–"
    text = f"{c.get('robustness', '')} ({c['budget_verdicts']})"
    if c.get("variant_robustness"):
        text += f"; best variant: {c['variant_robustness']}"
    return text


def _variant_cell(c: Mapping[str, Any]) -> str:
    if not c.get("best_variant"):
        return "–"
    return (f"{c['best_variant']}: {interval(c['variant_mean'], c['variant_low'], c['variant_high'])}"
            f", {c['variant_verdict']} (p Holm {number(c['variant_p_holm'])})")


def _invariance(details: list, tolerance: float = 1.3) -> dict[str, Any]:
    """Which models' error-ratio intervals (restricted truth) lie within [1/tol, tol], and which above."""
    bound = math.log(tolerance)
    inside, above = [], []
    for label, _m, lo, hi, _n in details:
        if not label.endswith("restricted truth"):
            continue
        model = label.split(":")[0]
        if -bound <= lo and hi <= bound:
            inside.append(model)
        elif lo > bound:
            above.append(model)
    return {"tolerance": f"{tolerance:g}", "inside": ", ".join(inside) or "none", "above": ", ".join(above) or "none"}


def _protocol(payload: Mapping[str, Any]) -> dict[str, str] | None:
    """Which protocol produced the table: a reduced one is labelled as such, with its size."""
    if "protocol" not in payload:
        return None
    size = (f"{len(payload.get('seeds', []))} seeds (each with its own draw of the training data), budgets "
            f"{', '.join(payload.get('budgets', [])) or '1x'}")
    return {"reduced": payload["protocol"] == "reduced", "size": size}


def _summary(claims: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The claims at a glance: the verdict for the plain contender and for the best Transformer
    variant side by side, whether it holds at every budget, and the compared models' own errors."""
    titles = claim_titles()
    rows = [{
        "key": c["key"], "title": c["title"], "verdict": str(c["verdict"]),
        "label": f"{c['claim']}. {titles.get(c['key'], (0, c['title']))[1]}",  # an unregistered claim keeps its title
        "effect": interval(c["mean"], c["low"], c["high"]),
        "variant": f"{c['best_variant']}: {c['variant_verdict']}" if c.get("best_variant") else "–",
        "robustness": c.get("robustness") or "–", "errors": c.get("errors") or "–",
    } for c in claims]
    return {"variants": any(c.get("best_variant") for c in claims), "rows": rows}


def _full(claims: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every column of the claims table; optional columns only when some claim fills them."""
    cols = ["claim", "experiment", "effect", "mean [95% interval]", "seeds", "margin", "p (Holm)", "not converged",
            "verdict"]
    optional = (("budget_verdicts", "at each budget"), ("other_pdes", "other PDEs"),
                ("cost", "error, params, train time"), ("best_variant", "best Transformer variant"))
    cols += [col for field, col in optional if any(c.get(field) for c in claims)]
    rows = []
    for c in claims:
        cells = {
            "experiment": c["experiment"], "effect": c["effect"],
            "mean [95% interval]": interval(c["mean"], c["low"], c["high"]), "seeds": c["n_seeds"],
            "margin": number(c.get("margin", math.nan)), "p (Holm)": number(c.get("p_holm", math.nan)),
            "not converged": _unconverged_cell(c), "verdict": c["verdict"], "at each budget": _budget_cell(c),
            "other PDEs": c.get("other_pdes") or "–", "error, params, train time": c.get("cost") or "–",
            "best Transformer variant": _variant_cell(c),
        }
        rows.append({"key": c["key"], "claim": f"{c['claim']}. {c['title']}", "verdict": str(c["verdict"]),
                     "cells": [str(cells[k]) for k in cols[1:]]})
    return {"columns": cols, "rows": rows}


def _section(c: Mapping[str, Any]) -> dict[str, Any]:
    """One claim's section: its verdict line, costs, unconverged runs, figure and detail table."""
    details = c.get("details") or []
    return {
        "key": c["key"], "claim": c["claim"], "title": c["title"], "experiment": c["experiment"],
        "effect": c["effect"], "verdict": c["verdict"], "margin": number(c.get("margin", math.nan)),
        "p": number(c.get("p", math.nan)), "p_holm": number(c.get("p_holm", math.nan)),
        "cost": c.get("cost"), "error_measure": c.get("error_measure") or "error", "unconverged": c.get("unconverged"),
        "invariance": _invariance(details) if c["key"] == "discretization" and details else None,
        "figure": c.get("figure"),
        "details": table_data(
            pd.DataFrame([{"quantity": q, "mean [95% interval]": interval(m, lo, hi), "seeds": n}
                                            for q, m, lo, hi, n in details]), numeric=["seeds"]) if details else None,
    }


def claims_fragments(payload: Mapping[str, Any] | None) -> tuple[Markup, Markup]:
    """(front, sections): the claims' HTML for the page, from the claims JSON written by the workflow."""
    payload = payload or {"claims": []}
    claims = payload["claims"]
    full = _full(claims)
    front = render("claims_front.html.j2", protocol=_protocol(payload), summary=_summary(claims), full=full,
                   alpha=f"{payload.get('alpha', DEFAULT_ALPHA):g}",
                   variants="best Transformer variant" in full["columns"])
    sections = render("claims_sections.html.j2", sections=[_section(c) for c in claims]) if claims else Markup("")
    return front, sections
