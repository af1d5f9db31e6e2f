"""Snakemake adapter: evaluate every trained run of one PDE on every resolution of its ladder."""

import sys

from opbench.evaluation.runs import RunToEvaluate, evaluate_runs
from opbench.script import start_job
from opbench.training.tasks import task_of_pde

sm = start_job(torch=True)  # log, one-line errors, threads, determinism; runs outside Snakemake too
p = sm.params
outs = zip(sm.input.checkpoints, sm.input.infos, sm.output.metrics, sm.output.examples, sm.output.steps,
           sm.output.spectra, p.runs, strict=True)
runs = [
    RunToEvaluate(
        checkpoint=ckpt, train_info=info, metrics=metrics, examples=examples, steps=steps, spectra=spectra,
        labels={"pde": p.pde, "model": run["model"], "model_type": run["model_type"], "seed": int(run["seed"]),
                "train_res": int(p.train_res), "fine_res": int(p.fine_res)},
        expect_model=run["model_type"], expect_kwargs=dict(run["model_hyper"]),
    )
    for ckpt, info, metrics, examples, steps, spectra, run in outs
]
evaluate_runs(
    runs,
    test_files=dict(zip(p.ladder, sm.input.tests, strict=True)),
    task=task_of_pde(p.pde_cfg),
    n_examples=p.n_examples,
    memory_budget_mb=float(p.memory_budget_mb),  # larger test files are evaluated in chunks of samples
    expect_data=p.expect,
    log=sys.stderr,
)
