"""A real Snakemake run of configs/smoke.yaml: check the content of what every stage wrote."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "configs" / "smoke.yaml"
pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(SMOKE), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


# `smoke_run` (the local run of configs/smoke.yaml these tests read) is in conftest.py.


@pytest.fixture(scope="module")
def cfg() -> dict:
    return yaml.safe_load(SMOKE.read_text())


def _pde_models(cfg: dict, pde: str) -> list[str]:
    chosen = cfg["pdes"][pde].get("models")
    return [m for m in cfg["models"] if m in chosen] if chosen else list(cfg["models"])


def _pde_seeds(cfg: dict, pde: str) -> list[int]:
    """The training seeds of one PDE: its own `seeds` if given, else the shared ones."""
    return cfg["pdes"][pde].get("seeds", cfg["training"]["seeds"])


def _one_d(cfg: dict) -> dict:
    from opbench.solvers import get_pde

    return {p: s for p, s in cfg["pdes"].items() if get_pde(s["type"]).static_1d_periodic}


def test_netcdf_files_have_the_promised_layout(smoke_run: Path, cfg: dict) -> None:
    for pde, spec in _one_d(cfg).items():
        fine = max(spec["ladder"])
        for split in ("train", "val", "test"):
            with xr.open_dataset(smoke_run / f"results/data/{pde}/{split}_s{fine}.nc") as top:
                top = top.load()
            for res in spec["ladder"]:
                with xr.open_dataset(smoke_run / f"results/data/{pde}/{split}_s{res}.nc") as ds:
                    ds = ds.load()
                assert dict(ds.sizes) == {"sample": spec["samples"][split], "x": res}
                assert ds["a"].dims == ("sample", "x") and ds["u"].dims == ("sample", "x")
                np.testing.assert_allclose(ds["x"].values, np.arange(res) / res)
                assert ds["x"].attrs["units"] and ds["x"].attrs["long_name"]
                attrs = ds.attrs
                assert attrs["Conventions"].startswith("CF-") and attrs["history"] and attrs["source"]
                assert attrs["pde"] == pde and attrs["pde_type"] == spec["type"] and attrs["split"] == split
                assert attrs["seed"] == cfg["seed"] and attrs["resolution"] == res
                assert attrs["fine_resolution"] == spec["fine_res"]
                for key, value in spec["params"].items():
                    assert attrs[f"params_{key}"] == value
                assert attrs["grf_sigma"] == spec["grf"]["sigma"]
                assert "check_method" in attrs and np.isfinite(attrs["check_max_rel_error"])
                # every rung holds the same functions: an exact restriction of the finest file
                k = fine // res
                np.testing.assert_array_equal(ds["u"].values, top["u"].values[:, ::k])
                assert np.isfinite(ds["u"].values).all()


def test_heat_data_is_the_exact_solution_of_its_own_input(smoke_run: Path, cfg: dict) -> None:
    spec = cfg["pdes"]["heat"]
    res = max(spec["ladder"])
    with xr.open_dataset(smoke_run / f"results/data/heat/test_s{res}.nc") as ds:
        a, u = ds["a"].values.astype(np.float64), ds["u"].values.astype(np.float64)
    # the smoke heat data is solved on its top rung, so the stored input is the solver's input
    # (not an aliased restriction); compare in float32 precision.
    assert spec["fine_res"] == res
    k = np.fft.rfftfreq(res, 1.0 / res)
    decay = np.exp(-spec["params"]["alpha"] * (2 * np.pi * k) ** 2 * spec["params"]["T"])
    expected = np.fft.irfft(np.fft.rfft(a) * decay, n=res)
    assert np.abs(expected - u).max() / np.abs(u).max() < 1e-5


def test_burgers_data_conserves_the_mean_and_dissipates(smoke_run: Path, cfg: dict) -> None:
    res = max(cfg["pdes"]["burgers"]["ladder"])
    with xr.open_dataset(smoke_run / f"results/data/burgers/train_s{res}.nc") as ds:
        a, u = ds["a"].values.astype(np.float64), ds["u"].values.astype(np.float64)
    # The GRF input has mean exactly zero on the fine grid and Burgers conserves it; the smooth
    # solution's grid mean shows it (the rough input's restricted grid mean need not).
    assert np.abs(u.mean(axis=1)).max() < 1e-6 < np.abs(a.mean(axis=1)).max()
    assert (np.linalg.norm(u, axis=1) < np.linalg.norm(a, axis=1)).all()


def test_metrics_table_has_every_model_and_resolution(smoke_run: Path, cfg: dict) -> None:
    table = pd.read_csv(smoke_run / "results/report/metrics.csv")
    required = ["pde", "model", "seed", "train_res", "eval_res", "rel_l2_mean", "rel_l2_std", "n_params",
                "train_seconds", "infer_seconds_per_sample"]
    assert set(required) <= set(table.columns)
    expected = {(p, m, s, r) for p, spec in cfg["pdes"].items() for m in _pde_models(cfg, p)
                for s in _pde_seeds(cfg, p) for r in spec["ladder"]}
    got = set(zip(table.pde, table.model, table.seed, table.eval_res, strict=True))
    assert got == expected and len(table) == len(expected)
    numeric = table[["rel_l2_mean", "rel_l2_std", "train_seconds", "infer_seconds_per_sample"]]
    assert np.isfinite(numeric.to_numpy()).all() and (table.rel_l2_mean > 0).all()
    assert (table.n_params > 0).all()
    for pde, spec in cfg["pdes"].items():
        assert (table[table.pde == pde].train_res == spec["train_res"]).all()


def test_report_page_references_existing_figures(smoke_run: Path, cfg: dict) -> None:
    page = smoke_run / "results/report/index.html"
    html = page.read_text()
    sources = re.findall(r'<img[^>]+src="([^"]+)"', html)
    assert sources, "the page shows no figures"
    for src in sources:
        assert (page.parent / src).is_file(), src
    for pde in cfg["pdes"]:
        assert f"error_vs_resolution_{pde}.png" in html
    for model in cfg["models"]:
        assert model in html
    assert "interpolated" in html  # the page says how the Transformer and MLP are applied off-grid


def test_report_links_the_recorded_reproductions_to_their_rows(smoke_run: Path) -> None:
    """Every page shows the reproduction record; each row's link lands on that row of the document."""
    page = smoke_run / "results/report/index.html"
    html = page.read_text()
    assert "Reproduced published results" in html
    links = re.findall(r'<a href="([^"#]+REPRODUCTION\.md)#([^"]+)">', html)
    assert len(links) >= 7, links  # the table's heading and one per row
    for href, anchor in links:
        doc = (page.parent / href).resolve()
        assert doc == ROOT / "docs" / "REPRODUCTION.md", href
        assert f'id="{anchor}"' in doc.read_text(), anchor


def test_every_run_kept_its_best_validation_checkpoint(smoke_run: Path, cfg: dict) -> None:
    import json

    for pde in cfg["pdes"]:
        for model in _pde_models(cfg, pde):
            run = smoke_run / f"results/runs/{pde}/{model}/seed0"
            history = pd.read_csv(run / "history.csv")
            info = json.loads((run / "train_info.json").read_text())
            assert len(history) == cfg["training"]["epochs"]
            assert info["best_epoch"] == int(history.loc[history.val_loss.idxmin(), "epoch"])


def test_darcy_data_lives_on_the_vertex_grid_with_its_check(smoke_run: Path, cfg: dict) -> None:
    spec = cfg["pdes"]["darcy"]
    fine = max(spec["ladder"])
    with xr.open_dataset(smoke_run / f"results/data/darcy/test_s{fine}.nc") as top:
        top = top.load()
    for res in spec["ladder"]:
        with xr.open_dataset(smoke_run / f"results/data/darcy/test_s{res}.nc") as ds:
            ds = ds.load()
        assert dict(ds.sizes) == {"sample": spec["samples"]["test"], "x": res, "y": res}
        assert ds["a"].dims == ("sample", "x", "y") and ds["u"].dims == ("sample", "x", "y")
        np.testing.assert_allclose(ds["x"].values, np.linspace(0.0, 1.0, res))
        assert set(np.unique(ds["a"].values)) <= {spec["params"]["a_high"], spec["params"]["a_low"]}
        u = ds["u"].values
        assert np.abs(u[:, [0, -1], :]).max() == 0.0 and np.abs(u[:, :, [0, -1]]).max() == 0.0
        assert (u[:, 1:-1, 1:-1] > 0).all()  # f = 1 > 0 and u = 0 on the boundary: u > 0 inside
        k = (fine - 1) // (res - 1)
        np.testing.assert_array_equal(u, top["u"].values[:, ::k, ::k])
        assert 1.8 <= ds.attrs["check_observed_order"] <= 2.2 and ds.attrs["check_residual_max"] < 1e-8


def test_navier_stokes_data_are_snapshots_in_time(smoke_run: Path, cfg: dict) -> None:
    spec = cfg["pdes"]["navier_stokes"]
    n_t = int(round(spec["params"]["T"] / spec["params"]["snapshot_dt"]))
    for res in spec["ladder"]:
        with xr.open_dataset(smoke_run / f"results/data/navier_stokes/train_s{res}.nc") as ds:
            ds = ds.load()
        assert ds["u"].dims == ("sample", "t", "x", "y") and ds["a"].dims == ("sample", "x", "y")
        assert dict(ds.sizes) == {"sample": spec["samples"]["train"], "t": n_t, "x": res, "y": res}
        np.testing.assert_allclose(ds["t"].values, spec["params"]["snapshot_dt"] * np.arange(1, n_t + 1))
        assert ds["t"].attrs["axis"] == "T"
        # mean vorticity stays zero (the forcing and the initial field have zero mean)
        assert np.abs(ds["u"].values.astype(np.float64).mean(axis=(-2, -1))).max() < 1e-5
        assert ds.attrs["check_tg_error"] < 1e-6 and ds.attrs["check_refine_rel_diff"] < 1e-3


def test_rollout_metrics_per_step_and_physics_figures(smoke_run: Path, cfg: dict) -> None:
    spec = cfg["pdes"]["navier_stokes"]
    n_pred = int(round(spec["params"]["T"] / spec["params"]["snapshot_dt"])) - spec["history"]
    rollout_pdes = {p for p, v in cfg["pdes"].items() if v["type"] == "navier_stokes"}
    steps = pd.read_csv(smoke_run / "results/report/steps.csv")
    assert set(steps.pde) == rollout_pdes  # static tasks have no steps
    steps = steps[steps.pde == "navier_stokes"]
    models = _pde_models(cfg, "navier_stokes")
    expected = {(m, s, r, k) for m in models for s in _pde_seeds(cfg, "navier_stokes") for r in spec["ladder"]
                for k in range(1, n_pred + 1)}
    assert set(zip(steps.model, steps.seed, steps.eval_res, steps.step, strict=True)) == expected
    assert len(steps) == len(expected)
    assert np.isfinite(steps[["rel_l2_mean", "enstrophy_rel_error_mean"]].to_numpy()).all()
    first_t = spec["history"] + 1
    np.testing.assert_allclose(steps.t, (steps.step + first_t - 1) * spec["params"]["snapshot_dt"])
    metrics = pd.read_csv(smoke_run / "results/report/metrics.csv")
    ns = metrics[metrics.pde == "navier_stokes"]
    assert (ns.task == "rollout").all() and (ns.n_steps == n_pred).all()
    assert (metrics[metrics.pde.isin(rollout_pdes)].task == "rollout").all()
    assert (metrics[~metrics.pde.isin(rollout_pdes)].task == "static").all()
    spectra = pd.read_csv(smoke_run / f"results/runs/navier_stokes/{models[0]}/seed0/spectra.csv")
    assert set(spectra.eval_res) == set(spec["ladder"]) and (spectra.step == n_pred).all()
    assert (spectra.energy_true >= 0).all() and spectra.energy_true.sum() > 0
    html = (smoke_run / "results/report/index.html").read_text()
    for fig in ("error_vs_step_navier_stokes.png", "spectrum_navier_stokes.png", "examples_darcy.png"):
        assert fig in html and (smoke_run / "results/report/figures" / fig).stat().st_size > 5000


def test_snakemake_report_includes_the_figures(smoke_run: Path) -> None:
    proc = snakemake(smoke_run, "--report", "report.zip")
    assert proc.returncode == 0, proc.stderr[-3000:]
    import zipfile

    names = zipfile.ZipFile(smoke_run / "report.zip").namelist()
    assert any(n.endswith("index.html") for n in names)
    assert any("error_vs_resolution_" in n for n in names)


def test_second_run_has_nothing_to_do(smoke_run: Path) -> None:
    proc = snakemake(smoke_run, "--cores", "1", "-n")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_claims_table_has_a_verdict_for_every_claim(smoke_run: Path, cfg: dict) -> None:
    table = pd.read_csv(smoke_run / "results/report/claims.csv")
    assert list(table["claim"]) == [1, 2, 3, 4, 5, 6]
    assert set(table["verdict"]) <= {"holds", "does not hold", "equivalent", "inconclusive", "not run"}
    ran = table[table["verdict"] != "not run"]
    assert len(ran) == 6  # claim 6 reads the Navier-Stokes entries' base runs (3 seeds each)
    numbers = ran[["mean", "low", "high"]].to_numpy()
    assert np.isfinite(numbers).all() and (ran["low"] <= ran["mean"]).all() and (ran["mean"] <= ran["high"]).all()
    assert (ran["n_seeds"] == len(cfg["experiments"]["seeds"])).all()
    assert ran.loc[ran["claim"] == 6, "n_seeds"].item() == len(cfg["pdes"]["ns_nu1e4"]["seeds"])
    # four outcomes with the config's margin (default log 1.3), Holm across claims, convergence flags
    assert np.allclose(ran["margin"], cfg["experiments"].get("margin", np.log(1.3)))
    assert ((ran["p"] <= ran["p_holm"] + 1e-12) & (ran["p_holm"] <= 1)).all()
    assert (ran["n_unconverged"] >= 0).all()
    # claims 1 and 4 list Transformer variants: the best one is judged beside the plain Transformer
    by_key = table.set_index("key")
    assert by_key.loc["discretization", "best_variant"] in {"transformer_point", "transformer_rms"}
    assert by_key.loc["scale", "best_variant"] == "transformer_rms"
    assert by_key.loc["scale", "variant_mean"] < by_key.loc["scale", "mean"]  # RMS: exactly equivariant
    assert set(by_key.loc[["discretization", "scale"], "variant_verdict"]) <= {"holds", "does not hold",
                                                                               "equivalent", "inconclusive"}
    bands = pd.read_csv(smoke_run / "results/experiments/multiscale/measurements.csv")
    ns = cfg["experiments"]["claims"]["multiscale"]["pdes"]
    assert set(bands["nu"]) == {cfg["pdes"][p]["params"]["nu"] for p in ns}
    html = (smoke_run / "results/report/index.html").read_text()
    assert html.index("<h2>Claims</h2>") < html.index("<h2>Verdicts</h2>")  # on the front of the page
    for key in ("discretization", "quadrature", "finite_vectors", "scale", "input_families", "multiscale"):
        assert f'id="claim-{key}"' in html and (smoke_run / f"results/report/figures/claims/{key}.png").is_file()
    assert "own high-band error, capped at the zero prediction&#39;s 1, transformer / fno" in html
    assert "<th>not converged</th>" in html and "<th>p (Holm)</th>" in html
    assert "<th>best Transformer variant</th>" in html
    # an experiment model's own training changes (transformer_point: 3 epochs) reach its runs
    runs = smoke_run / "results/experiments/runs" / cfg["experiments"]["pde"]
    epochs = {m: len(pd.read_csv(next((runs / m).glob("r*_n*/seed0/history.csv")))) for m in ("transformer",
                                                                                             "transformer_point")}
    assert epochs == {"transformer": cfg["experiments"]["training"]["epochs"], "transformer_point": 3}
    # budgets (issue 11): every claim of an experiment PDE at each budget, the 2x runs twice as long
    budgets = cfg["experiments"]["budgets"]
    long = smoke_run / "results/experiments/runs_x2" / cfg["experiments"]["pde"] / "transformer"
    assert len(pd.read_csv(next(long.glob("r*_n*/seed0/history.csv")))) == 2 * epochs["transformer"]
    for key in ("discretization", "quadrature", "finite_vectors", "scale", "input_families"):
        assert len(str(by_key.loc[key, "budget_verdicts"]).split("; ")) == len(budgets)
        assert by_key.loc[key, "robustness"] == "robust" or by_key.loc[key, "robustness"].startswith(
            "depends on budget: ")
    assert by_key.loc["multiscale", "robustness"] == "one budget"
    # claims 1, 3, 4, 5 off the main PDE (experiments.also_pdes), shown beside the main verdict
    for key in ("discretization", "finite_vectors", "scale", "input_families"):
        assert str(by_key.loc[key, "other_pdes"]).startswith("burgers: ")
        assert (smoke_run / f"results/experiments/{key}/burgers/measurements_x2.csv").is_file()
    assert "<th>other PDEs</th>" in html and "<th>at each budget</th>" in html and "Reduced protocol" in html
    cost = str(by_key.loc["discretization", "cost"])
    assert "<th>error, params, train time</th>" in html and " params, " in cost and "transformer: error " in cost
    # equal tuning: every experiment model tuned with the same number of trials (fewer only when its
    # declared space is smaller), and the chosen setting is the one of lowest validation error
    from opbench.experiments.tuning import grid

    tuning = cfg["experiments"]["tuning"]
    for model in cfg["experiments"]["models"]:
        tuned = json.loads((smoke_run / f"results/experiments/tuning/{model}.json").read_text())
        space = tuning["space"].get(model)
        assert len(tuned["trials"]) == min(tuning["trials"], len(grid(space)) if space else 1)
        vals = [t["val_rel_l2"] for t in tuned["trials"]]
        assert tuned["chosen"] == tuned["trials"][int(np.nanargmin(vals))]["trial"]
    # the oracles: claim 2's rule fraction, claim 3's retrained dense net and least-squares map
    quad = pd.read_csv(smoke_run / "results/experiments/quadrature/measurements.csv")
    assert np.isfinite(quad["rule_fraction"]).all() and (quad["rule_gap"] > 0.1).all()
    fv = pd.read_csv(smoke_run / "results/experiments/finite_vectors/measurements.csv")
    retrain = cfg["experiments"]["claims"]["finite_vectors"]["retrain_res"]
    for model in ("mlp@retrained", "linear_lstsq"):
        assert sorted(fv.loc[fv["model"] == model, "eval_res"].unique()) == sorted(retrain)


def test_fresh_solve_truth_is_the_solver_on_the_restricted_input(smoke_run: Path, cfg: dict) -> None:
    spec, res = cfg["pdes"]["heat"], min(cfg["pdes"]["heat"]["ladder"])
    sets = smoke_run / "results/experiments/data/heat"
    with xr.open_dataset(sets / f"fresh_s{res}.nc") as fresh, xr.open_dataset(sets / f"restricted_s{res}.nc") as rest:
        a, u_fresh, u_rest = fresh["a"].values, fresh["u"].values, rest["u"].values
        np.testing.assert_array_equal(a, rest["a"].values)
    k = np.fft.rfftfreq(res, 1.0 / res)
    decay = np.exp(-spec["params"]["alpha"] * (2 * np.pi * k) ** 2 * spec["params"]["T"])
    np.testing.assert_allclose(u_fresh, np.fft.irfft(np.fft.rfft(a.astype(np.float64)) * decay, n=res), atol=1e-5)
    assert np.abs(u_fresh - u_rest).max() > 1e-4  # the coarse input is aliased: the two truths differ


def test_metrics_have_per_band_errors(smoke_run: Path) -> None:
    table = pd.read_csv(smoke_run / "results/report/metrics.csv")
    bands = table[["rel_l2_low", "rel_l2_mid", "rel_l2_high"]].to_numpy()
    total = table["rel_l2_mean"].to_numpy()
    # per sample each band's error is at most the total and the three add up to at least it
    assert np.isfinite(bands).all() and (bands <= total[:, None] * (1 + 1e-6)).all()
    assert (bands.sum(axis=1) >= total * (1 - 1e-6)).all()
