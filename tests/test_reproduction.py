"""The reproduction section through real Snakemake runs: with neuraloperator and without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from opbench.config import ConfigError, validate_config
from opbench.models.neuralop_fno import reference_available

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "reproduction_tiny.yaml"
TABLE = "results/reproduction/burgers/table.md"


def snakemake(workdir: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(TINY), "--cores", "2", TABLE]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)


def _table(workdir: Path) -> pd.DataFrame:
    return pd.read_csv(workdir / "results/reproduction/burgers/table.csv").set_index("s")


@pytest.mark.slow
@pytest.mark.skipif(reference_available() is not None, reason="neuraloperator (the bench extra) is not installed")
def test_reference_and_models_are_trained_at_each_resolution_and_tabulated(tmp_path: Path) -> None:
    proc = snakemake(tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    table = _table(tmp_path)
    measured = ["neuraloperator here", "opbench FNO", "opbench FCN"]
    for s in (16, 32):
        assert table.loc[s, measured].notna().all() and (table.loc[s, measured] > 0).all(), table
        assert table.loc[s, ["neuraloperator train s", "opbench FNO train s"]].gt(0).all()
    assert table.loc[64, measured].isna().all()  # not trained at 64
    # The run at the PDE's own train_res is the base run, not a second training.
    assert not (tmp_path / "results/reproduction/burgers/fno/s32").exists()
    assert (tmp_path / "results/reproduction/burgers/fno/s16/seed0/model.pt").exists()
    ref = pd.read_csv(tmp_path / "results/reproduction/burgers/neuralop/s32/seed0/metrics.csv")
    assert sorted(ref["eval_res"]) == [16, 32, 64] and (ref["train_res"] == 32).all()
    # Same loop, same files: the table cell is the metric the reference's own run wrote.
    assert table.loc[32, "neuraloperator here"] == pytest.approx(
        float(ref.loc[ref["eval_res"] == 32, "rel_l2_mean"].iloc[0]), rel=1e-5)
    md = (tmp_path / TABLE).read_text()
    assert "NOT the paper's budget" in md and "| neuralop | 16 |" in md


@pytest.mark.slow
def test_reference_is_skipped_with_one_line_when_neuraloperator_cannot_be_imported(tmp_path: Path) -> None:
    fake = tmp_path / "fake_site" / "neuralop"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('neuralop is missing in this test')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")])}
    work = tmp_path / "run"
    proc = snakemake(work, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = [ln for ln in proc.stderr.splitlines() if "reproduction reference" in ln]
    assert len(lines) == 1 and "neuralop skipped" in lines[0] and ".[bench]" in lines[0], lines
    assert not (work / "results/reproduction/burgers/neuralop").exists()
    table = _table(work)
    assert table["neuraloperator here"].isna().all() and table.loc[16, "opbench FNO"] > 0
    assert "neuraloperator column not run" in (work / TABLE).read_text()
    # the page's fragment, written by the same rule: one row per s, the reference's cells 'not run'
    fragment = (work / "results/reproduction/burgers/table.html").read_text()
    assert "<h3>This run's reproduction table</h3>" in fragment and "NOT the paper&#39;s budget" in fragment
    assert fragment.count("<tr") == 1 + len(table) and fragment.count(">not run<") >= 2 * len(table)


def test_reproduction_config_errors_name_the_field() -> None:
    import yaml

    cfg = yaml.safe_load(TINY.read_text())
    bad = {**cfg, "reproduction": {**cfg["reproduction"], "train_res": [16, 48]}}
    with pytest.raises(ConfigError, match=r"reproduction.train_res: 48 is not on pdes.burgers.ladder \(allowed: 16"):
        validate_config(bad)
    bad = {**cfg, "reproduction": {**cfg["reproduction"], "reference": ["fno"]}}
    with pytest.raises(ConfigError, match=r"reproduction.reference: 'fno' has type 'fno'"):
        validate_config(bad)
    bad = {**cfg, "reproduction": {**cfg["reproduction"], "pde": "heat"}}
    with pytest.raises(ConfigError, match=r"reproduction.pde: 'heat' is not defined"):
        validate_config(bad)


def test_burgers_preset_is_the_papers_setup() -> None:
    """configs/fno_burgers.yaml validates and holds the FNO paper's data, model and recipe."""
    import yaml

    cfg = validate_config(yaml.safe_load((ROOT / "configs" / "fno_burgers.yaml").read_text()))
    pde = cfg["pdes"]["burgers"]
    assert pde["params"] == {"nu": 0.1, "T": 1.0} and pde["grf"] == {"alpha": 2.0, "tau": 5.0, "sigma": 25.0}
    assert pde["fine_res"] == 8192 and sorted(pde["ladder"]) == [256, 512, 1024, 2048, 4096, 8192]
    assert (pde["samples"]["train"], pde["samples"]["test"]) == (1000, 200)
    fno = cfg["models"][cfg["reproduction"]["models"][0]]
    assert (fno["type"], fno["modes"], fno["width"], fno["layers"]) == ("fno", 16, 64, 4)
    t = cfg["training"]
    assert (t["epochs"], t["batch_size"], t["lr"], t["weight_decay"], t["step_size"], t["gamma"]) == (
        500, 20, 1e-3, 1e-4, 100, 0.5)
    assert cfg["reproduction"]["train_res"] == [256, 1024] and "fcn" in cfg["reproduction"]["models"]
    assert [cfg["models"][m]["type"] for m in cfg["reproduction"]["reference"]] == ["neuralop_fno"]
