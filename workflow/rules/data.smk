# Data stage: one rule per PDE (its ladder fixes the outputs); each solves its split once on
# the fine grid with dask and writes every resolution of the ladder.


def _make_generate_rule(pde):
    ladder = sorted(pde_cfg(pde)["ladder"])

    rule:
        name:
            f"generate_{pde}"
        output:
            [f"results/data/{pde}/{{split}}_s{r}.nc" for r in ladder],
        params:
            pde=pde,
            cfg=canonical(data_config(pde_cfg(pde))),
            ladder=ladder,
            seed=config["seed"],
            data=data_settings(),
        threads: local_cores_or(4)
        resources:
            mem_mb=generate_mem(pde),
            gpu=generate_gpus(pde),
        log:
            f"logs/generate/{pde}_{{split}}.log",
        benchmark:
            f"results/benchmarks/generate/{pde}_{{split}}.tsv"
        conda:
            "../../envs/opbench.yaml"
        script:
            "../scripts/generate_data.py"


for _pde in config["pdes"]:
    _make_generate_rule(_pde)
