"""Snakemake adapter: tune one experiment model (issue 11, equal tuning): train each trial drawn from
its declared space for the same epochs on the main PDE, select on validation error, write the choice."""

import json
import sys
import tempfile
from pathlib import Path

from opbench.atomic import atomic_write_text
from opbench.data.netcdf import read_pair
from opbench.experiments.tuning import draw_trials, select, split
from opbench.script import start_job
from opbench.seeding import stream
from opbench.training.trainer import TrainConfig, train

sm = start_job(torch=True)  # log, one-line errors, threads, determinism; runs outside Snakemake too
p, model = sm.params, sm.wildcards.model
a_tr, u_tr, ds_tr = read_pair(sm.input.train)
periodic = ds_tr.attrs.get("grid", "periodic") == "periodic"  # the data's own grid (Darcy's is not periodic)
a_va, u_va, _ = read_pair(sm.input.val)
n, n_val = int(p.n_train), int(p.n_val)
base = dict(p.model_cfg)
model_type = base.pop("type")
results = []
work = Path(tempfile.mkdtemp(prefix=f"tune_{model}_"))  # trial checkpoints are not kept
for i, trial in enumerate(draw_trials(p.root_seed, model, p.space, int(p.trials))):
    hyper, recipe = split(trial)
    cfg = TrainConfig(**{**p.recipe, **recipe, "epochs": int(p.epochs)})
    seed = int(stream(p.root_seed, "tuning-run", model, i).integers(2**31 - 1))
    try:
        info = train(model_type, {**base, **hyper}, a_tr[:n, None], u_tr[:n, None], a_va[:n_val, None],
                     u_va[:n_val, None], periodic=periodic, cfg=cfg, seed=seed,
                     checkpoint_path=work / f"trial{i}.pt", history_path=work / f"trial{i}.csv", progress=False)
        val = float(info["best_val_rel_l2"])
    except Exception as err:  # a diverged trial loses, it does not stop the tuning
        print(f"trial {i} {trial}: {err}", file=sys.stderr)
        info, val = {}, float("nan")
    results.append({"trial": i, "settings": trial, "val_rel_l2": val, "n_params": info.get("n_params"),
                    "train_seconds": info.get("train_seconds")})
    print(json.dumps(results[-1]), file=sys.stderr)
for f in work.iterdir():
    f.unlink()
work.rmdir()
best = select(results)
hyper, recipe = split(best["settings"])
atomic_write_text(sm.output[0], json.dumps({"model": model, "epochs_per_trial": int(p.epochs), "trials": results,
                                            "chosen": best["trial"], "hyper": hyper, "recipe": recipe}, indent=2))
