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
from opbench.report import html as h


def compute_claims(measurements: Mapping[str, pd.DataFrame], exp: Mapping[str, Any], ladder: Sequence[int],
                   figures: Mapping[str, Path] | None = None) -> list[C.ClaimResult]:
    """One result per claim, in claim order; claims without measurements become 'not run' rows."""
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
        out.append(r)
    return out


def _fmt(v: float) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.3g}"


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
            "verdict": str(r["verdict"]),
            "section": f"#{r.get('section_id', 'physics')}",
        })
    cols = ["claim", "experiment", "effect", "mean [95% interval]", "seeds", "verdict"]
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
        "95% Student-t interval over seeds. A claim holds when the interval lies above zero, does not hold when "
        "it lies below zero, and is inconclusive when it contains zero. Grid models (FNO, Transformer, MLP) are "
        "evaluated on non-uniform points by linear interpolation to and from their training grid; the Galerkin "
        "Transformer and DeepONet take the points directly.</p>" + table
    )
    sections = []
    for c in payload["claims"]:
        parts = [f'<h2 id="claim-{h.esc(c["key"])}">Claim {c["claim"]}: {h.esc(c["title"])}</h2>',
                 f"<p>Experiment: {h.esc(c['experiment'])}. Effect: {h.esc(c['effect'])}. "
                 f"Verdict: <strong>{h.esc(c['verdict'])}</strong>.</p>"]
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
