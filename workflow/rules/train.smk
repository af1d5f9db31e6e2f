# Training stage: one job per (PDE, model, seed) on the PDE's training resolution.


rule train:
    input:
        unpack(train_inputs),
    output:
        checkpoint="results/runs/{pde}/{model}/seed{seed}/model.pt",
        history="results/runs/{pde}/{model}/seed{seed}/history.csv",
        info="results/runs/{pde}/{model}/seed{seed}/train_info.json",
    params:
        pde_cfg=pde_task_config,
        model_type=model_type,
        model_hyper=model_hyper,
        training=training_recipe,
        train_res=train_res_of,
        root_seed=config["seed"],
        memory_budget_mb=config["data"]["memory_budget_mb"],
        expect=train_expect,
    threads: 1
    resources:
        mem_mb=train_mem,
    log:
        "logs/train/{pde}_{model}_seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{pde}_{model}_seed{seed}.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/train_model.py"
