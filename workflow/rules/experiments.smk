# Claim experiments (config `experiments:`): evaluation sets, small trainings shared between
# claims (one job per training setting, all seeds), one measurement table per claim, and the
# claims table with its figures, which the report puts on its front page.


include: "experiments_common.smk"


if EXP:

    rule exp_pde_sets:
        output:
            exp_all_pde_sets(),  # every experiment PDE's sets in one job
        params:
            pdes=exp_sets_params(),  # per PDE: its entry, ladder, training resolution and taus
            n_test=EXP["n_test"],
            seed=config["seed"],
        log:
            "logs/experiments/pde_sets.log",
        benchmark:
            "results/benchmarks/experiments/pde_sets.tsv"
        conda:
            "../../envs/opbench.yaml"
        script:
            "../scripts/exp_sets.py"

    rule exp_antiderivative_data:
        output:
            f"{ANTI_DIR}/train_s{EXP['train_res']}.nc",
            f"{ANTI_DIR}/val_s{EXP['train_res']}.nc",
            list(exp_anti_tests().values()),
        params:
            grf=canonical(pde_cfg(EXP["pde"])["grf"]),
            n_fine=pde_cfg(EXP["pde"])["fine_res"],
            train_res=EXP["train_res"],
            ladder=exp_ladder(),
            # a pool to draw each seed's own training data from (experiments.data_per_seed)
            samples={"train": EXP["n_train"] * (4 if EXP.get("data_per_seed", True) else 1), "val": EXP["n_val"],
                     "test": EXP["n_test"]},
            rule_cells=(EXP["claims"].get("quadrature") or {}).get("rule_cells"),
            seed=config["seed"],
        log:
            "logs/experiments/antiderivative_data.log",
        benchmark:
            "results/benchmarks/experiments/antiderivative_data.tsv"
        conda:
            "../../envs/opbench.yaml"
        script:
            "../scripts/exp_antiderivative.py"

    rule exp_tune:
        input:
            train=data_file(EXP["pde"], "train", EXP["train_res"]),
            val=data_file(EXP["pde"], "val", EXP["train_res"]),
        output:
            "results/experiments/tuning/{model}.json",
        params:
            model_cfg=exp_model_hyper,
            recipe=exp_tuning_recipe,
            space=exp_tuning_space,
            trials=(EXP.get("tuning") or {}).get("trials", 1),
            epochs=(EXP.get("tuning") or {}).get("epochs", 1),
            n_train=EXP["n_train"],
            n_val=EXP["n_val"],
            root_seed=config["seed"],
        threads: 1
        log:
            "logs/experiments/tune_{model}.log",
        benchmark:
            "results/benchmarks/experiments/tune_{model}.tsv"
        conda:
            "../../envs/opbench.yaml"
        script:
            "../scripts/exp_tune.py"

    rule exp_train:
        input:
            unpack(exp_train_inputs),
        output:
            # every budget and seed of one cell in one job (a job's start-up costs ~3 s of CPU)
            [
                f"results/experiments/{runs_root(b)}/{{task}}/{{model}}/r{{res}}_n{{n}}/seed{s}/model.pt"
                for b in EXP_BUDGETS
                for s in EXP_SEEDS
            ],
        wildcard_constraints:
            task="[a-z][a-z0-9_]*",
            n=r"\d+",
        params:
            model_cfg=exp_model_hyper,
            training=exp_training_recipe,
            budgets=EXP_BUDGETS,
            seeds=EXP_SEEDS,
            n_val=EXP["n_val"],
            data_per_seed=EXP.get("data_per_seed", True),
            root_seed=config["seed"],
        threads: 1
        resources:
            mem_mb=2000,
        log:
            "logs/experiments/train_{task}_{model}_r{res}_n{n}.log",
        benchmark:
            "results/benchmarks/experiments/train_{task}_{model}_r{res}_n{n}.tsv"
        conda:
            "../../envs/opbench.yaml"
        script:
            "../scripts/exp_train.py"

    rule exp_eval:
        input:
            unpack(exp_eval_inputs),
        output:
            # every budget of one claim in one job
            [f"results/experiments/{{claim}}/{measurements_name(b)}.csv" for b in EXP_BUDGETS],
        wildcard_constraints:
            claim="|".join(EXP_CLAIMS) or "none",
        params:
            exp=exp_eval_exp,
            ladder=exp_eval_ladder,
            pde=exp_eval_pde,
            anti_tests=exp_anti_tests(),
            train_files=exp_train_files,
            budgets=EXP_BUDGETS,
            base_tau=exp_eval_tau,
            nu={p: pde_cfg(p)["params"]["nu"] for p in (EXP["claims"].get("multiscale") or {}).get("pdes", [])},
        threads: 1
        log:
            "logs/experiments/eval_{claim}.log",
        benchmark:
            "results/benchmarks/experiments/eval_{claim}.tsv"
        conda:
            "../../envs/opbench.yaml"
        script:
            "../scripts/exp_eval.py"

    rule exp_eval_pde:
        input:
            unpack(exp_eval_inputs),
        output:
            # claims 1, 3, 4, 5 on another experiment PDE (experiments.also_pdes), every budget in one job
            [f"results/experiments/{{claim}}/{{epde}}/{measurements_name(b)}.csv" for b in EXP_BUDGETS],
        wildcard_constraints:
            claim="|".join(exp_other_pde_claims()) or "none",
            epde="|".join(EXP_OTHER_PDES) or "none",
        params:
            exp=exp_eval_exp,
            ladder=exp_eval_ladder,
            pde=exp_eval_pde,
            anti_tests=exp_anti_tests(),
            train_files=exp_train_files,
            budgets=EXP_BUDGETS,
            base_tau=exp_eval_tau,
            nu={p: pde_cfg(p)["params"]["nu"] for p in (EXP["claims"].get("multiscale") or {}).get("pdes", [])},
        threads: 1
        log:
            "logs/experiments/eval_{claim}_{epde}.log",
        benchmark:
            "results/benchmarks/experiments/eval_{claim}_{epde}.tsv"
        conda:
            "../../envs/opbench.yaml"
        script:
            "../scripts/exp_eval.py"

    rule exp_claims:
        input:
            measurements=[f for c in EXP_CLAIMS for f in exp_measurements(c)],
            runs=exp_claim_run_files(),
        output:
            table="results/experiments/claims.json",
            csv="results/report/claims.csv",
            front="results/report/claims/front.html",
            sections="results/report/claims/sections.html",
            figures=claim_figures(),
        params:
            exp=canonical(EXP),
            claims=EXP_CLAIMS,
            budgets=EXP_BUDGETS,
            ladder=exp_ladder(),
            ladders={p: exp_ladder(p) for p in EXP_PDES},
            runs=exp_claim_runs(),
        log:
            "logs/experiments/claims.log",
        benchmark:
            "results/benchmarks/experiments/claims.tsv"
        conda:
            "../../envs/opbench.yaml"
        script:
            "../scripts/exp_claims.py"
