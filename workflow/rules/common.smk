# Helpers shared by the rules: config validation, target lists, input functions.

import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config, validate

from opbench.config import (
    ConfigError,
    canonical,
    data_config,
    data_hash,
    load_schema,
    pde_models,
    pde_seeds,
    pde_training,
    run_models,
    run_pdes,
    validate_config,
)
from opbench import memory
from opbench.config_input import ConfigInputError, check_config_file, clip, parse_cli_values
from opbench.solvers import get_pde
from opbench.paths import export_source_path

# Jobs import opbench from this checkout, whatever environment they run in (conda, SLURM).
export_source_path(workflow.basedir)

SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"

# One clear line per config mistake, before any job is planned; then Snakemake's own
# validate() fills the schema's defaults into the live config object.
# Config files are re-read strictly first (duplicate keys, alias bombs), and nested --config
# values, which Snakemake leaves as text, are typed as a top-level value is.
try:
    for _file in workflow.configfiles:
        check_config_file(_file)
    update_config(config, parse_cli_values(workflow.config_settings.config))
    _checked = validate_config(config, schema=load_schema(SCHEMA))
except (ConfigError, ConfigInputError) as _err:
    sys.stderr.write(f"opbench config error: {clip(_err)}\n")
    sys.exit(1)
validate(config, schema=str(SCHEMA))
config.clear()
config.update(_checked)


wildcard_constraints:
    pde="[a-z][a-z0-9_]*",
    model="[a-z][a-z0-9_]*",
    split="train|val|test",
    res=r"\d+",
    seed=r"\d+",


PDES = run_pdes(config)
MODELS = run_models(config)
SEEDS = config["training"]["seeds"]


def local_cores_or(default):
    """All of `--cores` on a local run; elsewhere (SLURM, --report) a default profiles override."""
    try:
        return workflow.cores
    except WorkflowError:
        return default


def pde_cfg(pde):
    return config["pdes"][pde]


def data_settings():
    """data.* as given to the data rule (the size ceiling and the training memory budget are not inputs
    of the data, so changing them reruns no data job)."""
    return canonical({k: v for k, v in config["data"].items() if k not in ("max_split_gb", "memory_budget_mb")})


def data_expect(pde, split):
    """Attributes a data file of (pde, split) must carry for a consuming rule to use it."""
    cfg = pde_cfg(pde)
    return {"pde": pde, "pde_type": cfg["type"], "split": split, "n_samples": cfg["samples"][split],
            "dtype": config["data"]["dtype"], "data_hash": data_hash(cfg, config["seed"])}


def train_expect(wildcards):
    return {s: data_expect(wildcards.pde, s) for s in ("train", "val")}


def test_expect(wildcards):
    return data_expect(wildcards.pde, "test")


def data_file(pde, split, res):
    return f"results/data/{pde}/{split}_s{res}.nc"


def all_targets():
    return ["results/report/index.html", "results/report/metrics.csv", "results/report/steps.csv"]


def model_type(wildcards):
    return config["models"][wildcards.model]["type"]


def model_hyper(wildcards):
    """Constructor arguments of a model: its config entry without `type` and `training`."""
    entry = config["models"][wildcards.model]
    return canonical({k: v for k, v in entry.items() if k not in ("type", "training")})


def training_recipe(wildcards):
    """Shared recipe, then the PDE's overrides, then the model's (seeds excluded)."""
    recipe = {k: v for k, v in pde_training(config, wildcards.pde).items() if k != "seeds"}
    recipe.update(config["models"][wildcards.model].get("training", {}))
    return canonical(recipe)


def pde_task_config(wildcards):
    """The keys of the PDE's entry a training or inference job reads (``task_of_pde``, the grid of its
    type): adding a model or a seed to the entry reruns none of its other runs."""
    cfg = pde_cfg(wildcards.pde)
    return canonical({k: cfg[k] for k in ("type", "history") if k in cfg})


def pde_solver_config(wildcards):
    """The keys of the PDE's entry its solver reads (``PDE.parameters``: type, params, solver)."""
    cfg = pde_cfg(wildcards.pde)
    return canonical({k: cfg[k] for k in ("type", "params", "solver") if k in cfg})


def pde_type(wildcards):
    return pde_cfg(wildcards.pde)["type"]


def ladder_of(wildcards):
    return sorted(pde_cfg(wildcards.pde)["ladder"])


def train_res_of(wildcards):
    return pde_cfg(wildcards.pde)["train_res"]


def fine_res_of(wildcards):
    return pde_cfg(wildcards.pde)["fine_res"]


def run_dir(pde, model, seed):
    return f"results/runs/{pde}/{model}/seed{seed}"


def run_keys():
    return [(p, m, s) for p in PDES for m in pde_models(config, p) for s in pde_seeds(config, p)]


def generate_gpus(pde):
    """1 when the PDE's solver runs on a GPU (`solver: {device: cuda}`), else 0."""
    return int((pde_cfg(pde).get("solver") or {}).get("device") == "cuda")


def generate_mem(pde):
    """`mem_mb` of a data job: chunk x workers x the PDE's fields, never the number of samples."""

    def mem_mb(wildcards, threads):
        return memory.generate_mem_mb(pde_cfg(pde), config["data"], threads)

    return mem_mb


def train_mem(wildcards):
    """`mem_mb` of a training job: both splits up to data.memory_budget_mb, activations, torch."""
    return memory.train_mem_mb(pde_cfg(wildcards.pde), config["models"][wildcards.model],
                               training_recipe(wildcards), config["data"])


def infer_mem(wildcards):
    """`mem_mb` of an inference job: one test file (with predictions) up to the budget, torch."""
    return memory.infer_mem_mb(pde_cfg(wildcards.pde), config["models"][wildcards.model], config["data"])


def time_dependent_pdes():
    return [p for p in PDES if get_pde(pde_cfg(p)["type"]).time_dependent]


def train_inputs(wildcards):
    res = pde_cfg(wildcards.pde)["train_res"]
    return {
        "train": data_file(wildcards.pde, "train", res),
        "val": data_file(wildcards.pde, "val", res),
    }


def test_inputs(wildcards):
    return [data_file(wildcards.pde, "test", r) for r in ladder_of(wildcards)]


def run_outputs(name):
    return [f"{run_dir(p, m, s)}/{name}" for p, m, s in run_keys()]


def report_figures():
    kinds = ["error_vs_resolution", "examples", "training_curves"]
    rollout = ["error_vs_step", "spectrum"]
    return [f"results/report/figures/{k}_{p}.png" for p in PDES for k in kinds] + [
        f"results/report/figures/{k}_{p}.png" for p in time_dependent_pdes() for k in rollout
    ]


# Physics experiments (issue 8): the optional `physics` section; absent = nothing runs.

PHYSICS = config.get("physics") or {}


def physics_pinn_pdes():
    return list((PHYSICS.get("pinn") or {}).get("pdes", [])) if "pinn" in PHYSICS else []


def physics_hnn_systems():
    return list(PHYSICS["hnn"]["systems"]) if "hnn" in PHYSICS else []


def physics_settings(name, per_job_list):
    """physics.<name> as one job of it reads it: without the list of the jobs (pinn.pdes, hnn.systems),
    so adding a PDE or a system reruns none of the others."""
    return canonical({k: v for k, v in (PHYSICS.get(name) or {}).items() if k != per_job_list})


def hamiltonian_data_settings():
    """physics.hnn as the data rule reads it (physics.hnn_bench.hamiltonian_dataset; a test checks it
    reads no other key): the trajectories, not the models or their training."""
    keys = ("trajectories", "train_periods", "rollout_periods", "points_per_period", "substeps", "energy_tol")
    return canonical({k: v for k, v in (PHYSICS.get("hnn") or {}).items() if k in keys})


def physics_tables():
    """The CSVs the report's physics section reads (none when the section is absent)."""
    out = []
    if physics_pinn_pdes():
        out.append("results/physics/pinn_amortization.csv")
        out += [f"results/physics/pinn/{p}.csv" for p in physics_pinn_pdes()]
    out += [f"results/physics/hnn/{s}.csv" for s in physics_hnn_systems()]
    if "diffusion" in PHYSICS:
        out += ["results/physics/diffusion/stats.csv", "results/physics/diffusion/samples.nc"]
    return out


def physics_figures():
    """The figures the physics section draws, one per experiment configured."""
    names = [("pinn", "physics_pinn"), ("hnn", "physics_hnn"), ("diffusion", "physics_diffusion")]
    return [f"results/report/figures/{png}.png" for key, png in names if key in PHYSICS]


def physics_section_input(wildcards):
    return ["results/report/physics/section.html"] if PHYSICS else []


def physics_targets():
    return ["results/report/physics/claims.html"] if PHYSICS else []


def pinn_operator_metrics(wildcards):
    model = PHYSICS["pinn"]["operator"]
    return [f"{run_dir(wildcards.pde, model, s)}/metrics.csv" for s in SEEDS]


def diffusion_data(wildcards):
    pde = PHYSICS["diffusion"]["pde"]
    res = PHYSICS["diffusion"].get("res") or min(pde_cfg(pde)["ladder"])
    return {"train": data_file(pde, "train", res), "test": data_file(pde, "test", res)}
