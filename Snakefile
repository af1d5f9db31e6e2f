# opbench: solvers -> NetCDF -> training -> inference across a resolution ladder -> report.
#
#   snakemake --cores all                              # default config.yaml (2-core CPU, minutes)
#   snakemake --cores all --configfile configs/smoke.yaml
#   snakemake --workflow-profile profiles/slurm --configfile configs/paper.yaml
#
# A --configfile replaces config.yaml entirely (presets are complete), so no key of the
# default leaks into a preset.

from snakemake.utils import min_version

min_version("9.0")


if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/infer.smk"
include: "workflow/rules/experiments.smk"
include: "workflow/rules/physics.smk"
include: "workflow/rules/reproduce_common.smk"
include: "workflow/rules/reproduce.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),
        physics_targets(),
        repro_targets(),
