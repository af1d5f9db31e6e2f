"""Reproducibility: two runs of the smoke workflow from scratch give identical bytes and metrics on CPU.

The two runs use configs/smoke.yaml with a title holding HTML markup and Python code, so the same
runs show that every text reaching the page is escaped and that config strings are never run,
and the page's provenance (versions and config hash) is checked against this process.
"""

from __future__ import annotations

import html
import subprocess
import sys
from pathlib import Path

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


@pytest.fixture(scope="module")
def smoke_twice(tmp_path_factory) -> tuple[Path, Path, dict, Path]:
    """Two from-scratch runs of the smoke config with a hostile title (fixture name kept apart from
    test_workflow's smoke_run on purpose)."""
    base = tmp_path_factory.mktemp("repro")
    marker = base / "title_code_ran"
    cfg = yaml.safe_load((ROOT / "configs/smoke.yaml").read_text())
    cfg["title"] = f"<script>alert('x')</script> <b>bold</b> & __import__('os').mkdir({str(marker)!r})"
    cfg_file = base / "smoke_hostile_title.yaml"
    cfg_file.write_text(yaml.safe_dump(cfg))
    runs = []
    for name in ("first", "second"):
        workdir = base / name
        proc = subprocess.run(
            [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
             "--configfile", str(cfg_file), "--cores", "2"],
            capture_output=True, text=True, timeout=900,
        )
        assert proc.returncode == 0, proc.stderr[-4000:]
        runs.append(workdir)
    return runs[0], runs[1], cfg, marker


def _files(workdir: Path, pattern: str) -> dict[str, Path]:
    return {str(p.relative_to(workdir)): p for p in sorted(workdir.glob(pattern))}


def test_data_files_are_identical_bytes(smoke_twice) -> None:
    first, second, cfg, _ = smoke_twice
    a, b = _files(first, "results/data/*/*.nc"), _files(second, "results/data/*/*.nc")
    n = sum(3 * len(p["ladder"]) for p in cfg["pdes"].values())
    assert len(a) == n and a.keys() == b.keys()
    for rel in a:
        assert a[rel].read_bytes() == b[rel].read_bytes(), rel


def test_metrics_weights_and_predictions_are_identical(smoke_twice) -> None:
    first, second, _, _ = smoke_twice
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
    first, _, cfg, marker = smoke_twice
    page = (first / "results/report/index.html").read_text()
    assert "<script>" not in page and "<b>bold</b>" not in page
    assert html.escape(cfg["title"], quote=True) in page
    assert not marker.exists()  # the title's Python code never ran
    assert opbench.__version__ in page and torch.__version__ in page and np.__version__ in page
    assert config_hash(validate_config(cfg)) in page
    for label in ("opbench", "torch", "numpy", "config hash"):
        assert f">{label}<" in page
