# Report stage: tidy metrics table, HTML page with figures, and figures for `snakemake --report`.


rule aggregate_metrics:
    input:
        run_outputs("metrics.csv"),
    output:
        "results/report/metrics.csv",
    log:
        "logs/aggregate_metrics/all.log",
    benchmark:
        "results/benchmarks/aggregate_metrics/all.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/aggregate_metrics.py"


rule aggregate_steps:
    input:
        run_outputs("steps.csv"),
    output:
        "results/report/steps.csv",
    log:
        "logs/aggregate_steps/all.log",
    benchmark:
        "results/benchmarks/aggregate_steps/all.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/aggregate_steps.py"


rule report:
    input:
        metrics="results/report/metrics.csv",
        steps="results/report/steps.csv",
        spectra=run_outputs("spectra.csv"),
        histories=run_outputs("history.csv"),
        examples=run_outputs("examples.nc"),
        claims=claims_inputs(),
        physics=physics_section_input,
        physics_claims=physics_targets(),
        reproduced=REPRODUCED_RECORD,
        reproduction=repro_table_html(),
    output:
        html=report(
            "results/report/index.html",
            caption="../report/index.rst",
            category="Report page",
        ),
        figures=report(
            report_figures(),
            caption="../report/figure.rst",
            category="Figures",
        ),
    params:
        runs=run_keys(),
        config=canonical(config),
    log:
        "logs/report/all.log",
    benchmark:
        "results/benchmarks/report/all.tsv"
    conda:
        "../../envs/opbench.yaml"
    script:
        "../scripts/build_report.py"
