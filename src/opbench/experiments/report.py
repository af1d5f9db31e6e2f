"""From measurement tables to the claims table, its figures and its HTML (front page and sections)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from opbench.experiments import claims as C
from opbench.experiments import figures as F
from opbench.experiments.multiscale import figure as multiscale_figure
from opbench.experiments.plan import CLAIMS
from opbench.experiments.stats import decide, holm_outcomes
from opbench.report import html as h

DEFAULT_MARGIN = math.log(1.3)  # the report's tolerance: a ratio within 1.3x is no effect
DEFAULT_ALPHA = 0.05


def apply_margin_and_holm(results: Sequence[C.ClaimResult], exp: Mapping[str, Any]) -> None:
    """Set each run claim's verdict from its per-seed effects, its equivalence margin (the claim's
    ``margin``, else ``experiments.margin``, else log 1.3) and Holm's correction across the claims
    that ran, at ``experiments.alpha``; 'not run' rows stay as they are."""
    ran = [r for r in results if r.verdict != "not run"]
    claims_cfg = exp.get("claims") or {}
    decisions = []
    for r in ran:
        r.margin = float((claims_cfg.get(r.key) or {}).get("margin", exp.get("margin", DEFAULT_MARGIN)))
        decisions.append(decide(r.values, +1, r.margin))
    for r, d, (outcome, q) in zip(ran, decisions, holm_outcomes(decisions, exp.get("alpha", DEFAULT_ALPHA)),
                                  strict=True):
        r.verdict, r.p, r.p_holm = outcome, d.p, q


def compute_claims(measurements: Mapping[str, pd.DataFrame], exp: Mapping[str, Any], ladder: Sequence[int],
                   figures: Mapping[str, Path] | None = None,
                   unconverged: Mapping[str, Sequence[str]] | None = None) -> list[C.ClaimResult]:
    """One result per claim, in claim order; claims without measurements become 'not run' rows.

    Verdicts use each claim's margin and Holm's correction (``apply_margin_and_holm``);
    ``unconverged`` names, per claim, its runs whose best validation epoch is in the last 10%.
    """
    out, figures = [], figures or {}
    res = int(exp["train_res"])
    for key in sorted(CLAIMS, key=lambda k: CLAIMS[k][0]):
        if key not in measurements:
            out.append(C.not_run(key, "not run: disabled in the config"))
            continue
        m, cfg = measurements[key], exp["claims"][key]
        con, ref = cfg["contender"], cfg["reference"]
        if key == "discretization":
            r = C.discretization(m, con, ref, res)
            fig = F.discretization
            args = (m, res)
        elif key == "finite_vectors":
            r = C.finite_vectors(m, con, ref, int(m["n_train"].max()))
            fig, args = F.finite_vectors, (m, res)
        elif key == "scale":
            r = C.scale(m, con, ref, float(m.loc[m["kind"] == "tau", "param"].iloc[0]))
            fig, args = F.scale, (m,)
        elif key == "input_families":
            r = C.input_families(m, con, ref)
            fig, args = F.input_families, (m,)
        elif key == "multiscale":
            r = C.multiscale(m, con, ref)
            fig, args = multiscale_figure, (m,)
        else:
            r = C.quadrature(m, con, ref, res)
            fig, args = F.quadrature, (m,)
        if key in figures:
            Path(figures[key]).parent.mkdir(parents=True, exist_ok=True)
            fig(*args, Path(figures[key]))
        r.unconverged = list((unconverged or {}).get(key, []))
        out.append(r)
    apply_margin_and_holm(out, exp)
    return out


def _fmt(v: float) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.3g}"


def _unconverged_cell(c: Mapping[str, Any]) -> str:
    n = c.get("n_unconverged")
    if c.get("verdict") == "not run" or n is None or (isinstance(n, float) and not math.isfinite(n)):
        return "–"
    return "none" if int(n) == 0 else f"{int(n)} run{'s' * (int(n) > 1)}"


def _invariance_note(details: list, tolerance: float = 1.3) -> str:
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
    return (f"<p>Error ratio interval within {tolerance:g}x of the training-resolution error (invariant): "
            f"{h.esc(', '.join(inside) or 'none')}; entirely above {tolerance:g}x (not invariant): "
            f"{h.esc(', '.join(above) or 'none')}. A Transformer built as an operator (the Galerkin "
            "Transformer: coordinates as features, attention as a quadrature) is invariant by design.</p>")


def claims_html(payload: Mapping[str, Any] | None, extra_rows: pd.DataFrame | None = None) -> tuple[str, str]:
    """(front-page table, sections) for the report from the claims JSON written by the workflow.

    ``extra_rows`` (columns claim, experiment, effect, ci_low, ci_high, verdict, section_id) are
    claims measured elsewhere, such as the physics experiments, appended to the same table.
    """
    payload = payload or {"claims": []}
    rows = []
    for c in payload["claims"]:
        link = f"#claim-{c['key']}"
        rows.append({
            "claim": f"{c['claim']}. {c['title']}",
            "experiment": c["experiment"],
            "effect": c["effect"],
            "mean [95% interval]": f"{_fmt(c['mean'])} [{_fmt(c['low'])}, {_fmt(c['high'])}]",
            "seeds": c["n_seeds"],
            "margin": _fmt(c.get("margin", math.nan)),
            "p (Holm)": _fmt(c.get("p_holm", math.nan)),
            "not converged": _unconverged_cell(c),
            "verdict": c["verdict"],
            "section": link,
        })
    for r in (extra_rows.to_dict("records") if extra_rows is not None else []):
        rows.append({
            "claim": str(r["claim"]),
            "experiment": str(r["experiment"]),
            "effect": "see its section",
            "mean [95% interval]": f"{_fmt(r['effect'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]",
            "seeds": "-",
            "margin": "–",
            "p (Holm)": "–",
            "not converged": "–",
            "verdict": str(r["verdict"]),
            "section": f"#{r.get('section_id', 'physics')}",
        })
    cols = ["claim", "experiment", "effect", "mean [95% interval]", "seeds", "margin", "p (Holm)", "not converged",
            "verdict"]
    head = "".join(f"<th>{h.esc(c)}</th>" for c in cols)
    body = []
    for r in rows:  # the claim cell links to the claim's section below
        cells = [f'<a href="{h.esc(r["section"])}">{h.esc(r["claim"])}</a>'] + [h.esc(r[c]) for c in cols[1:]]
        verdict_cls = h.esc(r["verdict"].replace(" ", "-"))
        body.append(f'<tr class="verdict-{verdict_cls}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    table = f'<table class="claims"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    front = (
        "<h2>Claims</h2><p>Each claim's effect is a difference of log error ratios between the model the claim "
        "says falls short and the reference operator, per seed (runs paired by seed index); the interval is the "
        "95% Student-t interval over seeds. With the claim's equivalence margin m (log 1.3 unless configured), a "
        "claim holds when a one-sided t-test shows the effect above m, does not hold when it shows it below -m, "
        "is equivalent when two one-sided tests (TOST) show it within +-m, and is inconclusive otherwise; each "
        "claim's p-value is that of its most significant outcome, Holm-corrected across the claim experiments "
        f"(claims 1-6) at alpha = {payload.get('alpha', DEFAULT_ALPHA):g}. 'Not converged' counts the claim's "
        "training runs whose best validation epoch fell in the last 10% of their epochs: more budget could "
        "change those. Grid models (FNO, Transformer, MLP) are "
        "evaluated on non-uniform points by linear interpolation to and from their training grid; the Galerkin "
        "Transformer and DeepONet take the points directly.</p>" + table
    )
    sections = []
    for c in payload["claims"]:
        parts = [f'<h2 id="claim-{h.esc(c["key"])}">Claim {c["claim"]}: {h.esc(c["title"])}</h2>',
                 f"<p>Experiment: {h.esc(c['experiment'])}. Effect: {h.esc(c['effect'])}. "
                 f"Verdict: <strong>{h.esc(c['verdict'])}</strong> (margin {_fmt(c.get('margin', math.nan))}, "
                 f"p {_fmt(c.get('p', math.nan))}, Holm-corrected {_fmt(c.get('p_holm', math.nan))}).</p>"]
        if c.get("unconverged"):
            parts.append(f"<p>Not converged (best validation epoch in the last 10%): {h.esc(c['unconverged'])}.</p>")
        if c["key"] == "discretization" and c.get("details"):
            parts.append(_invariance_note(c["details"]))
        if c.get("figure"):
            parts.append(h.figure(c["figure"], f"claim {c['claim']}", f"Claim {c['claim']}: "
                                  "mean over seeds, bars from the lowest to the highest seed."))
        if c.get("details"):
            d = pd.DataFrame([{"quantity": q, "mean [95% interval]": f"{_fmt(m)} [{_fmt(lo)}, {_fmt(hi)}]",
                               "seeds": n} for q, m, lo, hi, n in c["details"]])
            parts.append(h.table(d, numeric=["seeds"]))
        sections.append("".join(parts))
    return front, "\n".join(sections)
