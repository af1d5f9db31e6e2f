"""Reproducibility: two runs of the smoke workflow from scratch give identical bytes and metrics on CPU.

The report of one run is then rebuilt with a title holding HTML markup and Python code, to show
that every text reaching the page is escaped and that config strings are never run, and the
page's provenance (versions and config hash) is checked against this process.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import markupsafe
import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr
import yaml

import opbench
from opbench.config import config_hash, validate_config

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _snakemake(workdir: Path, cfg_file: Path, *args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
         "--configfile", str(cfg_file), "--cores", "2", *args],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]


@pytest.fixture(scope="module")
def smoke_twice(smoke_run: Path, tmp_path_factory) -> tuple[Path, Path, Path, dict, Path]:
    """The session's smoke run, a second from-scratch run of the same config, and a copy of the
    second whose report is rebuilt with a hostile title (markup and Python code); only the report
    rule reruns there (mtime triggers), so the page is the only thing the title reaches anew."""
    base = tmp_path_factory.mktemp("repro")
    second = base / "second"
    _snakemake(second, ROOT / "configs/smoke.yaml")
    marker = base / "title_code_ran"
    cfg = yaml.safe_load((ROOT / "configs/smoke.yaml").read_text())
    cfg["title"] = f"<script>alert('x')</script> <b>bold</b> & __import__('os').mkdir({str(marker)!r})"
    cfg_file = base / "smoke_hostile_title.yaml"
    cfg_file.write_text(yaml.safe_dump(cfg))
    hostile = base / "hostile"
    shutil.copytree(second, hostile)
    _snakemake(hostile, cfg_file, "--rerun-triggers", "mtime", "--forcerun", "report")
    return smoke_run, second, hostile, cfg, marker


def _files(workdir: Path, pattern: str) -> dict[str, Path]:
    return {str(p.relative_to(workdir)): p for p in sorted(workdir.glob(pattern))}


def test_data_files_are_identical_bytes(smoke_twice) -> None:
    first, second, _, cfg, _ = smoke_twice
    a, b = {}, {}
    for pde in cfg["pdes"]:  # the PDE datasets (the physics experiments keep their own data beside them)
        a.update(_files(first, f"results/data/{pde}/*.nc"))
        b.update(_files(second, f"results/data/{pde}/*.nc"))
    n = sum(3 * len(p["ladder"]) for p in cfg["pdes"].values())
    assert len(a) == n and a.keys() == b.keys()
    for rel in a:
        assert a[rel].read_bytes() == b[rel].read_bytes(), rel


def test_metrics_weights_and_predictions_are_identical(smoke_twice) -> None:
    first, second, _, _, _ = smoke_twice
    timing = ["train_seconds", "infer_seconds_per_sample"]
    ma = pd.read_csv(first / "results/report/metrics.csv").drop(columns=timing)
    mb = pd.read_csv(second / "results/report/metrics.csv").drop(columns=timing)
    assert len(ma) > 0
    pd.testing.assert_frame_equal(ma, mb, check_exact=True)
    for rel, path in _files(first, "results/runs/*/*/seed*/model.pt").items():
        sa, sb = (torch.load(p, weights_only=True)["state_dict"] for p in (path, second / rel))
        assert all(torch.equal(sa[k], sb[k]) for k in sa), rel
    for rel, path in _files(first, "results/runs/*/*/seed*/examples.nc").items():
        with xr.open_dataset(path) as ea, xr.open_dataset(second / rel) as eb:
            for name in ea.data_vars:
                np.testing.assert_array_equal(ea[name].values, eb[name].values)


def test_report_escapes_the_title_and_records_provenance(smoke_twice) -> None:
    _, _, hostile, cfg, marker = smoke_twice
    page = (hostile / "results/report/index.html").read_text()
    assert "<script>" not in page and "<b>bold</b>" not in page
    assert str(markupsafe.escape(cfg["title"])) in page  # escaped by the templates' autoescape, all of it
    assert not marker.exists()  # the title's Python code never ran
    assert opbench.__version__ in page and torch.__version__ in page and np.__version__ in page
    assert config_hash(validate_config(cfg)) in page
    for label in ("opbench", "torch", "numpy", "config hash"):
        assert f">{label}<" in page
