"""Bad input fed to the real workflow: each refused before compute with one clear line, nothing written.

Config mistakes stop Snakemake before any job; a corrupted data file or a wrong checkpoint in a
finished run (touched newer, so the rule reruns) stops the train or infer job with one
``opbench error:`` line, no new output, and the other runs' outputs untouched. A solver driven
unstable fails its rule with a message naming the sample and leaves no output.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
from tiny_workflow import TINY, copy_run, reference_run, snakemake

pytestmark = pytest.mark.slow
RUN = "results/runs/burgers/{model}/seed0"
TRAIN_FILE = "results/data/burgers/train_s32.nc"


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    return reference_run(tmp_path_factory)


def _error_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if "opbench error:" in ln]


def _touch_newer(path: Path) -> None:
    later = time.time() + 5
    os.utime(path, (later, later))


def _digests(workdir: Path, rel: str) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((workdir / rel).iterdir())}


def _bad_config(tmp_path: Path, edit) -> Path:
    cfg = yaml.safe_load(TINY.read_text())
    edit(cfg)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


# ------------------------------------------------------------------ config: refused before any job

def _set(path: str, value):
    def edit(cfg: dict) -> None:
        keys = path.split(".")
        node = cfg
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return edit


CONFIG_CASES = {
    "unknown key": (_set("training.epochz", 3), ["unknown key 'epochz'", "training"]),
    "wrong type": (_set("training.batch_size", "four"), ["training.batch_size", "expected integer"]),
    "out of range": (_set("pdes.burgers.params.nu", -0.1), ["pdes.burgers.params.nu", "out of range"]),
    "not a divisor": (_set("pdes.burgers.ladder", [16, 24, 32]), ["pdes.burgers.ladder", "24", "fine_res 64"]),
    "unknown model": (_set("models.mlp.type", "gpt"), ["models.mlp.type", "'gpt'", "transformer"]),
    "unknown pde": (_set("pdes.burgers.type", "wave"), ["pdes.burgers.type", "'wave'", "navier_stokes"]),
    "ladder without train_res": (_set("pdes.burgers.ladder", [16, 64]),
                                 ["pdes.burgers.train_res", "not on the ladder"]),
}


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_bad_config_stops_the_workflow_before_any_job(tmp_path: Path, case: str) -> None:
    edit, expected = CONFIG_CASES[case]
    proc = snakemake(tmp_path, "--cores", "1", configfile=_bad_config(tmp_path, edit))
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if "opbench config error" in ln]
    assert len(lines) == 1, proc.stderr[-3000:]
    for fragment in expected:
        assert fragment in lines[0], (fragment, lines[0])
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()


# ------------------------------------------------------------------ data fed to the real train rule

def _rewrite(path: Path, change) -> None:
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    path.unlink()
    change(ds).to_netcdf(path, engine="netcdf4")


def _truncate(workdir: Path) -> None:
    path = workdir / TRAIN_FILE
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _nan_input(workdir: Path) -> None:
    def change(ds):
        a = ds["a"].values.copy()
        a[2, 5] = np.nan
        return ds.assign(a=(ds["a"].dims, a, ds["a"].attrs))
    _rewrite(workdir / TRAIN_FILE, change)


def _renamed(workdir: Path) -> None:
    _rewrite(workdir / TRAIN_FILE, lambda ds: ds.rename({"a": "u0", "u": "uT"}))


def _other_grid(workdir: Path) -> None:
    # a file of another rung handed over under this name: 16 points where 32 are expected
    (workdir / TRAIN_FILE).write_bytes((workdir / "results/data/burgers/train_s16.nc").read_bytes())


DATA_CASES = {
    "truncated": (_truncate, "not a readable NetCDF file"),
    "nan in inputs": (_nan_input, "variable 'a' has NaN/inf values (first in sample 2)"),
    "wrong variable names": (_renamed, "variable 'a' missing (found: u0, uT)"),
    "mismatched grid": (_other_grid, "grid [16] does not match the expected resolution 32"),
}


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_data_file_stops_training_with_one_line(tmp_path: Path, finished: Path, case: str) -> None:
    corrupt, expected = DATA_CASES[case]
    work = copy_run(finished, tmp_path / "run")
    mlp_before = _digests(work, RUN.format(model="mlp"))
    corrupt(work)
    _touch_newer(work / TRAIN_FILE)
    bad = (work / TRAIN_FILE).read_bytes()
    proc = snakemake(work, "--cores", "1", RUN.format(model="fno") + "/model.pt")
    assert proc.returncode != 0
    log = (work / "logs/train/burgers_fno_seed0.log").read_text()
    lines = _error_lines(log)
    assert len(lines) == 1 and expected in lines[0] and TRAIN_FILE in lines[0], log[-3000:]
    assert log.strip() == lines[0]  # the whole log: refused before the training loop printed anything
    assert [ln for ln in _error_lines(proc.stderr) if expected in ln], proc.stderr[-3000:]
    run = work / RUN.format(model="fno")
    # the infer outputs stay; no model, no resume state
    assert sorted(p.name for p in run.iterdir()) == ["examples.nc", "metrics.csv", "spectra.csv", "steps.csv"]
    assert not any(p.name.startswith(".") for p in run.iterdir())
    assert _digests(work, RUN.format(model="mlp")) == mlp_before  # the other run is not half-replaced
    assert (work / TRAIN_FILE).read_bytes() == bad  # the input itself is left as it was


# ------------------------------------------------------------------ checkpoints fed to the real infer rule

class _Payload:
    """A pickle whose loading would create a directory: the code a malicious checkpoint would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _wrong_model(work: Path, marker: Path) -> None:
    src = work / RUN.format(model="mlp") / "model.pt"
    (work / RUN.format(model="fno") / "model.pt").write_bytes(src.read_bytes())


def _not_a_checkpoint(work: Path, marker: Path) -> None:
    (work / RUN.format(model="fno") / "model.pt").write_text("model weights: see the shared drive\n")


def _malicious(work: Path, marker: Path) -> None:
    import torch

    torch.save({"format": "opbench-checkpoint-v1", "model": "fno", "x": _Payload(marker)},
               work / RUN.format(model="fno") / "model.pt")


CHECKPOINT_CASES = {
    "wrong model": (_wrong_model, "checkpoint holds a 'mlp' model, expected 'fno'"),
    "not a checkpoint": (_not_a_checkpoint, "not a readable opbench checkpoint"),
    "malicious pickle": (_malicious, "not a readable opbench checkpoint"),
}


@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_bad_checkpoint_stops_inference_with_one_line(tmp_path: Path, finished: Path, case: str) -> None:
    plant, expected = CHECKPOINT_CASES[case]
    work = copy_run(finished, tmp_path / "run")
    marker = tmp_path / "payload_ran"
    plant(work, marker)
    _touch_newer(work / RUN.format(model="fno") / "model.pt")
    proc = snakemake(work, "--cores", "1", RUN.format(model="fno") + "/metrics.csv")
    assert proc.returncode != 0
    log = (work / "logs/infer/burgers.log").read_text()
    lines = _error_lines(log)
    assert len(lines) == 1 and expected in lines[0] and "model.pt" in lines[0], log[-3000:]
    assert log.strip() == lines[0]
    run = work / RUN.format(model="fno")
    assert not (run / "metrics.csv").exists() and not (run / "examples.nc").exists()
    assert not marker.exists()  # the pickled code never ran


# ------------------------------------------------------------------ numerical faults in the workflow

def test_unstable_solver_fails_the_data_rule_naming_sample_and_parameters(tmp_path: Path) -> None:
    def edit(cfg: dict) -> None:
        cfg["pdes"]["burgers"]["params"].update(nu=1.0e-4, T=1.0)
        cfg["pdes"]["burgers"]["solver"]["dt"] = 0.05  # far too large for this viscosity
    proc = snakemake(tmp_path, "--cores", "1", TRAIN_FILE, configfile=_bad_config(tmp_path, edit))
    assert proc.returncode != 0
    log = (tmp_path / "logs/generate/burgers_train.log").read_text()
    lines = _error_lines(log)
    assert len(lines) == 1, log[-3000:]
    for fragment in ("sample 0 of the train split went unstable", "nu=0.0001", "dt=0.05", "n=64", "seed 3"):
        assert fragment in lines[0], (fragment, lines[0])
    assert not list((tmp_path / "results").rglob("*.nc"))


# A diverging training through the workflow: tests/test_bad_files_workflow.py (degenerate data; the
# learning rates that diverge at once, such as 1e30, are now refused by the config schema, lr <= 10).
