"""A real Snakemake run of the physics targets (issue 8) on the smoke preset cut down to what they need.

Only heat (PINN against its solver and the FNO), Navier-Stokes data (the DDPM's fields) and the
Hamiltonian systems run, so the test stays well under a minute of compute; the content of every
physics output is checked.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from opbench.solvers.hamiltonian import get_system

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "configs" / "smoke.yaml"
pytestmark = pytest.mark.slow


def physics_config() -> dict:
    cfg = yaml.safe_load(SMOKE.read_text())
    cfg["pdes"] = {"heat": cfg["pdes"]["heat"], "navier_stokes": cfg["pdes"]["navier_stokes"]}
    cfg["pdes"]["heat"]["models"] = ["fno"]
    cfg["pdes"]["navier_stokes"]["models"] = ["fno"]
    cfg["models"] = {"fno": cfg["models"]["fno"]}
    cfg["physics"]["pinn"]["pdes"] = ["heat"]
    cfg.pop("experiments", None)  # the claim experiments name PDEs this cut-down config leaves out
    return cfg


@pytest.fixture(scope="module")
def physics_run(tmp_path_factory) -> tuple[Path, dict]:
    workdir = tmp_path_factory.mktemp("physics")
    cfg = physics_config()
    cfg_path = workdir / "physics.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(cfg_path), "--cores", "2",
           "results/report/physics_claims.csv", "results/report/index.html"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir, cfg


def test_pinn_table_compares_pinn_solver_and_fno_on_every_rung(physics_run) -> None:
    workdir, cfg = physics_run
    table = pd.read_csv(workdir / "results/physics/pinn/heat.csv")
    ladder = sorted(cfg["pdes"]["heat"]["ladder"])
    n = cfg["physics"]["pinn"]["instances"]
    for method in ("pinn", "solver"):
        rows = table[table["method"] == method]
        assert sorted(rows["eval_res"].unique()) == ladder
        assert rows["instance"].nunique() == n
        assert (rows["seconds"] > 0).all()
    # the heat solver is exact: it reproduces the stored data to rounding (float32 storage)
    assert table.loc[table["method"] == "solver", "rel_l2"].max() < 1e-6
    fno = table[table["method"] == "fno"]
    metrics = pd.read_csv(workdir / "results/runs/heat/fno/seed0/metrics.csv")
    assert np.allclose(fno.sort_values("eval_res")["rel_l2"], metrics.sort_values("eval_res")["rel_l2_mean"])


def test_break_even_follows_from_the_costs(physics_run) -> None:
    workdir, cfg = physics_run
    amort = pd.read_csv(workdir / "results/physics/pinn_amortization.csv")
    assert list(amort["pde"]) == ["heat"]
    r = amort.iloc[0]
    gain = r["pinn_seconds"] - r["operator_seconds"]
    expect = math.floor(r["operator_train_seconds"] / gain) + 1 if gain > 0 else math.inf
    assert r["break_even_train"] == expect
    data_cost = r["solver_seconds"] * cfg["pdes"]["heat"]["samples"]["train"]
    expect = math.floor((r["operator_train_seconds"] + data_cost) / gain) + 1 if gain > 0 else math.inf
    assert r["break_even_with_data"] == expect


def test_hamiltonian_data_conserve_energy_and_carry_the_exact_field(physics_run) -> None:
    workdir, cfg = physics_run
    hnn = cfg["physics"]["hnn"]
    for system in hnn["systems"]:
        sysobj = get_system(system)
        for split, periods in (("train", 1.0), ("test", hnn["rollout_periods"])):
            with xr.open_dataset(workdir / f"results/data/hamiltonian/{system}_{split}.nc") as ds:
                e = ds["energy"].values
                assert ds.sizes["trajectory"] == hnn["trajectories"][split]
                assert (np.abs(e - e[:1]) / np.abs(e[:1])).max() < 1e-4
                assert ds["t"].values[-1] == pytest.approx(periods * sysobj.period)
                dq, dp = sysobj.vector_field(ds["q"].values, ds["p"].values)
                assert np.allclose(ds["dqdt"].values, dq) and np.allclose(ds["dpdt"].values, dp)


def test_hnn_rollouts_start_exact_and_cover_the_horizon(physics_run) -> None:
    workdir, cfg = physics_run
    hnn = cfg["physics"]["hnn"]
    for system in hnn["systems"]:
        t = pd.read_csv(workdir / f"results/physics/hnn/{system}.csv")
        runs = set(zip(t["model"], t["integrator"], strict=True))
        assert runs == {("hnn", "rk4"), ("mlp", "rk4"), ("transformer", "rk4"), ("hnn", "leapfrog")}
        for _, g in t.groupby(["model", "integrator"]):
            assert g["energy_drift"].iloc[0] == 0 and g["trajectory_error"].iloc[0] == 0
            assert g["periods"].iloc[-1] == pytest.approx(hnn["rollout_periods"])
            assert len(g) == hnn["rollout_periods"] * hnn["points_per_period"] + 1


def test_diffusion_statistics_and_the_baseline_spectrum(physics_run) -> None:
    workdir, cfg = physics_run
    stats = pd.read_csv(workdir / "results/physics/diffusion/stats.csv")
    assert list(stats["method"]) == ["ddpm", "gaussian_same_spectrum", "training_data"]
    assert (stats[["spectrum_log_error", "w1", "histogram_tv"]] >= 0).all().all()
    assert (stats["histogram_tv"] <= 1).all()
    ns = cfg["pdes"]["navier_stokes"]
    snaps = round(ns["params"]["T"] / ns["params"]["snapshot_dt"])
    assert stats["n_train_fields"].iloc[0] % ns["samples"]["train"] == 0
    assert stats["n_train_fields"].iloc[0] // ns["samples"]["train"] in (snaps, snaps + 1)
    with xr.open_dataset(workdir / "results/physics/diffusion/samples.nc") as ds:
        e = ds["energy_spectrum"]
        gauss = e.values[list(e["method"].values).index("gaussian_same_spectrum"), 1:]
        train = e.values[list(e["method"].values).index("training_data"), 1:]
        assert ds.sizes["sample"] == cfg["physics"]["diffusion"]["samples"]
    # the baseline is built with the training spectrum: it matches it up to sampling noise
    assert np.abs(np.log(gauss) - np.log(train)).mean() < 0.5


def test_report_section_and_claims(physics_run) -> None:
    workdir, cfg = physics_run
    claims = pd.read_csv(workdir / "results/report/physics_claims.csv")
    assert list(claims.columns) == ["claim", "experiment", "effect", "ci_low", "ci_high", "verdict", "section"]
    assert set(claims["experiment"]) == {"physics_pinn/heat", "physics_diffusion"} | {
        f"physics_hnn/{s}" for s in cfg["physics"]["hnn"]["systems"]
    }
    hnn = claims[claims["experiment"].str.startswith("physics_hnn")]
    assert ((hnn["effect"] > 1) == (hnn["verdict"] == "supported")).all()
    section = (workdir / "results/report/physics/section.html").read_text()
    for png in ("physics_pinn.png", "physics_hnn.png", "physics_diffusion.png"):
        assert f"figures/{png}" in section
        assert (workdir / "results/report/figures" / png).stat().st_size > 1000
    assert "costs" in section and "per instance" in section and "conserves energy to" in section
    assert section in (workdir / "results/report/index.html").read_text()


def test_no_physics_section_plans_no_physics_job(tmp_path) -> None:
    cfg = yaml.safe_load(SMOKE.read_text())
    del cfg["physics"]
    cfg_path = tmp_path / "nophysics.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(cfg_path), "--cores", "1", "-n"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(r"^report\s+1$", proc.stdout, re.M), proc.stdout[-2000:]
    for rule in ("physics_pinn", "physics_hamiltonian_data", "physics_hnn", "physics_diffusion", "physics_report"):
        assert rule not in proc.stdout
