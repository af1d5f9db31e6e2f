"""Real Snakemake runs of tests/fixtures/tiny.yaml for the reliability tests, and output comparison.

``reference_run`` makes one uninterrupted run per pytest process (cached); ``compare_outputs``
checks another run against it: NetCDF data bit for bit, model weights bit for bit, metrics and
histories to float tolerance with the timing columns left out; ``check_integrity`` checks that
every final-named NetCDF file opens and every checkpoint loads.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "tiny.yaml"
TIMING_COLUMNS = {"train_seconds", "infer_seconds_per_sample", "seconds"}
_CACHE: dict[str, Path] = {}


def snakemake_cmd(workdir: Path, *args: str, configfile: Path = TINY) -> list[str]:
    return [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(configfile), *args]


def snakemake(workdir: Path, *args: str, configfile: Path = TINY, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(snakemake_cmd(workdir, *args, configfile=configfile), capture_output=True, text=True,
                          timeout=timeout)


def reference_run(tmp_path_factory) -> Path:
    """One uninterrupted run of the tiny config (shared by the tests of a pytest process)."""
    if "ref" not in _CACHE:
        workdir = tmp_path_factory.mktemp("tiny_reference")
        proc = snakemake(workdir, "--cores", "2")
        assert proc.returncode == 0, proc.stderr[-4000:]
        _CACHE["ref"] = workdir
    return _CACHE["ref"]


def copy_run(src: Path, dst: Path) -> Path:
    """A copy of a finished run (results, logs and Snakemake's metadata, with modification times)."""
    shutil.copytree(src, dst, symlinks=True)
    return dst


def final_files(workdir: Path) -> list[Path]:
    """Files under results/ under their final names (hidden temporaries excluded)."""
    results = workdir / "results"
    if not results.exists():
        return []
    return sorted(p for p in results.rglob("*") if p.is_file() and not p.name.startswith("."))


def check_integrity(workdir: Path) -> list[str]:
    """Every final-named .nc opens and loads, every .pt loads with weights_only; the faults found."""
    faults = []
    for path in final_files(workdir):
        try:
            if path.suffix == ".nc":
                with xr.open_dataset(path, engine="netcdf4") as ds:
                    ds.load()
            elif path.suffix == ".pt":
                obj = torch.load(path, map_location="cpu", weights_only=True)
                if not (isinstance(obj, dict) and str(obj.get("format", "")).startswith("opbench-")):
                    faults.append(f"{path}: not an opbench checkpoint")
        except Exception as exc:  # any failure to read is the fault we look for
            faults.append(f"{path}: {type(exc).__name__}: {exc}")
    return faults


def _frame(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    return frame[[c for c in frame.columns if c not in TIMING_COLUMNS]]


def compare_outputs(run: Path, ref: Path) -> None:
    """Assert that ``run`` holds the same outputs as ``ref`` (see the module docstring)."""
    skip = ("results/benchmarks/",)
    ref_files = [p.relative_to(ref) for p in final_files(ref) if not str(p.relative_to(ref)).startswith(skip)]
    run_files = [p.relative_to(run) for p in final_files(run) if not str(p.relative_to(run)).startswith(skip)]
    assert sorted(map(str, run_files)) == sorted(map(str, ref_files))
    for rel in ref_files:
        a, b = run / rel, ref / rel
        name = str(rel)
        if rel.suffix == ".nc":
            assert a.read_bytes() == b.read_bytes(), f"{name} differs"  # data: bit for bit
        elif rel.suffix == ".pt":
            sa, sb = (torch.load(p, weights_only=True) for p in (a, b))
            assert sa["meta"] == sb["meta"], name
            for key, value in sb["state_dict"].items():
                assert torch.equal(sa["state_dict"][key], value), f"{name}: {key}"
        elif rel.suffix == ".csv":
            fa, fb = _frame(a), _frame(b)
            pd.testing.assert_frame_equal(fa, fb, check_exact=False, rtol=1e-6, atol=1e-9, obj=name)
        elif rel.suffix == ".json":
            ja, jb = (json.loads(p.read_text()) for p in (a, b))
            for key in TIMING_COLUMNS:
                ja.pop(key, None)
                jb.pop(key, None)
            assert set(ja) == set(jb), name
            for key, value in jb.items():
                if isinstance(value, float):
                    assert np.isclose(ja[key], value, rtol=1e-6), (name, key)
                elif key != "resumed_from_epoch":  # how the run got there, not what it produced
                    assert ja[key] == value, (name, key)
        else:  # page and figures: present and not empty
            assert a.stat().st_size > 0, name
