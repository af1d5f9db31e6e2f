"""Snakemake adapter: train one claim-experiment setting (task, model, res, n_train) for every budget
and seed, in one job (outputs in budget-major order, as the rule lists them)."""

import json
import sys
from pathlib import Path

import numpy as np

from opbench.data.netcdf import read_pair
from opbench.experiments.plan import training_draw
from opbench.script import start_job
from opbench.seeding import stream
from opbench.training.trainer import TrainConfig, train

sm = start_job(torch=True)  # log, one-line errors, threads, determinism; runs outside Snakemake too
p, wc = sm.params, sm.wildcards
a_tr, u_tr, ds_tr = read_pair(sm.input.train, expect_res=int(wc.res))
# the data's own grid (Darcy's vertex grid is not periodic; the antiderivative task's files are periodic)
periodic = ds_tr.attrs.get("grid", "periodic") == "periodic"
a_va, u_va, _ = read_pair(sm.input.val, expect_res=int(wc.res))
n, n_val = int(wc.n), int(p.n_val)
if n > len(a_tr):
    raise ValueError(f"n_train {n} exceeds the {len(a_tr)} training samples of {sm.input.train}")
model_cfg = dict(p.model_cfg)
model_type = model_cfg.pop("type")
tuned = {"hyper": {}, "recipe": {}}
if "tuned" in sm.input.keys():  # experiments.tuning: the setting its trials selected on validation
    tuned = json.loads(Path(sm.input.tuned).read_text())
    model_cfg.update(tuned["hyper"])
runs = [(b, s) for b in p.budgets for s in p.seeds]
draws = {int(s): training_draw(p.root_seed, wc.task, int(s), len(a_tr), n) if p.data_per_seed else np.arange(n)
         for s in p.seeds}
for (budget, seed), ckpt in zip(runs, sm.output, strict=True):
    cfg = TrainConfig(**{k: v for k, v in {**p.training[budget], **tuned["recipe"]}.items() if k != "seeds"})
    # the same initialisation at every budget: a budget changes how long a model trains, nothing else
    run_seed = int(stream(p.root_seed, "experiment", wc.task, wc.model, int(wc.res), n, int(seed)).integers(2**31 - 1))
    idx = draws[int(seed)]  # the seed's own draw of the training data, the same for every model
    info = train(model_type, model_cfg, a_tr[idx, None], u_tr[idx, None], a_va[:n_val, None], u_va[:n_val, None],
                 periodic=periodic, cfg=cfg, seed=run_seed, checkpoint_path=ckpt,
                 history_path=Path(ckpt).with_name("history.csv"), progress=False)
    print(json.dumps({"budget": budget, "seed": seed, **info}, default=str), file=sys.stderr)
