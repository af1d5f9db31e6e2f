"""From measurement tables to the claims table, its figures and its HTML (front page and sections)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from opbench.experiments import claims as C
from opbench.experiments.plan import claim_titles
from opbench.experiments.registry import claim_specs
from opbench.experiments.stats import decide, holm_outcomes, robustness
from opbench.report import html as h

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


def _fmt(v: float) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.3g}"


def _unconverged_cell(c: Mapping[str, Any]) -> str:
    n = c.get("n_unconverged")
    if c.get("verdict") == "not run" or n is None or (isinstance(n, float) and not math.isfinite(n)):
        return "–"
    return "none" if int(n) == 0 else f"{int(n)} run{'s' * (int(n) > 1)}"


def _physics_table(extra_rows: pd.DataFrame | None) -> str:
    """The PINN, HNN and DDPM rows: a table of their own, since their measures are not effects of a
    contender against a reference operator; intervals from the same statistics code."""
    if extra_rows is None or not len(extra_rows):
        return ""
    body = []
    for r in extra_rows.to_dict("records"):
        cells = [f'<a href="#{h.esc(str(r.get("section_id", "physics")))}">{h.esc(str(r["claim"]))}</a>',
                 h.esc(str(r["experiment"])),
                 h.esc(f"{_fmt(r['effect'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]"), h.esc(str(r["verdict"]))]
        body.append(f'<tr class="verdict-{h.esc(str(r["verdict"]).replace(" ", "-"))}">'
                    + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{c}</th>" for c in ("claim", "experiment", "measure [95% interval]", "verdict"))
    return ("<h3>Physics-informed, Hamiltonian and generative models</h3><p>These rows measure each model "
            "against its own baseline (see its section), not a Transformer against an operator: a table of "
            "their own, with intervals from the same statistics code.</p>"
            f'<table class="claims physics"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


def _protocol_note(payload: Mapping[str, Any]) -> str:
    """Says which protocol produced the table: a reduced one is labelled as such, with its size."""
    if "protocol" not in payload:
        return ""
    size = (f"{len(payload.get('seeds', []))} seeds (each with its own draw of the training data), budgets "
            f"{', '.join(payload.get('budgets', [])) or '1x'}")
    if payload["protocol"] == "reduced":
        return (f'<p class="protocol"><strong>Reduced protocol</strong>: {h.esc(size)}. Its verdicts are '
                "provisional; the full protocol is configs/claims.yaml.</p>")
    return f'<p class="protocol"><strong>Full protocol</strong>: {h.esc(size)}.</p>'


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
    return (f"{c['best_variant']}: {_fmt(c['variant_mean'])} [{_fmt(c['variant_low'])}, {_fmt(c['variant_high'])}]"
            f", {c['variant_verdict']} (p Holm {_fmt(c['variant_p_holm'])})")


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


def _summary_table(claims: Sequence[Mapping[str, Any]]) -> str:
    """The claims at a glance: the verdict for the plain contender and for the best Transformer
    variant side by side, whether it holds at every budget, and the compared models' own errors."""
    variants = any(c.get("best_variant") for c in claims)
    head = ("claim", "verdict", "effect [95% interval]", *(("best Transformer variant",) if variants else ()),
            "at every budget", "errors of the models compared")
    body, titles = [], claim_titles()
    for c in claims:
        variant = (f"{c['best_variant']}: {c['variant_verdict']}" if c.get("best_variant") else "–")
        short = titles.get(c["key"], (0, c["title"]))[1]  # a claim no longer registered keeps its statement
        cells = [f'<a href="#claim-{h.esc(c["key"])}" title="{h.esc(c["title"])}">{h.esc(c["claim"])}. '
                 f"{h.esc(short)}</a>",
                 f"<strong>{h.esc(c['verdict'])}</strong>",
                 h.esc(f"{_fmt(c['mean'])} [{_fmt(c['low'])}, {_fmt(c['high'])}]"),
                 *((h.esc(variant),) if variants else ()),
                 h.esc(c.get("robustness") or "–"), h.esc(c.get("errors") or "–")]
        body.append(f'<tr class="verdict-{h.esc(str(c["verdict"]).replace(" ", "-"))}">'
                    + "".join(f"<td>{x}</td>" for x in cells) + "</tr>")
    return (f'<table class="claims"><thead><tr>{"".join(f"<th>{h.esc(x)}</th>" for x in head)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def claims_html(payload: Mapping[str, Any] | None, extra_rows: pd.DataFrame | None = None,
                after_table: str = "") -> tuple[str, str]:
    """(front-page table, sections) for the report from the claims JSON written by the workflow.

    ``extra_rows`` (columns claim, experiment, effect, ci_low, ci_high, verdict, section_id) are
    claims measured elsewhere, such as the physics experiments, appended to the same table.
    ``after_table`` (HTML) goes between the claims table and those rows: the page's central figure,
    so that the first screen shows both.
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
            "at each budget": _budget_cell(c),
            "other PDEs": c.get("other_pdes") or "–",
            "error, params, train time": c.get("cost") or "–",
            "best Transformer variant": _variant_cell(c),
            "section": link,
        })
    cols = ["claim", "experiment", "effect", "mean [95% interval]", "seeds", "margin", "p (Holm)", "not converged",
            "verdict"]
    if any(c.get("budget_verdicts") for c in payload["claims"]):
        cols.append("at each budget")
    if any(c.get("other_pdes") for c in payload["claims"]):  # claims 1, 3, 4, 5 off the main PDE
        cols.append("other PDEs")
    if any(c.get("cost") for c in payload["claims"]):  # errors, size and compute of the models compared
        cols.append("error, params, train time")
    if any(c.get("best_variant") for c in payload["claims"]):  # plain and best variant side by side
        cols.append("best Transformer variant")
    head = "".join(f"<th>{h.esc(c)}</th>" for c in cols)
    body = []
    for r in rows:  # the claim cell links to the claim's section below
        cells = [f'<a href="{h.esc(r["section"])}">{h.esc(r["claim"])}</a>'] + [h.esc(r[c]) for c in cols[1:]]
        verdict_cls = h.esc(r["verdict"].replace(" ", "-"))
        body.append(f'<tr class="verdict-{verdict_cls}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    table = f'<table class="claims full"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    front = (
        "<h2>Claims</h2>" + _protocol_note(payload) + _summary_table(payload["claims"])
        + "<details><summary>How the verdicts are decided, and every column of the claims table</summary>"
        + "<p>Each claim's effect is a difference of log error ratios between the model the claim "
        "says falls short and the reference operator, per seed (runs paired by seed index); the interval is the "
        "95% Student-t interval over seeds. With the claim's equivalence margin m (log 1.3 unless configured), a "
        "claim holds when a one-sided t-test shows the effect above m, does not hold when it shows it below -m, "
        "is equivalent when two one-sided tests (TOST) show it within +-m, and is inconclusive otherwise; each "
        "claim's p-value is that of its most significant outcome, Holm-corrected across the claims that ran "
        f"(the physics rows aside) at alpha = {payload.get('alpha', DEFAULT_ALPHA):g}. 'Not converged' counts "
        "the claim's training runs whose best validation epoch fell in the last 10% of their epochs: more budget could "
        "change those. 'At each budget' repeats the claim at every training budget (multiples of the "
        "recipe's epochs; the verdict column is the largest): a verdict is robust only when it is the same at "
        "every budget. Grid models (FNO, Transformer, MLP) are "
        "evaluated on non-uniform points by linear interpolation to and from their training grid; the Galerkin "
        "Transformer and DeepONet take the points directly. 'Error, params, train time' gives each compared "
        "model's own error (its measure is named in the claim's section), parameter count and training time, "
        "so a ratio is read beside the sizes it compares.</p>"
        + ("<p>'Best Transformer variant' repeats the claim with each Transformer variant the claim lists as "
           "contender and shows the one with the smallest effect, Holm-corrected across the claims that have "
           "variants. A claim about 'a standard Transformer' should hold for the plain model and its best "
           "honest variant alike; picking the best after seeing the results favours the Transformer.</p>"
           if "best Transformer variant" in cols else "")
        + table + "</details>" + after_table
        + _physics_table(extra_rows)
    )
    sections = []
    for c in payload["claims"]:
        parts = [f'<h2 id="claim-{h.esc(c["key"])}">Claim {c["claim"]}: {h.esc(c["title"])}</h2>',
                 f"<p>Experiment: {h.esc(c['experiment'])}. Effect: {h.esc(c['effect'])}. "
                 f"Verdict: <strong>{h.esc(c['verdict'])}</strong> (margin {_fmt(c.get('margin', math.nan))}, "
                 f"p {_fmt(c.get('p', math.nan))}, Holm-corrected {_fmt(c.get('p_holm', math.nan))}).</p>"]
        if c.get("cost"):
            parts.append(f"<p>Models compared ({h.esc(c.get('error_measure') or 'error')}; parameters; training "
                         f"time of one run): {h.esc(c['cost'])}.</p>")
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
