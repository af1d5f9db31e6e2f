"""Snakemake adapter: generate one (PDE, split) and write its ladder of NetCDF files."""

import json
import sys

from opbench.data.generate import generate_dataset
from opbench.script import start_job

sm = start_job()  # one-line errors, the log as stderr, threads; runs outside Snakemake too (see opbench.script)
p = sm.params
outputs = {int(r): path for r, path in zip(p.ladder, sm.output, strict=True)}
info = generate_dataset(
    pde_name=p.pde,
    cfg=p.cfg,
    split=sm.wildcards.split,
    seed=p.seed,
    outputs=outputs,
    workers=sm.threads,
    chunk_size=p.data["chunk_size"],
    dtype=p.data["dtype"],
    check_samples=p.data["check_samples"],
    scheduler=p.data["scheduler"],
    cluster=p.data.get("cluster"),
    compression_level=p.data["compression_level"],
)
print(json.dumps(info, indent=2, default=str), file=sys.stderr)
