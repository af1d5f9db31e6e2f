"""Snakemake adapter: train one (PDE, model, seed) on the training resolution."""

import json
import os
import sys

from opbench.atomic import atomic_write_text
from opbench.script import start_job
from opbench.seeding import stream
from opbench.solvers import get_pde
from opbench.training.datasets import NetCDFPairs, open_pairs
from opbench.training.tasks import task_of_pde
from opbench.training.trainer import TrainConfig, train_pairs

sm = start_job(torch=True)  # log, one-line errors, threads, determinism; runs outside Snakemake too
p = sm.params
wc = sm.wildcards
task = task_of_pde(p.pde_cfg)  # static a -> u, or rollout windows (history snapshots -> next)
res = int(p.train_res)
# A split over the memory budget is read from its file batch by batch (same result, bounded memory).
# Each file must say it is this PDE's split, of this config's data (see data_expect in common.smk).
budget = float(p.memory_budget_mb)
train_set = open_pairs(sm.input.train, task, expect_res=res, budget_mb=budget, expect=p.expect["train"])
val_set = open_pairs(sm.input.val, task, expect_res=res, budget_mb=budget, expect=p.expect["val"])
model_type = p.model_type
# Seeds of runs differ by (root seed, PDE, model, training seed), never by scheduling.
run_seed = int(stream(p.root_seed, "run", wc.pde, wc.model, int(wc.seed)).integers(2**31 - 1))
info = train_pairs(
    model_type,
    dict(p.model_hyper),
    train_set,
    val_set,
    periodic=get_pde(p.pde_cfg["type"]).grid.kind == "periodic",
    cfg=TrainConfig(**p.training),
    seed=run_seed,
    checkpoint_path=sm.output.checkpoint,
    history_path=sm.output.history,
    progress=True,
    # Not a declared output, so Snakemake keeps it when the job is killed; removed when done.
    resume_path=os.path.join(os.path.dirname(sm.output.checkpoint), "resume.pt"),
    sources=(str(sm.input.train), str(sm.input.val)),
)
info.update(pde=wc.pde, model=wc.model, model_type=model_type, seed=int(wc.seed), run_seed=run_seed,
            task=task.name, n_train_pairs=len(train_set), recipe=dict(p.training),
            read_lazily={"train": isinstance(train_set, NetCDFPairs), "val": isinstance(val_set, NetCDFPairs)})
atomic_write_text(sm.output.info, json.dumps(info, indent=2, default=str))
print(json.dumps(info, default=str), file=sys.stderr)
