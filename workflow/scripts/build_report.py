"""Snakemake adapter: build the HTML report from the metrics, histories and examples, and place the
fragments the claims, physics and reproduction rules wrote."""

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr

from opbench import __version__
from opbench.config import config_hash
from opbench.report import reproduced
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


def fragment(paths: list[str], name: str) -> str:
    """The fragment ``name``.html among a rule's outputs (empty when that rule is not in this run)."""
    return "".join(Path(p).read_text(encoding="utf-8") for p in paths if Path(p).name == f"{name}.html")


# The recorded reproductions (every page), linked to docs/REPRODUCTION.md; every other section was
# written as a fragment by the rule that owns its data.
doc = Path(sm.input.reproduced).with_name("REPRODUCTION.md")
fragments = {
    "claims": fragment(sm.input.claims, "front"),
    "claim_sections": fragment(sm.input.claims, "sections"),
    "physics_claims": fragment(sm.input.physics_claims, "claims"),
    "reproduced": reproduced.section(reproduced.load(sm.input.reproduced),
                                     os.path.relpath(doc, Path(sm.output.html).parent)),
    "reproduction": fragment(sm.input.reproduction, "table"),
    "physics": fragment(sm.input.physics, "section"),
}
page = build_report(
    pd.read_csv(sm.input.metrics), histories, examples, sm.params.config, provenance,
    Path(sm.output.html).parent,
    steps=pd.read_csv(sm.input.steps),
    spectra=pd.concat(spectra, ignore_index=True) if spectra else None,
    fragments=fragments,
)
missing = [f for f in sm.output.figures if not Path(f).exists()]
if missing:
    raise RuntimeError(f"report did not write the figures {missing}")
print(f"report written to {page}", file=sys.stderr)
