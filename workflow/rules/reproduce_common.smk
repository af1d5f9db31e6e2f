# Reproduction of a published table (the optional `reproduction` section; docs/REPRODUCTION.md): each
# listed model is retrained at every training resolution on the PDE's own files and evaluated on its
# whole ladder, beside neuraloperator's FNO (the `bench` extra) trained by the same loop.

from types import SimpleNamespace

from opbench.models.neuralop_fno import reference_available

REPRO = config.get("reproduction") or {}


def _repro_reference():
    """The reference models that can run: none, with one line on stderr, without neuraloperator."""
    names = list(REPRO.get("reference", []))
    if not names:
        return [], None
    why = reference_available()
    if why is not None:
        sys.stderr.write(f"opbench: reproduction reference {', '.join(names)} skipped: {why}\n")
        return [], why
    return names, None


REPRO_REFERENCE, REPRO_SKIPPED = _repro_reference() if REPRO else ([], None)


def repro_seed():
    return pde_seeds(config, REPRO["pde"])[0]


def repro_metrics(model, res):
    """The base run when it is this (model, resolution), else the reproduction's own run."""
    pde = REPRO["pde"]
    if res == pde_cfg(pde)["train_res"] and pde in PDES and model in pde_models(config, pde):
        return f"{run_dir(pde, model, repro_seed())}/metrics.csv"
    return f"results/reproduction/{pde}/{model}/s{res}/seed{repro_seed()}/metrics.csv"


def repro_kinds():
    """Table column of each model: the first fno and fcn listed, the first available reference; others
    appear in the transfer table only."""
    kinds = {}
    for m in REPRO["models"]:
        kind = config["models"][m]["type"]
        kinds[m] = kind if kind in ("fno", "fcn") and kind not in kinds.values() else "other"
    for m in REPRO_REFERENCE:
        kinds[m] = "reference" if "reference" not in kinds.values() else "other"
    return kinds


def repro_inputs(wildcards):
    return [repro_metrics(m, r) for m in repro_kinds() for r in REPRO["train_res"]]


def repro_targets():
    if not REPRO:
        return []
    return [f"results/reproduction/{REPRO['pde']}/table.md"]


# The record of recorded reproductions (docs/REPRODUCTION.md's cells), shown on every page.
REPRODUCED_RECORD = str(Path(workflow.basedir) / "docs" / "reproduced.csv")


def repro_table_html():
    """This configuration's own reproduction table as a page fragment (none without a `reproduction` section)."""
    return [f"results/reproduction/{REPRO['pde']}/table.html"] if REPRO else []


def repro_budget():
    """Epochs (the smallest of the table's models) and training samples of this reproduction."""
    epochs = min(training_recipe(SimpleNamespace(pde=REPRO["pde"], model=m))["epochs"] for m in repro_kinds())
    return {"epochs": epochs, "n_train": pde_cfg(REPRO["pde"])["samples"]["train"]}


def repro_train_inputs(wildcards):
    return {
        "train": data_file(wildcards.pde, "train", wildcards.res),
        "val": data_file(wildcards.pde, "val", wildcards.res),
    }


def repro_res(wildcards):
    return int(wildcards.res)


def repro_notes():
    """Which config entry each measured column shows, and why a column is empty."""
    names = {"fno": "opbench FNO", "fcn": "opbench FCN", "reference": "neuraloperator here"}
    notes = [f"{names[k]}: model {m} {config['models'][m]}" for m, k in repro_kinds().items() if k in names]
    return notes + ([f"neuraloperator column not run: {REPRO_SKIPPED}"] if REPRO_SKIPPED else [])
