# Helpers of the claim experiments (config `experiments:`): target lists and input functions.

from opbench.experiments.plan import (
    ANTIDERIVATIVE,
    budget_recipe,
    budgets,
    cell_dir,
    claim_cells,
    claim_pdes,
    enabled_claims,
    exp_pdes,
    measurements_name,
    measurements_path,
    multiscale_runs,
    pde_exp,
    runs_root,
)
from opbench.experiments.registry import get_claim

EXP = config.get("experiments") or {}
EXP_CLAIMS = enabled_claims(config)
EXP_SEEDS = EXP.get("seeds", [])
EXP_BUDGETS = budgets(config) if EXP else [1]
EXP_PDES = exp_pdes(EXP) if EXP else []
EXP_OTHER_PDES = EXP_PDES[1:]  # claims 1, 3, 4, 5 also run on these (experiments.also_pdes)
ANTI_DIR = "results/experiments/data/antiderivative"


def exp_pde_dir(pde=None):
    return f"results/experiments/data/{pde or EXP['pde']}"


def exp_ladder(pde=None):
    return sorted(pde_cfg(pde or EXP["pde"])["ladder"])


def exp_pde_sets(pde=None):
    """The evaluation sets of one experiment PDE (the main one by default)."""
    pde = pde or EXP["pde"]
    d = exp_pde_dir(pde)
    files = [f"{d}/{t}_s{r}.nc" for r in exp_ladder(pde) for t in ("restricted", "fresh")]
    files += [f"{d}/family_{f}.nc" for f in ("grf_smooth", "grf_rough", "steps", "sines")]
    taus = [pde_cfg(pde)["grf"]["tau"], *exp_taus(pde)]
    return files + [f"{d}/tau_{float(t):g}.nc" for t in taus]


def exp_taus(pde):
    """The other GRF length scales of claim 4 on one experiment PDE (experiments.per_pde may change them)."""
    return (pde_exp(EXP, pde)["claims"].get("scale") or {}).get("taus", [])


def exp_all_pde_sets():
    return [f for p in EXP_PDES for f in exp_pde_sets(p)]


def exp_sets_params():
    """Per experiment PDE: what its evaluation sets are made from (the data part of its entry, as the
    data rule takes it, so a model added to the PDE reruns no set; its own training resolution and taus)."""
    return canonical({p: {"cfg": data_config(pde_cfg(p)), "ladder": exp_ladder(p),
                          "train_res": pde_exp(EXP, p)["train_res"],
                          "taus": exp_taus(p)} for p in EXP_PDES})


def exp_anti_tests():
    names = [f"uniform_s{r}" for r in exp_ladder()] + ["chebyshev", "random"]
    return {n: f"{ANTI_DIR}/test_{n}.nc" for n in names}


def exp_checkpoints(cells, budget=1):
    return [f"{cell_dir(c, budget)}/seed{s}/model.pt" for c in cells for s in EXP_SEEDS]


def exp_measurements(claim):
    """A claim's measurement tables, one per budget (claim 6 reads the base runs, which have one
    budget of their own: one table) and per PDE it runs on."""
    bs = [1] if get_claim(claim).inputs == "base_runs" else EXP_BUDGETS
    pdes = claim_pdes(EXP, claim)
    return [measurements_path(claim, b, None if p == EXP["pde"] else p) for p in pdes for b in bs]


def exp_other_pde_claims():
    return [c for c in EXP_CLAIMS if len(claim_pdes(EXP, c)) > 1]


def exp_models(wildcards):
    """The experiment models as they apply to the run's task (experiments.per_pde.<pde>.models)."""
    task = getattr(wildcards, "task", ANTIDERIVATIVE)
    return EXP["models"] if task == ANTIDERIVATIVE else pde_exp(EXP, task)["models"]


def exp_model_hyper(wildcards):
    """The experiment model's type and hyperparameters, without its training override."""
    return canonical({k: v for k, v in exp_models(wildcards)[wildcards.model].items() if k != "training"})


def exp_training_recipe(wildcards):
    """Budget -> the experiments' shared recipe, then the model's own changes
    (``experiments.models.X.training``: a model that needs another learning rate or more epochs gets
    them, as in the base pipeline), then the budget's multiple of its epochs."""
    recipe = {k: v for k, v in EXP["training"].items() if k != "seeds"}
    recipe.update(exp_models(wildcards)[wildcards.model].get("training", {}))
    return canonical({b: budget_recipe(recipe, b) for b in EXP_BUDGETS})


def exp_tuning_space(wildcards):
    """The model's declared search space (experiments.tuning.space.<model>; none: its own settings)."""
    return canonical((EXP.get("tuning") or {}).get("space", {}).get(wildcards.model, {}))


def exp_tuning_recipe(wildcards):
    """The recipe a tuning trial starts from (the model's own, at 1x; its epochs are the tuning's)."""
    recipe = {k: v for k, v in EXP["training"].items() if k != "seeds"}
    recipe.update(EXP["models"][wildcards.model].get("training", {}))
    return canonical(recipe)


def exp_train_inputs(wildcards):
    tuned = {"tuned": f"results/experiments/tuning/{wildcards.model}.json"} if EXP.get("tuning") else {}
    if wildcards.task == ANTIDERIVATIVE:
        return {s: f"{ANTI_DIR}/{s}_s{wildcards.res}.nc" for s in ("train", "val")} | tuned
    return {s: data_file(wildcards.task, s, wildcards.res) for s in ("train", "val")} | tuned


def exp_eval_inputs(wildcards):
    inputs = get_claim(wildcards.claim).inputs
    if inputs == "base_runs":  # claim 6 reads the base pipeline's Navier-Stokes runs
        runs = [run_dir(p, m, s) for p, m, s in multiscale_runs(config)]
        return {"metrics": [f"{d}/metrics.csv" for d in runs], "spectra": [f"{d}/spectra.csv" for d in runs]}
    pde = getattr(wildcards, "epde", None) or EXP["pde"]
    sets = list(exp_anti_tests().values()) if inputs == "antiderivative" else exp_pde_sets(pde)
    bs = [1] if inputs == "base_runs" else EXP_BUDGETS
    cells = [c for c in claim_cells(config, wildcards.claim) if c[0] in (pde, ANTIDERIVATIVE)]
    checkpoints = [f for b in bs for f in exp_checkpoints(cells, b)]
    return {"checkpoints": checkpoints, "sets": sets,
            "train_data": list(exp_train_files(wildcards).values())}


def exp_train_files(wildcards):
    """Resolution -> the PDE's training data a claim fits its own baselines on (registry ``train_data``)."""
    spec = get_claim(wildcards.claim)
    exp = pde_exp(EXP, getattr(wildcards, "epde", None) or EXP["pde"])
    pde = exp["pde"]
    res = spec.train_data(exp, exp["claims"][spec.key]) if spec.train_data else []
    return {int(r): data_file(pde, "train", r) for r in res}


def exp_eval_pde(wildcards):
    return getattr(wildcards, "epde", None) or EXP["pde"]


def exp_eval_ladder(wildcards):
    return exp_ladder(exp_eval_pde(wildcards))


def exp_eval_exp(wildcards):
    """The experiments block as it applies to the PDE the job measures."""
    return canonical(pde_exp(EXP, exp_eval_pde(wildcards)))


def exp_eval_tau(wildcards):
    return pde_cfg(exp_eval_pde(wildcards))["grf"]["tau"]


def exp_claim_runs():
    """Budget -> claim -> the files that hold its runs' best and last epochs (for the "not converged"
    flag): the checkpoints of its cells, or for claim 6 the base runs' train_info.json."""
    out = {}
    for b in EXP_BUDGETS:
        runs = out[b] = {}
        for c in EXP_CLAIMS:
            if get_claim(c).inputs == "base_runs":
                if b != 1:
                    continue
                runs[c] = [f"{run_dir(p, m, s)}/train_info.json" for p, m, s in multiscale_runs(config)]
            else:
                runs[c] = exp_checkpoints(claim_cells(config, c), b)
    return out


def exp_claim_run_files():
    return sorted({f for runs in exp_claim_runs().values() for files in runs.values() for f in files})


def claim_figures():
    return [f"results/report/figures/claims/{c}.png" for c in EXP_CLAIMS]


def claims_inputs():
    """What the report reads from the experiments (nothing when the config has none)."""
    if not EXP:
        return []
    return ["results/report/claims/front.html", "results/report/claims/sections.html", *claim_figures()]
