# Inference stage: every trained model on every resolution of its PDE's ladder. One job per PDE
# (infer_<pde>) evaluates all of the PDE's runs (models x seeds) in one process, so the few seconds
# of torch/xarray start-up are paid once per PDE, not once per run; each run writes the same four
# files a job of its own would.

from types import SimpleNamespace


def infer_runs(pde):
    """(wildcards-like object, run directory, seed) of each run of ``pde``, sorted by model name and
    seed: the job's params do not depend on the order of the config's models (the page's order), so
    reordering them reruns the report alone."""
    return [(SimpleNamespace(pde=pde, model=m), run_dir(pde, m, s), s)
            for m in sorted(pde_models(config, pde)) for s in sorted(pde_seeds(config, pde))]


def _make_infer_rule(pde):
    runs = infer_runs(pde)
    dirs = [d for _, d, _ in runs]
    first = runs[0][0]

    rule:
        name:
            f"infer_{pde}"
        input:
            checkpoints=[f"{d}/model.pt" for d in dirs],
            infos=[f"{d}/train_info.json" for d in dirs],
            tests=test_inputs(first),
        output:
            metrics=[f"{d}/metrics.csv" for d in dirs],
            examples=[f"{d}/examples.nc" for d in dirs],
            steps=[f"{d}/steps.csv" for d in dirs],
            spectra=[f"{d}/spectra.csv" for d in dirs],
        params:
            pde=pde,
            runs=[{"model": w.model, "seed": int(s), "model_type": model_type(w), "model_hyper": model_hyper(w)}
                  for w, _, s in runs],
            ladder=ladder_of(first),
            train_res=train_res_of(first),
            fine_res=fine_res_of(first),
            n_examples=config["report"]["examples"],
            pde_cfg=pde_task_config(first),
            memory_budget_mb=config["data"]["memory_budget_mb"],
            expect=test_expect(first),
        threads: 1
        resources:
            mem_mb=max(infer_mem(w) for w, _, _ in runs),
        log:
            f"logs/infer/{pde}.log",
        benchmark:
            f"results/benchmarks/infer/{pde}.tsv"
        conda:
            "../../envs/opbench.yaml"
        script:
            "../scripts/infer_pde.py"


for _pde in config["pdes"]:
    if infer_runs(_pde):
        _make_infer_rule(_pde)
