# Reproduction rules (the optional `reproduction` section); helpers in reproduce_common.smk.


rule repro_train:
    input:
        unpack(repro_train_inputs),
    output:
        checkpoint="results/reproduction/{pde}/{model}/s{res}/seed{seed}/model.pt",
        history="results/reproduction/{pde}/{model}/s{res}/seed{seed}/history.csv",
        info="results/reproduction/{pde}/{model}/s{res}/seed{seed}/train_info.json",
    params:
        pde_cfg=pde_task_config,
        model_type=model_type,
        model_hyper=model_hyper,
        training=training_recipe,
        train_res=repro_res,
        root_seed=config["seed"],
        memory_budget_mb=config["data"]["memory_budget_mb"],
        expect=train_expect,
    threads: 1
    resources:
        mem_mb=train_mem,
    log:
        "logs/repro_train/{pde}_{model}_s{res}_seed{seed}.log",
    benchmark:
        "results/benchmarks/repro_train/{pde}_{model}_s{res}_seed{seed}.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/train_model.py"


rule repro_infer:
    input:
        checkpoint="results/reproduction/{pde}/{model}/s{res}/seed{seed}/model.pt",
        info="results/reproduction/{pde}/{model}/s{res}/seed{seed}/train_info.json",
        tests=test_inputs,
    output:
        metrics="results/reproduction/{pde}/{model}/s{res}/seed{seed}/metrics.csv",
        examples="results/reproduction/{pde}/{model}/s{res}/seed{seed}/examples.nc",
        steps="results/reproduction/{pde}/{model}/s{res}/seed{seed}/steps.csv",
        spectra="results/reproduction/{pde}/{model}/s{res}/seed{seed}/spectra.csv",
    params:
        ladder=ladder_of,
        train_res=repro_res,
        fine_res=fine_res_of,
        model_type=model_type,
        n_examples=config["report"]["examples"],
        pde_cfg=pde_task_config,
        memory_budget_mb=config["data"]["memory_budget_mb"],
        model_hyper=model_hyper,
        expect=test_expect,
    threads: 1
    resources:
        mem_mb=infer_mem,
    log:
        "logs/repro_infer/{pde}_{model}_s{res}_seed{seed}.log",
    benchmark:
        "results/benchmarks/repro_infer/{pde}_{model}_s{res}_seed{seed}.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/infer_model.py"


if REPRO:

    rule repro_table:
        input:
            repro_inputs,
        output:
            csv=f"results/reproduction/{REPRO['pde']}/table.csv",
            md=f"results/reproduction/{REPRO['pde']}/table.md",
            html=f"results/reproduction/{REPRO['pde']}/table.html",
        params:
            kinds=repro_kinds(),
            pde_type=pde_cfg(REPRO["pde"])["type"],
            physics=pde_cfg(REPRO["pde"]).get("params", {}),
            ladder=sorted(pde_cfg(REPRO["pde"])["ladder"]),
            budget=repro_budget(),
            notes=repro_notes(),
        log:
            "logs/repro_table/all.log",
        benchmark:
            "results/benchmarks/repro_table/all.tsv"
        conda:
            "../../envs/opbench.yaml"
        script:
            "../scripts/reproduction_table.py"
