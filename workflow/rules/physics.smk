# Physics-informed and structure-preserving models (issue 8), selected by the optional `physics`
# config section: PINN vs solver vs trained operator, HNN vs MLP vs Transformer on Hamiltonian
# systems, and a small DDPM on Navier-Stokes vorticity. An absent section runs nothing.

rule physics_pinn:
    input:
        tests=test_inputs,
        operator=pinn_operator_metrics,
    output:
        "results/physics/pinn/{pde}.csv",
    params:
        ladder=ladder_of,
        pde_cfg=pde_solver_config,
        settings=physics_settings("pinn", "pdes"),
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=2000,
    log:
        "logs/physics_pinn/{pde}.log",
    benchmark:
        "results/benchmarks/physics_pinn/{pde}.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/physics_pinn.py"


rule physics_pinn_amortization:
    input:
        [f"results/physics/pinn/{p}.csv" for p in physics_pinn_pdes()],
    output:
        "results/physics/pinn_amortization.csv",
    params:
        operator=PHYSICS.get("pinn", {}).get("operator"),
        train_samples={p: pde_cfg(p)["samples"]["train"] for p in physics_pinn_pdes()},
    log:
        "logs/physics_pinn_amortization/all.log",
    benchmark:
        "results/benchmarks/physics_pinn_amortization/all.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/physics_pinn_amortization.py"


# Both splits of a system in one job (one process start-up instead of two).
rule physics_hamiltonian_data:
    output:
        train="results/data/hamiltonian/{system}_train.nc",
        test="results/data/hamiltonian/{system}_test.nc",
    params:
        settings=hamiltonian_data_settings(),
        seed=config["seed"],
    wildcard_constraints:
        system="[a-z][a-z_]*",
    log:
        "logs/physics_hamiltonian_data/{system}.log",
    benchmark:
        "results/benchmarks/physics_hamiltonian_data/{system}.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/physics_hamiltonian_data.py"


rule physics_hnn:
    input:
        train="results/data/hamiltonian/{system}_train.nc",
        test="results/data/hamiltonian/{system}_test.nc",
    output:
        "results/physics/hnn/{system}.csv",
    params:
        settings=physics_settings("hnn", "systems"),
        seed=config["seed"],
    wildcard_constraints:
        system="[a-z][a-z_]*",
    threads: 1
    resources:
        mem_mb=2000,
    log:
        "logs/physics_hnn/{system}.log",
    benchmark:
        "results/benchmarks/physics_hnn/{system}.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/physics_hnn.py"


rule physics_diffusion:
    input:
        unpack(diffusion_data),
    output:
        stats="results/physics/diffusion/stats.csv",
        samples="results/physics/diffusion/samples.nc",
    params:
        settings=canonical(PHYSICS.get("diffusion")),
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=2000,
    log:
        "logs/physics_diffusion/all.log",
    benchmark:
        "results/benchmarks/physics_diffusion/all.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/physics_diffusion.py"


rule physics_report:
    input:
        physics_tables(),
    output:
        section="results/report/physics/section.html",
        claims="results/report/physics_claims.csv",
        claims_html="results/report/physics/claims.html",
        figures=report(physics_figures(), caption="../report/figure.rst", category="Physics"),
    # no params: the section is drawn from its input tables alone, so a config edit reruns it only
    # through the tables it changes
    log:
        "logs/physics_report/all.log",
    benchmark:
        "results/benchmarks/physics_report/all.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/physics_report.py"
