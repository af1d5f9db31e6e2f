# Inference stage: every trained model on every resolution of its PDE's ladder.


rule infer:
    input:
        checkpoint="results/runs/{pde}/{model}/seed{seed}/model.pt",
        info="results/runs/{pde}/{model}/seed{seed}/train_info.json",
        tests=test_inputs,
    output:
        metrics="results/runs/{pde}/{model}/seed{seed}/metrics.csv",
        examples="results/runs/{pde}/{model}/seed{seed}/examples.nc",
        steps="results/runs/{pde}/{model}/seed{seed}/steps.csv",
        spectra="results/runs/{pde}/{model}/seed{seed}/spectra.csv",
    params:
        ladder=ladder_of,
        train_res=train_res_of,
        fine_res=fine_res_of,
        model_type=model_type,
        n_examples=config["report"]["examples"],
        pde_cfg=pde_config,
        memory_budget_mb=config["data"]["memory_budget_mb"],
        model_hyper=model_hyper,
        expect=test_expect,
    threads: 1
    resources:
        mem_mb=infer_mem,
    log:
        "logs/infer/{pde}_{model}_seed{seed}.log",
    benchmark:
        "results/benchmarks/infer/{pde}_{model}_seed{seed}.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/infer_model.py"
