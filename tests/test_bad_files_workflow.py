"""Issue 15 through the real Snakemake CLI: garbage files never give a model, metrics or a report.

A copy of one finished tiny run gets one planted file (a data file of the wrong split, size, dtype
or shape, degenerate values, a checkpoint with other hyperparameters or NaN weights, a metrics
table with inf), touched newer so that the consuming rule reruns; the rule then stops with one
``opbench error:`` line naming the file, and writes no output. A full disk during generation says
so in one line (a small tmpfs, mounted when the tests run as root).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
from tiny_workflow import copy_run, reference_run, snakemake

pytestmark = pytest.mark.slow
RUN = "results/runs/burgers/fno/seed0"
DATA = "results/data/burgers"


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    return reference_run(tmp_path_factory)


def _touch_newer(path: Path) -> None:
    later = time.time() + 5
    os.utime(path, (later, later))


def _error_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if "opbench error:" in ln]


def _rewrite(path: Path, change) -> None:
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    new = change(ds)
    for var in new.variables.values():
        var.encoding = {}  # the old chunking cannot describe a changed shape
    path.unlink()
    new.to_netcdf(path, engine="netcdf4")


def _values(name: str, fn):
    def change(ds):
        return ds.assign({name: (ds[name].dims, fn(ds[name].values), ds[name].attrs)})
    return change


def _copy(src: str):
    def plant(work: Path, target: Path) -> None:
        target.write_bytes((work / src).read_bytes())
    return plant


def _edit(change):
    def plant(work: Path, target: Path) -> None:
        _rewrite(target, change)
    return plant


def _extra_dim(ds):
    return ds.assign(a=ds["a"].expand_dims(member=2).copy())


def _attr(key, value):
    def change(ds):
        ds.attrs[key] = value
        return ds
    return change


# case -> (file planted, how, rule log, target, fragments of the one line)
TRAIN_LOG, INFER_LOG = "logs/train/burgers_fno_seed0.log", "logs/infer/burgers.log"
MODEL, METRICS = f"{RUN}/model.pt", f"{RUN}/metrics.csv"
DATA_CASES = {
    "test file under the train name": (f"{DATA}/train_s32.nc", _copy(f"{DATA}/test_s32.nc"), TRAIN_LOG, MODEL,
                                       ["attribute split is 'test', but this rule expects 'train'"]),
    "train file under the test name": (f"{DATA}/test_s32.nc", _copy(f"{DATA}/train_s32.nc"), INFER_LOG, METRICS,
                                       ["attribute split is 'train', but this rule expects 'test'"]),
    "1 sample where 8 are configured": (f"{DATA}/train_s32.nc", _edit(lambda ds: ds.isel(sample=[0])), TRAIN_LOG,
                                        MODEL, ["attribute n_samples is 1, but this rule expects 8"]),
    "0 samples": (f"{DATA}/train_s32.nc", _edit(lambda ds: ds.isel(sample=slice(0, 0))), TRAIN_LOG, MODEL,
                  ["holds 0 samples"]),
    "int16 data": (f"{DATA}/train_s32.nc", _edit(_values("a", lambda v: (v * 100).astype(np.int16))), TRAIN_LOG,
                   MODEL, ["variable 'a' has dtype int16 (allowed: float32, float64)"]),
    "string data": (f"{DATA}/train_s32.nc", _edit(_values("u", lambda v: v.astype(str))), TRAIN_LOG, MODEL,
                    ["variable 'u' has dtype <U"]),
    "an extra dimension": (f"{DATA}/train_s32.nc", _edit(_extra_dim), TRAIN_LOG, MODEL,
                           ["variable 'a' has unexpected dimensions ['member']"]),
    "data of another config": (f"{DATA}/val_s32.nc", _edit(_attr("data_hash", "0123456789abcdef")), TRAIN_LOG,
                               MODEL, ["attribute data_hash is '0123456789abcdef', but this rule expects"]),
    "zero-norm test targets": (f"{DATA}/test_s16.nc", _edit(_values("u", lambda v: np.where(
        np.arange(len(v))[:, None] == 1, 0.0, v).astype(v.dtype))), INFER_LOG, METRICS,
        ["test target of sample 1 has zero norm"]),
    "all-zero training targets": (f"{DATA}/train_s32.nc", _edit(_values("u", np.zeros_like)), TRAIN_LOG, MODEL,
                                  ["at epoch 1 of fno", "every training target is zero",
                                   "a lower training.lr will not help"]),
    "training data near 1e38": (f"{DATA}/train_s32.nc", _edit(_values("u", lambda v: (v / np.abs(v).max() * 1e38)
                                                                      .astype(np.float32))), TRAIN_LOG, MODEL,
                                ["at epoch 1 of fno", "training targets reach 1e+38", "overflow float32"]),
}


def _checkpoint(change):
    def plant(work: Path, target: Path) -> None:
        payload = torch.load(target, weights_only=True)
        change(payload)
        torch.save(payload, target)
    return plant


def _nan_weight(p):
    key = next(iter(p["state_dict"]))
    p["state_dict"][key] = p["state_dict"][key].clone().fill_(float("nan"))


def _huge_weights(p):
    p["state_dict"] = {k: v * 1e30 if v.is_floating_point() else v for k, v in p["state_dict"].items()}


def _other_width(p):
    p["kwargs"]["width"] = 16


def _zero_std(p):
    p["normalizer"]["out_std"] = torch.zeros_like(p["normalizer"]["out_std"])


def _inf_mean(p):
    p["normalizer"]["in_mean"] = torch.full_like(p["normalizer"]["in_mean"], float("inf"))


CHECKPOINT_CASES = {
    "other hyperparameters": (_other_width, ["checkpoint was built with width=16, the config says width=8"]),
    "NaN weights": (_nan_weight, ["holds NaN/inf values"]),
    "normaliser std 0": (_zero_std, ["normalizer out_std = [0.0]", "standard deviations > 0"]),
    "normaliser mean inf": (_inf_mean, ["normalizer in_mean = [inf]"]),
    "weights that overflow the predictions": (_huge_weights, ["metric rel_l2_mean came out nan on "
                                                              "results/data/burgers/test_s16.nc at resolution 16",
                                                              "no metrics written"]),
}
for _name, (_change, _fragments) in CHECKPOINT_CASES.items():
    DATA_CASES[f"checkpoint: {_name}"] = (MODEL, _checkpoint(_change), INFER_LOG, METRICS, _fragments)


def _outputs(work: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((work / RUN).iterdir())}


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_file_stops_its_rule_with_one_line(tmp_path: Path, finished: Path, case: str) -> None:
    rel, plant, log_rel, target, fragments = DATA_CASES[case]
    work = copy_run(finished, tmp_path / "run")
    planted = work / rel
    plant(work, planted)
    _touch_newer(planted)
    consumed = {MODEL: ["model.pt", "history.csv", "train_info.json"],
                METRICS: ["metrics.csv", "examples.nc", "steps.csv", "spectra.csv"]}[target]
    kept = {k: v for k, v in _outputs(work).items() if k not in consumed}
    proc = snakemake(work, "--cores", "1", target)
    assert proc.returncode != 0
    log = (work / log_rel).read_text()
    lines = _error_lines(log)
    assert len(lines) == 1 and rel in lines[0], log[-3000:]  # names the file at fault
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert [ln for ln in _error_lines(proc.stderr) if fragments[0] in ln], proc.stderr[-3000:]
    assert not (work / target).exists()  # nothing written from garbage
    now = _outputs(work)
    assert {k: now.get(k) for k in kept} == kept  # the run's other files are left as they were
    assert not any(name.startswith(".") for name in now)  # no temporaries left behind


def test_non_finite_metrics_never_reach_the_report(tmp_path: Path, finished: Path) -> None:
    work = copy_run(finished, tmp_path / "run")
    page = work / "results/report/index.html"
    page_before = page.read_bytes()
    metrics = work / METRICS
    text = metrics.read_text().splitlines()
    header = text[0].split(",")
    row = text[1].split(",")
    row[header.index("rel_l2_mean")] = "inf"
    metrics.write_text("\n".join([text[0], ",".join(row), *text[2:]]) + "\n")
    _touch_newer(metrics)
    proc = snakemake(work, "--cores", "1", "all")
    assert proc.returncode != 0
    lines = _error_lines((work / "logs/aggregate_metrics/all.log").read_text())
    assert len(lines) == 1 and METRICS in lines[0] and "rel_l2_mean is missing, NaN or inf" in lines[0], lines
    assert not (work / "results/report/metrics.csv").exists()
    assert page.read_bytes() == page_before  # no page rebuilt from it


def _mount_small_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_full_disk_during_generation_is_one_line(tmp_path: Path) -> None:
    work = tmp_path / "run"
    data = work / DATA
    if not _mount_small_tmpfs(data, "16k"):
        pytest.skip("needs root and mount to make a small file system")
    try:
        proc = snakemake(work, "--cores", "1", f"{DATA}/train_s32.nc")
        assert proc.returncode != 0
        lines = _error_lines((work / "logs/generate/burgers_train.log").read_text())
        assert len(lines) == 1 and "no space left on device" in lines[0] and DATA in lines[0], lines
        assert not [p for p in data.iterdir()]  # no file under a final name, no temporary left
    finally:
        subprocess.run(["umount", str(data)], check=False)
