# Training stage: one job per (PDE, model, seed) on the PDE's training resolution.


rule train:
    input:
        unpack(train_inputs),
    output:
        checkpoint="results/runs/{pde}/{model}/seed{seed}/model.pt",
        history="results/runs/{pde}/{model}/seed{seed}/history.csv",
        info="results/runs/{pde}/{model}/seed{seed}/train_info.json",
    params:
        pde_type=lambda wc: pde_cfg(wc.pde)["type"],
        train_res=lambda wc: pde_cfg(wc.pde)["train_res"],
        model_cfg=lambda wc: config["models"][wc.model],
        training=config["training"],
        root_seed=config["seed"],
    threads: 1
    resources:
        mem_mb=4000,
    log:
        "logs/train/{pde}_{model}_seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{pde}_{model}_seed{seed}.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/train_model.py"
