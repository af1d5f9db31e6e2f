"""Budget as an axis (issue 11): robust / depends-on-budget verdicts, budget paths and recipes."""

import numpy as np
import pandas as pd

from opbench.experiments.claim_results import compute_claims_by_budget
from opbench.experiments.claims_fragment import claims_fragments
from opbench.experiments.plan import budget_recipe, budgets, cell_dir
from opbench.experiments.stats import robustness


def test_robustness_of_verdicts_across_budgets():
    assert robustness([("1x", "holds"), ("4x", "holds"), ("16x", "holds")]) == "robust"
    assert robustness([("1x", "holds"), ("4x", "inconclusive"), ("16x", "does not hold")]) == (
        "depends on budget: holds at 1x -> inconclusive at 4x -> does not hold at 16x")
    assert robustness([("1x", "equivalent"), ("4x", "equivalent"), ("16x", "holds")]) == (
        "depends on budget: equivalent at 1x -> holds at 16x")
    assert robustness([("1x", "holds")]) == "one budget"


def test_run_labels_carry_the_budget():
    from opbench.experiments.convergence import run_label

    assert run_label("results/experiments/runs/heat/fno/r64_n256/seed0/model.pt") == "heat/fno/r64_n256/seed0"
    assert run_label("results/experiments/runs_x4/heat/fno/r64_n256/seed0/model.pt") == "x4/heat/fno/r64_n256/seed0"


def test_budget_scales_epochs_and_schedule_and_keeps_1x_paths():
    r = budget_recipe({"epochs": 20, "step_size": 8, "lr": 1e-3}, 4)
    assert r == {"epochs": 80, "step_size": 32, "lr": 1e-3}
    assert budgets({"experiments": {"budgets": [4, 1, 4]}}) == [1, 4] and budgets({"experiments": {}}) == [1]
    cell = ("heat", "fno", 64, 256)
    assert cell_dir(cell) == "results/experiments/runs/heat/fno/r64_n256"
    assert cell_dir(cell, 4) == "results/experiments/runs_x4/heat/fno/r64_n256"


def _table(growth: float) -> pd.DataFrame:
    rows = []
    for seed, j in enumerate((0.98, 0.99, 1.0, 1.01, 1.02)):
        for model, g in (("fno", 1.0), ("transformer", growth * j)):
            for r in (32, 64, 128):
                for truth in ("restricted", "fresh"):
                    rows.append({"model": model, "seed": seed, "train_res": 32, "n_train": 8, "eval_res": r,
                                 "truth": truth, "rel_l2": 0.1 * (g if r == 128 else 1.0)})
    return pd.DataFrame(rows)


def test_a_verdict_that_flips_with_budget_is_reported_as_depending_on_it():
    """Claim 1 holds at 1x (the Transformer's error grows 3x at 4x the grid) and is equivalent at 4x
    (it grows 1.05x): the row is the 4x one, and it says where the verdict flips."""
    exp = {"train_res": 32, "n_train": 8, "claims": {"discretization": {"contender": "transformer",
                                                                        "reference": "fno"}}}
    m = {1: {"discretization": _table(3.0)}, 4: {"discretization": _table(1.05)}}
    r = compute_claims_by_budget(m, exp, [32, 64, 128])[0]
    assert r.verdict == "equivalent" and np.isclose(r.interval.mean, np.log(1.05), atol=1e-3)
    assert [b["verdict"] for b in r.budgets] == ["holds", "equivalent"]
    assert r.robustness == "depends on budget: holds at 1x -> equivalent at 4x"
    same = compute_claims_by_budget({1: {"discretization": _table(3.0)}, 4: {"discretization": _table(2.5)}},
                                    exp, [32, 64, 128])[0]
    assert same.robustness == "robust"
    payload = {"claims": [r.row()]}
    front, _ = claims_fragments(payload)
    assert "at each budget" in front and "depends on budget: holds at 1x -&gt; equivalent at 4x" in front


def test_each_seed_draws_its_own_nested_training_data():
    import pytest

    from opbench.experiments.plan import training_draw

    a, b = training_draw(0, "heat", 0, 512, 64), training_draw(0, "heat", 1, 512, 64)
    assert len(set(a)) == 64 and not np.array_equal(a, b)  # seeds see different data
    assert np.array_equal(a, training_draw(0, "heat", 0, 512, 64))  # deterministic, the same for every model
    assert set(training_draw(0, "heat", 0, 512, 16)) <= set(a)  # nested across n_train (learning curves)
    assert not np.array_equal(training_draw(1, "heat", 0, 512, 64), a)  # the config seed matters
    with pytest.raises(ValueError, match="n_train 600 exceeds"):
        training_draw(0, "heat", 0, 512, 600)


def test_the_page_labels_a_reduced_protocol():
    front, _ = claims_fragments({"claims": [], "protocol": "reduced", "seeds": [0, 1, 2, 3, 4],
                                 "budgets": ["1x", "4x"]})
    assert "Reduced protocol" in front and "5 seeds" in front and "1x, 4x" in front
    front, _ = claims_fragments({"claims": [], "protocol": "full", "seeds": [0], "budgets": ["1x"]})
    assert "Full protocol" in front and "Reduced" not in front


def test_run_costs_read_parameter_counts_and_epoch_times_of_real_runs(tmp_path):
    from opbench.experiments.claims import cost_text
    from opbench.experiments.convergence import run_costs
    from opbench.models import build_model
    from opbench.training import Normalizer, save_checkpoint

    paths = []
    kws = {"fno": {"modes": 2, "width": 4, "layers": 1}, "mlp": {"hidden": 8, "layers": 1}}
    for model, kw in kws.items():
        kw = {"in_channels": 1, "out_channels": 1, "grid": [16], **kw}
        for seed, secs in ((0, [1.0, 2.0]), (1, [3.0, 4.0])):
            d = tmp_path / "runs" / "heat" / model / "r16_n8" / f"seed{seed}"
            d.mkdir(parents=True)
            net = build_model(model, **{**kw, "grid": (16,)})
            save_checkpoint(d / "model.pt", model, kw, net, Normalizer.fit(np.zeros((2, 1, 16)), np.zeros((2, 1, 16))),
                            {"epoch": 2, "epochs": 2})
            pd.DataFrame({"epoch": [1, 2], "seconds": secs}).to_csv(d / "history.csv", index=False)
            paths.append(d / "model.pt")
    costs = run_costs(paths)
    n_mlp = sum(p.numel() for p in build_model("mlp", in_channels=1, out_channels=1, grid=(16,), hidden=8,
                                                layers=1).parameters())
    assert costs["mlp"]["n_params"] == n_mlp and costs["fno"]["train_seconds"] == 5.0  # mean of 3 and 7
    assert cost_text(costs, ["mlp", "fno", "gpt"]).startswith(f"mlp: {n_mlp:,} params, 5 s; fno: ")
