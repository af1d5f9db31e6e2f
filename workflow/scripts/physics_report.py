"""Snakemake adapter: the report's physics section (HTML fragment + figures) and its claims rows."""

import sys
from pathlib import Path

from opbench.atomic import atomic_write_text
from opbench.evaluation.ladder import write_csv_atomic
from opbench.report.physics import physics_section
from opbench.script import start_job

sm = start_job()  # log, one-line errors, threads; runs outside Snakemake too
section = Path(sm.output.section)
html, claims = physics_section(list(sm.input), Path(sm.output.figures[0]).parent)
atomic_write_text(section, html)
write_csv_atomic(claims, sm.output.claims)
missing = [f for f in sm.output.figures if not Path(f).exists()]
if missing:
    raise RuntimeError(f"physics report did not write the figures {missing}")
print(claims.to_string(), file=sys.stderr)
