"""Claims 1, 3, 4 and 5 on Darcy (issue 11 item 6): a static 2D map on a non-periodic vertex grid.

The evaluation sets are nested restrictions of the base data stage's own test inputs, the fresh
truth is the solver's answer at each rung, the families keep the coefficient's two values, the
self-consistency of claim 1 strides vertex grids correctly, and a tiny workflow with Darcy in
``also_pdes`` writes each claim's measurement table for Darcy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from opbench.data.netcdf import read_pair
from opbench.experiments.apply import score
from opbench.experiments.data import FAMILIES, write_pde_sets
from opbench.experiments.measure import discretization
from opbench.seeding import sample_streams
from opbench.solvers import get_pde

ROOT = Path(__file__).resolve().parents[1]
DARCY = {"type": "darcy", "params": {"f": 1.0, "a_high": 12.0, "a_low": 3.0},
         "grf": {"alpha": 2.0, "tau": 3.0, "sigma": 1.0}, "fine_res": 17, "ladder": [5, 9, 17], "train_res": 9,
         "samples": {"train": 8, "val": 4, "test": 4}}


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("darcy_sets")
    write_pde_sets(seed=3, pde="darcy", cfg=DARCY, ladder=[5, 9, 17], train_res=9, n_test=3, taus=[6.0],
                   out_dir=out)
    return out


def test_darcy_sets_are_nested_restrictions_of_the_base_test_inputs(sets: Path) -> None:
    pde = get_pde("darcy")
    base = pde.generate(sample_streams(3, "darcy", "test", range(3)), 17, dict(DARCY))  # the data stage's draw
    a17, u17, ds = read_pair(sets / "restricted_s17.nc")
    assert ds["a"].dims == ("sample", "x", "y") and np.allclose(ds["y"].values, np.linspace(0, 1, 17))
    np.testing.assert_array_equal(a17, base["a"].astype(np.float32))
    np.testing.assert_array_equal(u17, base["u"].astype(np.float32))
    for r, k in ((9, 2), (5, 4)):  # vertex grids: stride (17 - 1) / (r - 1)
        a, u, ds = read_pair(sets / f"restricted_s{r}.nc")
        np.testing.assert_array_equal(a, a17[:, ::k, ::k])
        np.testing.assert_array_equal(u, u17[:, ::k, ::k])
        assert np.allclose(ds["x"].values, np.linspace(0, 1, r))


def test_darcy_fresh_truth_is_the_solver_at_that_resolution(sets: Path) -> None:
    pde = get_pde("darcy")
    params = pde.parameters(DARCY)
    for r in (5, 9):
        a, u, _ = read_pair(sets / f"fresh_s{r}.nc")
        np.testing.assert_allclose(u, pde.solve(a.astype(np.float64), params), rtol=1e-5, atol=1e-7)
        restricted = read_pair(sets / f"restricted_s{r}.nc")[1]
        assert np.abs(u - restricted).max() > 1e-4  # a coarse solve is not the fine solution restricted
    assert np.abs(read_pair(sets / "fresh_s17.nc")[1] - read_pair(sets / "restricted_s17.nc")[1]).max() < 1e-6


def test_darcy_families_keep_the_two_values_and_change_the_geometry(sets: Path) -> None:
    grf = read_pair(sets / "restricted_s9.nc")[0]
    jumps = {}
    for fam in FAMILIES:
        a, u, ds = read_pair(sets / f"family_{fam}.nc")
        assert a.shape == (3, 9, 9) and set(np.unique(a)) <= {3.0, 12.0}, fam
        assert (np.abs(u[:, [0, -1], :]).max() == 0) and (u[:, 4, 4] > 0).all()  # zero boundary, positive inside
        jumps[fam] = float(np.mean(np.diff(a, axis=1) != 0))  # fraction of neighbours across an interface
        assert not np.array_equal(a, grf)
    # axis-aligned blocks: the coefficient is a tensor grid of constant blocks (rows change only at cuts)
    steps = read_pair(sets / "family_steps.nc")[0]
    for s in steps:
        rows = {tuple(r) for r in s}
        assert len(rows) <= 6
    assert jumps["grf_smooth"] < jumps["grf_rough"]
    # claim 4's length scale: the GRF's tau before thresholding (larger tau, shorter correlation length)
    interfaces = {}
    for tau in (3, 6):
        a, u, ds = read_pair(sets / f"tau_{tau}.nc")
        assert set(np.unique(a)) <= {3.0, 12.0} and float(ds.attrs["tau"]) == tau
        interfaces[tau] = float(np.mean(np.diff(a, axis=2) != 0))
    assert interfaces[3] < interfaces[6]
    np.testing.assert_array_equal(read_pair(sets / "tau_3.nc")[0][0].shape, (9, 9))


class _Pointwise:
    """A model that is exactly discretization-invariant on any grid: u = 0.01 a, pointwise."""

    kind, periodic = "pointwise", False

    def predict(self, a: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        return 0.01 * np.asarray(a, np.float64)


class _GridBound(_Pointwise):
    """A model whose output depends on the grid it sees: the input times the number of points."""

    def predict(self, a: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        return 1e-3 * a.shape[-1] * np.asarray(a, np.float64)


def test_self_consistency_strides_vertex_grids(sets: Path) -> None:
    table = discretization(lambda m, r, n, s: {"pointwise": _Pointwise(), "grid": _GridBound()}[m],
                           ["pointwise", "grid"], [("pointwise", 9, 8), ("grid", 9, 8)], [0], [5, 9, 17], sets)
    own = table[table["truth"] == "self"].set_index(["model", "eval_res"])["rel_l2"]
    assert sorted(own.index) == [("grid", 5), ("grid", 17), ("pointwise", 5), ("pointwise", 17)]
    assert own["pointwise"].max() < 1e-7  # the same function at the same points, whatever the grid
    assert own[("grid", 17)] == pytest.approx(17 / 9 - 1, rel=1e-5)
    # scores carry 2D band errors that add up to the total (Parseval on the 2D DFT)
    s = score(_Pointwise(), sets / "restricted_s9.nc")
    assert s["rel_l2"] > 0 and {"rel_l2_low", "rel_l2_mid", "rel_l2_high"} <= set(s)


def test_a_trained_checkpoint_predicts_and_scores_on_2d_vertex_grids(sets: Path, tmp_path: Path) -> None:
    from opbench.experiments.apply import Trained
    from opbench.training.trainer import TrainConfig, train

    a, u, _ = read_pair(sets / "restricted_s9.nc")
    train("transformer", {"d_model": 8, "heads": 2, "layers": 1, "patch": 1, "position": "coords", "rope": True,
                          "harmonics": 2}, a[:, None], u[:, None], a[:, None], u[:, None], periodic=False,
          cfg=TrainConfig(epochs=1, batch_size=3), seed=0, checkpoint_path=tmp_path / "m.pt",
          history_path=tmp_path / "h.csv", progress=False)
    t = Trained(tmp_path / "m.pt")
    assert t.periodic is False and t.grid == (9, 9)
    for r in (5, 9, 17):  # odd vertex grids the model was not trained on, one token per point
        assert t.predict(read_pair(sets / f"restricted_s{r}.nc")[0]).shape == (3, r, r)
        s = score(t, sets / f"restricted_s{r}.nc")
        bands = np.array([s["rel_l2_low"], s["rel_l2_mid"], s["rel_l2_high"]])
        assert np.isfinite(bands).all() and (bands <= s["rel_l2"] + 1e-9).all()
    with pytest.raises(ValueError, match="point sets are 1D only"):
        t.predict(a, np.linspace(0.0, 1.0, 9) ** 2)


def _tiny_config() -> dict:
    transformer = {"type": "transformer", "d_model": 8, "heads": 2, "layers": 1}
    return {
        "title": "darcy claims", "seed": 2,
        "data": {"chunk_size": 4, "dtype": "float32", "check_samples": 1, "scheduler": "threads"},
        "pdes": {"heat": {"type": "heat", "params": {"alpha": 0.01, "T": 0.5},
                          "grf": {"alpha": 2.0, "tau": 5.0, "sigma": 25.0}, "fine_res": 32, "ladder": [8, 16, 32],
                          "train_res": 16, "samples": {"train": 8, "val": 4, "test": 4}},
                 "darcy": DARCY},
        "models": {"fno": {"type": "fno", "modes": 2, "width": 4, "layers": 1}},
        "training": {"epochs": 1, "batch_size": 4, "lr": 1.0e-3, "step_size": 1, "gamma": 0.5, "seeds": [0]},
        "experiments": {
            "pde": "heat", "also_pdes": ["darcy"], "train_res": 16, "n_train": 8, "n_val": 4, "n_test": 3,
            "seeds": [0, 1, 2],
            "training": {"epochs": 1, "batch_size": 4, "lr": 1.0e-3, "step_size": 1, "gamma": 0.5},
            "models": {"fno": {"type": "fno", "modes": 2, "width": 4, "layers": 1},
                       "mlp": {"type": "mlp", "hidden": 8, "layers": 1},
                       "transformer": {**transformer, "patch": 2},
                       "transformer_point": {**transformer, "patch": 1, "position": "coords", "rope": True,
                                             "harmonics": 2}},
            # Darcy's odd vertex grids: one token per point for the plain Transformer, its own rungs
            "per_pde": {"darcy": {"train_res": 9, "models": {"transformer": {"patch": 1}},
                                  "claims": {"finite_vectors": {"retrain_res": [5, 9]}}}},
            "claims": {
                "discretization": {"enabled": True, "models": ["fno", "transformer", "transformer_point"],
                                   "contender": "transformer", "reference": "fno", "variants": ["transformer_point"]},
                "finite_vectors": {"enabled": True, "models": ["fno"], "contender": "mlp@retrained",
                                   "reference": "fno", "n_train": [4], "retrained": ["mlp"], "retrain_res": [8, 16],
                                   "linear_map": True},
                "scale": {"enabled": True, "models": ["fno", "transformer"], "contender": "transformer",
                          "reference": "fno", "lambdas": [0.5, 2.0], "taus": [2.5, 10.0]},
                "input_families": {"enabled": True, "models": ["fno", "transformer"], "contender": "transformer",
                                   "reference": "fno"},
            },
        },
    }


def test_bad_darcy_experiment_configs_give_one_clear_line() -> None:
    from opbench.config import ConfigError, validate_config

    cases = [
        (lambda e: e.pop("per_pde"), "experiments.also_pdes: 'darcy' fails a check of the main PDE (with "
                                     "experiments.per_pde.darcy applied): experiments.train_res: 16"),
        (lambda e: e["per_pde"]["darcy"]["models"].pop("transformer"), "experiments.models.transformer.patch: 2"),
        (lambda e: e["per_pde"].update(burgers={}), "experiments.per_pde: 'burgers' is not in experiments.also_pdes"),
        (lambda e: e["per_pde"]["darcy"]["models"].update(gpt={}), "experiments.per_pde.darcy.models: 'gpt'"),
        (lambda e: e["per_pde"]["darcy"]["models"]["transformer"].update(pach=1),
         "experiments.per_pde.darcy.models.transformer"),
    ]
    for edit, fragment in cases:
        cfg = _tiny_config()
        edit(cfg["experiments"])
        with pytest.raises(ConfigError) as info:
            validate_config(cfg)
        assert "\n" not in str(info.value) and fragment in str(info.value), str(info.value)
    cfg = _tiny_config()
    ns = yaml.safe_load((ROOT / "configs/smoke.yaml").read_text())["pdes"]["navier_stokes"]
    cfg["pdes"]["ns"] = {k: v for k, v in ns.items() if k not in ("models", "seeds")}  # time-dependent
    cfg["experiments"]["also_pdes"] = ["darcy", "ns"]
    with pytest.raises(ConfigError, match=r"'ns' is not a static-map entry of pdes .*allowed: heat, darcy\)"):
        validate_config(cfg)
    validate_config(_tiny_config())  # the tiny config itself is valid


@pytest.mark.slow
def test_workflow_measures_claims_1_3_4_5_on_darcy(tmp_path: Path) -> None:
    cfg = _tiny_config()
    configfile = tmp_path / "darcy.yaml"
    configfile.write_text(yaml.safe_dump(cfg))
    claims = ("discretization", "finite_vectors", "scale", "input_families")
    targets = [f"results/experiments/{c}/darcy/measurements.csv" for c in claims]
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(configfile), "--cores", "1", *targets]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1500,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    m = {c: pd.read_csv(tmp_path / f"results/experiments/{c}/darcy/measurements.csv") for c in claims}
    d = m["discretization"]
    scored = d[d["truth"] != "self"]
    assert set(scored["model"]) == {"fno", "transformer", "transformer_point"}
    assert sorted(set(scored["eval_res"])) == [5, 9, 17] and set(scored["train_res"]) == {9}
    assert np.isfinite(scored["rel_l2"]).all() and np.isfinite(scored["rel_l2_high"]).all()
    own = d[d["truth"] == "self"]
    assert sorted(set(own["eval_res"])) == [5, 17] and len(own) == 3 * 3 * 2  # models x seeds x nested rungs
    f = m["finite_vectors"]
    assert set(f["model"]) == {"fno", "mlp@retrained", "linear_lstsq"}
    assert sorted(set(f.loc[f["model"] == "mlp@retrained", "eval_res"])) == [5, 9]
    s = m["scale"]
    assert sorted(set(s.loc[s["kind"] == "tau", "param"])) == [2.5, 3.0, 10.0]  # Darcy's own tau is 3
    fam = m["input_families"]
    assert set(fam["family"]) == {"grf", *FAMILIES} and np.isfinite(fam["abs_err"]).all()
    # the claims table's rows for Darcy: a verdict for each of the four claims (the report's "other PDEs")
    from opbench.experiments.claim_results import compute_claims_by_budget
    from opbench.experiments.plan import pde_exp

    results = compute_claims_by_budget({1: m}, pde_exp(cfg["experiments"], "darcy"), [5, 9, 17], None, {1: {}})
    verdicts = {r.key: r.verdict for r in results}
    assert all(verdicts[c] in {"holds", "does not hold", "equivalent", "inconclusive"} for c in claims), verdicts
    # the runs trained on Darcy's vertex grid (not periodic) at its own training resolution
    import torch

    ckpt = next((tmp_path / "results/experiments/runs/darcy/transformer").glob("r9_n8/seed0/model.pt"))
    kwargs = torch.load(ckpt, map_location="cpu", weights_only=True)["kwargs"]
    assert kwargs["periodic"] is False and tuple(kwargs["grid"]) == (9, 9) and kwargs["patch"] == 1
