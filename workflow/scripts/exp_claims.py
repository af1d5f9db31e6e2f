"""Snakemake adapter: claims table (JSON + CSV) and one figure per claim from the measurements."""

import json
import sys
from pathlib import Path

import pandas as pd

from opbench.atomic import atomic_write_text
from opbench.evaluation.ladder import write_csv_atomic
from opbench.experiments.claim_results import DEFAULT_ALPHA, compute_claims_by_budget
from opbench.experiments.claims import cost_text
from opbench.experiments.claims_fragment import claims_fragments
from opbench.experiments.convergence import run_costs, unconverged_runs
from opbench.experiments.plan import measurements_name, pde_exp
from opbench.script import start_job

sm = start_job()  # log, one-line errors, threads; runs outside Snakemake too
p = sm.params
measurements = {}  # pde -> budget -> claim -> table (claim 6 has one budget: the base runs')
for path in map(Path, sm.input.measurements):
    b = next(b for b in p.budgets if path.stem == measurements_name(b))
    claim, pde = (path.parent.name, p.exp["pde"]) if path.parent.name in p.claims else (
        path.parent.parent.name, path.parent.name)
    measurements.setdefault(pde, {}).setdefault(b, {})[claim] = pd.read_csv(path)
figures = {c: Path(f) for c, f in zip(p.claims, sm.output.figures, strict=True)}
unconverged = {b: {c: unconverged_runs(paths) for c, paths in runs.items()} for b, runs in p.runs.items()}
results = compute_claims_by_budget(measurements.pop(p.exp["pde"]), p.exp, p.ladder, figures, unconverged)
for pde, by_budget in measurements.items():  # the same claims on the other experiment PDEs, beside the rows
    ladder = sorted(p.ladders[pde])
    others = compute_claims_by_budget(by_budget, pde_exp(p.exp, pde), ladder, None, unconverged)
    for r, o in zip(results, others, strict=True):
        if o.verdict != "not run":
            r.other_pdes.append({"pde": pde, "verdict": o.verdict, "mean": o.interval.mean, "low": o.interval.low,
                                 "high": o.interval.high, "robustness": o.robustness,
                                 "variant_verdict": o.variant.verdict if o.variant else ""})
top = max(p.budgets)  # the table's rows are the largest budget's: so are the costs beside them
for r in results:
    if r.key in p.runs.get(top, {}):
        c = p.exp["claims"][r.key]
        compared = [c["contender"], c["reference"]] + ([r.variant.contender] if r.variant else [])
        r.cost = cost_text(run_costs(p.runs[top][r.key]), compared, r.errors)
        r.errors = {m: r.errors[m] for m in compared if m in r.errors}  # the models the claim compares
claims = [r.row() | {"details": [[label, iv.mean, iv.low, iv.high, iv.n] for label, iv in r.details],
                     "budgets": r.budgets, "figure": f"figures/claims/{r.key}.png" if r.key in figures else None}
          for r in results]
payload = {"alpha": p.exp.get("alpha", DEFAULT_ALPHA), "budgets": [f"{b}x" for b in p.budgets],
           "protocol": p.exp.get("protocol", "reduced"), "seeds": list(p.exp["seeds"]),
           "claims": claims}
text = json.dumps(payload, indent=2, allow_nan=True)
atomic_write_text(sm.output.table, text)
table = pd.DataFrame([r.row() for r in results])
write_csv_atomic(table, sm.output.csv)
front, sections = claims_fragments(json.loads(text))  # the page's, as the JSON says
atomic_write_text(sm.output.front, front)
atomic_write_text(sm.output.sections, sections)
print(table.to_string(), file=sys.stderr)
