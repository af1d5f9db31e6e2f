"""Snakemake adapter: the report's physics section (HTML fragment + figures) and its claims rows."""

import sys
from pathlib import Path

import pandas as pd

from opbench.atomic import atomic_write_text
from opbench.evaluation.ladder import write_csv_atomic
from opbench.report.physics import claims_rows_fragment, physics_section
from opbench.script import start_job

sm = start_job()  # log, one-line errors, threads; runs outside Snakemake too
section = Path(sm.output.section)
html, claims = physics_section(list(sm.input), Path(sm.output.figures[0]).parent)
atomic_write_text(section, html)
write_csv_atomic(claims, sm.output.claims)
atomic_write_text(sm.output.claims_html, claims_rows_fragment(pd.read_csv(sm.output.claims)))  # the page's rows
missing = [f for f in sm.output.figures if not Path(f).exists()]
if missing:
    raise RuntimeError(f"physics report did not write the figures {missing}")
print(claims.to_string(), file=sys.stderr)
