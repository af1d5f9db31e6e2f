"""Snakemake adapter: build the HTML report from the metrics, histories and examples."""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr

from opbench import __version__
from opbench.config import config_hash
from opbench.report import reproduced, reproduction
from opbench.report.build import build_report
from opbench.script import start_job

sm = start_job()  # log, one-line errors, threads; runs outside Snakemake too
keys = [tuple(k) for k in sm.params.runs]
histories = {k: pd.read_csv(path) for k, path in zip(keys, sm.input.histories, strict=True)}
examples = {}
for k, path in zip(keys, sm.input.examples, strict=True):
    with xr.open_dataset(path) as ds:
        examples[k] = ds.load()
provenance = {
    "opbench": __version__,
    "torch": torch.__version__,
    "numpy": np.__version__,
    "xarray": xr.__version__,
    "config hash": config_hash(sm.params.config),
}
spectra = [f for f in (pd.read_csv(path) for path in sm.input.spectra) if not f.empty]
claims = None
if sm.input.claims:
    with open(sm.input.claims[0]) as fh:
        claims = json.load(fh)
# The recorded reproductions (every page), linked to docs/REPRODUCTION.md, then this run's own table.
doc = Path(sm.input.reproduced).with_name("REPRODUCTION.md")
repro_section = reproduced.section(reproduced.load(sm.input.reproduced),
                                   os.path.relpath(doc, Path(sm.output.html).parent))
if sm.input.reproduction:
    b = sm.params.repro_budget
    repro_section += reproduction.html_section(pd.read_csv(sm.input.reproduction[0]),
                                               reproduction.budget_line(int(b["epochs"]), int(b["n_train"])))
page = build_report(
    pd.read_csv(sm.input.metrics), histories, examples, sm.params.config, provenance,
    Path(sm.output.html).parent,
    steps=pd.read_csv(sm.input.steps),
    spectra=pd.concat(spectra, ignore_index=True) if spectra else None,
    claims=claims,
    extra_claims=pd.concat([pd.read_csv(p) for p in sm.input.physics_claims], ignore_index=True)
    if sm.input.physics_claims else None,
    extra_sections=[repro_section] + [Path(p).read_text(encoding="utf-8") for p in sm.input.physics],
)
missing = [f for f in sm.output.figures if not Path(f).exists()]
if missing:
    raise RuntimeError(f"report did not write the figures {missing}")
print(f"report written to {page}", file=sys.stderr)
