"""Snakemake adapter: evaluate one trained model on every resolution of the ladder."""

import json
import sys

from opbench.evaluation.ladder import evaluate_ladder
from opbench.script import start_job
from opbench.training.tasks import task_of_pde

sm = start_job(torch=True)  # log, one-line errors, threads, determinism; runs outside Snakemake too
p = sm.params
wc = sm.wildcards
with open(sm.input.info) as fh:
    info = json.load(fh)
table = evaluate_ladder(
    checkpoint=sm.input.checkpoint,
    test_files=dict(zip(p.ladder, sm.input.tests, strict=True)),
    train_info=info,
    labels={"pde": wc.pde, "model": wc.model, "model_type": p.model_type, "seed": int(wc.seed),
            "train_res": int(p.train_res), "fine_res": int(p.fine_res)},
    metrics_path=sm.output.metrics,
    examples_path=sm.output.examples,
    n_examples=p.n_examples,
    task=task_of_pde(p.pde_cfg),
    steps_path=sm.output.steps,
    spectra_path=sm.output.spectra,
    expect_model=p.model_type,
    memory_budget_mb=float(p.memory_budget_mb),  # larger test files are evaluated in chunks of samples
    expect_kwargs=dict(p.model_hyper),
    expect_data=p.expect,
)
print(table.to_string(), file=sys.stderr)
