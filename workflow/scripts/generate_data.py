"""Snakemake adapter: generate one (PDE, split) and write its ladder of NetCDF files."""

import json
import sys

from opbench.data.generate import generate_dataset
from opbench.errors import one_line_errors

one_line_errors()  # an opbench error ends the job with one line in the log, not a traceback
sm = snakemake  # noqa: F821 - injected by Snakemake
sys.stderr = open(sm.log[0], "w", buffering=1)
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
