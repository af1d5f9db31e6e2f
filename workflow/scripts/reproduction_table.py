"""Snakemake adapter: the reproduction table (CSV + markdown) from the runs' metrics."""

import sys

import pandas as pd

from opbench.atomic import atomic_write_text
from opbench.report.reproduction import budget_line, html_section, markdown, reproduction_table, transfer_table
from opbench.script import start_job

sm = start_job()  # log, one-line errors, threads; runs outside Snakemake too
p = sm.params
metrics = pd.concat([pd.read_csv(path) for path in sm.input], ignore_index=True)
metrics = metrics[metrics["model"].isin(list(p.kinds))]
table = reproduction_table(metrics, p.kinds, p.pde_type, p.physics, p.ladder)
atomic_write_text(sm.output.csv, table.to_csv(index=False, float_format="%.6g"))
# The smallest budget of any model decides whether the table may be called a reproduction.
budget = budget_line(int(p.budget["epochs"]), int(p.budget["n_train"]))
atomic_write_text(sm.output.md, markdown(table, transfer_table(metrics), budget, p.notes))
# the page's fragment, from the CSV as written (the numbers a reader of the CSV sees)
atomic_write_text(sm.output.html, html_section(pd.read_csv(sm.output.csv), budget))
print(table.to_string(), file=sys.stderr)
