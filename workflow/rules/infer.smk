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
        ladder=lambda wc: sorted(pde_cfg(wc.pde)["ladder"]),
        train_res=lambda wc: pde_cfg(wc.pde)["train_res"],
        fine_res=lambda wc: pde_cfg(wc.pde)["fine_res"],
        model_type=lambda wc: config["models"][wc.model]["type"],
        n_examples=config["report"]["examples"],
        pde_cfg=lambda wc: pde_cfg(wc.pde),
    threads: 1
    resources:
        mem_mb=4000,
    log:
        "logs/infer/{pde}_{model}_seed{seed}.log",
    benchmark:
        "results/benchmarks/infer/{pde}_{model}_seed{seed}.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/infer_model.py"
