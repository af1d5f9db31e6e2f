"""Issue 15, library level: the pure checks behind the one-line refusals, each with a case that passes."""

from __future__ import annotations

import copy
import errno
import io
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr
import yaml

from opbench.atomic import atomic_write_text
from opbench.config import ConfigError, data_hash, validate_config
from opbench.config_input import (
    ConfigInputError,
    check_config_file,
    check_values,
    clip,
    parse_cli_values,
)
from opbench.data.netcdf import DataFileError, read_pair, write_netcdf
from opbench.errors import StorageError, _hook, storage_error
from opbench.evaluation.ladder import MetricsError, check_finite_metrics, check_target_norms, read_metrics
from opbench.models import build_model
from opbench.training.checkpoint import CheckpointError, checkpoint_payload, load_checkpoint
from opbench.training.datasets import ArrayPairs
from opbench.training.normalization import Normalizer
from opbench.training.trainer import data_fault

TINY = Path(__file__).parent / "fixtures" / "tiny.yaml"


def tiny() -> dict:
    return yaml.safe_load(TINY.read_text())


# ------------------------------------------------------------------ YAML files and --config values

def test_duplicate_keys_are_refused_at_any_depth(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("a: 1\nb: {c: 2, d: 3}\n")
    check_config_file(good)
    for text, where in (("a: 1\na: 2\n", "'a'"), ("b: {c: 2, c: 3}\n", "'b.c'"), ("l: [{x: 1, x: 2}]\n", "'l[0].x'")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(ConfigInputError, match=re.escape(f"duplicate key {where}")):
            check_config_file(bad)


def test_alias_expansion_is_bounded_but_ordinary_aliases_pass(tmp_path: Path) -> None:
    ok = tmp_path / "ok.yaml"
    ok.write_text("base: &b {epochs: 5}\none: *b\ntwo: *b\n<<: *b\n")
    check_config_file(ok)
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]  # 10^12 values
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(levels) + "\n")
    with pytest.raises(ConfigInputError, match="expand to more than 1,000 values"):
        check_config_file(bomb, limit=1000)
    loaded = yaml.load(bomb.read_text(), Loader=yaml.FullLoader)  # Snakemake's loader shares the aliases
    with pytest.raises(ConfigInputError, match="more than 100,000 values") as info:
        check_values(loaded)
    assert len(str(info.value)) < 200


def test_nested_cli_values_are_typed_like_top_level_ones() -> None:
    raw = {"training": {"epochs": "5", "lr": "1.0e-3", "seeds": ["0", "1"], "flag": "true"}, "title": "x"}
    assert parse_cli_values(raw) == {"training": {"epochs": 5, "lr": 1e-3, "seeds": [0, 1], "flag": True},
                                     "title": "x"}
    assert parse_cli_values({"pdes": {"burgers": {"type": "burgers", "x": "null", "y": ".nan"}}}) == \
        {"pdes": {"burgers": {"type": "burgers", "x": None, "y": pytest.approx(float("nan"), nan_ok=True)}}}


@pytest.mark.parametrize(("value", "fragment"), [
    (float("nan"), "nan is not a finite number"),
    (float("-inf"), "-inf is not a finite number"),
    (2**63, "does not fit in 63 bits"),
    ("x" * 501, "501 characters is too long"),
])
def test_values_are_finite_bounded_and_short(value, fragment: str) -> None:
    with pytest.raises(ConfigInputError, match=fragment) as info:
        check_values({"a": {"b": [1, value]}})
    assert str(info.value).startswith("a.b[1]: ")
    check_values({"a": {"b": [1, 2**63 - 1, 0.5, "x" * 500, None, True]}})


def test_clip_makes_one_short_line() -> None:
    assert clip("a\nb  c") == "a b c"
    assert len(clip("x" * 10_000)) <= 400 and clip("x" * 10_000).endswith("(10000 characters)")


# ------------------------------------------------------------------ schema and semantics

@pytest.mark.parametrize(("path", "value", "fragment"), [
    ("pdes.burgers.fine_res", 64.0, "pdes.burgers.fine_res: expected integer, got float 64.0"),
    ("training.seeds", [0.0], "training.seeds.0: expected integer, got float 0.0"),
    ("training.lr", 1e300, "training.lr: 1e+300 is out of range"),
    ("training.lr", float("nan"), "training.lr: nan is not a finite number"),
    ("seed", 2**80, "seed: 1208925819614629174706176 does not fit in 63 bits"),
    ("pdes.burgers.samples.train", 10**10, "exceeds data.max_split_gb 64"),
    ("models.fno.modes", 17, "models.fno.modes: 17 Fourier modes do not fit the training grid of 32 points"),
    ("physics.hnn.rollout_periods", 1e9, "physics.hnn.rollout_periods: 4 trajectories x 1e+09 periods"),
    ("physics.hnn.rollout_periods", 1e-9, "physics.hnn.rollout_periods: 1e-09 periods x 20 points per period"),
])
def test_config_mistakes_are_refused_in_one_line(path: str, value, fragment: str) -> None:
    cfg = tiny()
    *parents, last = path.split(".")
    node = cfg
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    with pytest.raises((ConfigError, ConfigInputError)) as info:
        validate_config(cfg)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_limits_that_fit_pass() -> None:
    cfg = tiny()
    cfg["models"]["fno"]["modes"] = 16  # 32 // 2: fits
    cfg["models"]["tf"] = {"type": "transformer", "d_model": 12, "heads": 3, "layers": 1}
    cfg["data"]["max_split_gb"] = 8 * 64 * 2 * 8 / 1e9  # exactly the train split
    cfg["physics"] = {"hnn": {"rollout_periods": 0.05}}  # 0.05 x 20 points = one saved step
    validate_config(cfg)


def test_data_hash_ignores_what_only_the_learning_uses() -> None:
    pde = tiny()["pdes"]["burgers"]
    other = copy.deepcopy(pde) | {"train_res": 16, "ladder": [16], "seeds": [4], "training": {"epochs": 2}}
    assert data_hash(pde, 3) == data_hash(other, 3)
    assert data_hash(pde, 3) != data_hash(pde, 4)
    assert data_hash(pde, 3) != data_hash(copy.deepcopy(pde) | {"samples": {"train": 9, "val": 4, "test": 4}}, 3)


# ------------------------------------------------------------------ data files

def _file(tmp_path: Path, **change) -> Path:
    rng = np.random.default_rng(0)
    a, u = rng.standard_normal((3, 8)).astype(np.float32), rng.standard_normal((3, 8)).astype(np.float32)
    ds = xr.Dataset({"a": (("sample", "x"), a), "u": (("sample", "x"), u)}, coords={"x": np.arange(8) / 8},
                    attrs={"split": "test", "n_samples": 3, "pde_type": "burgers"})
    for fn in change.values():
        ds = fn(ds)
    path = tmp_path / f"{len(list(tmp_path.iterdir()))}.nc"
    write_netcdf(ds, path)
    return path


def test_data_contract_attributes_counts_dtypes_dims(tmp_path: Path) -> None:
    expect = {"split": "test", "n_samples": 3, "dtype": "float32"}
    read_pair(_file(tmp_path), expect_res=8, expect=expect)
    cases = {
        "attribute split is 'test', but this rule expects 'train'": (_file(tmp_path), {"split": "train"}),
        "attribute n_samples is 2, but this rule expects 3": (
            _file(tmp_path, cut=lambda ds: ds.isel(sample=[0, 1])), expect),
        "attribute dtype is 'float64', but this rule expects 'float32'": (
            _file(tmp_path, cast=lambda ds: ds.astype(np.float64)), expect),
        "has dtype int16": (_file(tmp_path, cast=lambda ds: ds.assign(a=ds.a.astype(np.int16))), expect),
        "unexpected dimensions ['z']": (_file(tmp_path, dim=lambda ds: ds.assign(a=ds.a.expand_dims(z=1))), expect),
        "holds 0 samples": (_file(tmp_path, cut=lambda ds: ds.isel(sample=slice(0, 0))), None),
    }
    complex_file = tmp_path / "complex.nc"  # netCDF stores complex numbers as a compound (r, i) type
    xr.Dataset({"a": (("sample", "x"), np.ones((2, 8), complex)), "u": (("sample", "x"), np.ones((2, 8)))}
               ).to_netcdf(complex_file, engine="netcdf4", auto_complex=True)
    cases["variable 'a' has dtype compound (r, i)"] = (complex_file, None)
    for fragment, (path, want) in cases.items():
        with pytest.raises(DataFileError, match=re.escape(fragment)):
            read_pair(path, expect=want)


def test_zero_norm_targets_and_non_finite_metrics_are_refused() -> None:
    truth = np.ones((3, 4, 8))
    check_target_norms(truth, "t.nc", per_step=True)
    truth[2, 1] = 0.0  # one step of one trajectory
    with pytest.raises(MetricsError, match="t.nc: test target of sample 2 has zero norm"):
        check_target_norms(truth, "t.nc", per_step=True)
    check_target_norms(truth, "t.nc")  # as one static field, sample 2 is not zero
    check_finite_metrics({"rel_l2_mean": 0.1, "eval_res": 16}, "m.pt", "t.nc")
    with pytest.raises(MetricsError, match="m.pt: metric rel_l2_std came out inf on t.nc at resolution 16"):
        check_finite_metrics({"rel_l2_mean": 0.1, "rel_l2_std": float("inf"), "eval_res": 16}, "m.pt", "t.nc")


def test_report_input_with_non_finite_metric_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    pd.DataFrame({"eval_res": [16, 32], "rel_l2_mean": [0.1, 0.2], "rel_l2_low": [0.1, 0.1]}).to_csv(path)
    assert len(read_metrics(path)) == 2
    pd.DataFrame({"eval_res": [16, 32], "rel_l2_mean": [0.1, 0.2], "rel_l2_low": [0.1, np.nan]}).to_csv(path)
    with pytest.raises(MetricsError, match="metric rel_l2_low is missing, NaN or inf"):
        read_metrics(path)


def test_degenerate_training_data_are_named() -> None:
    a = np.ones((4, 1, 8), np.float32)

    def fault(u: np.ndarray) -> str | None:
        return data_fault(ArrayPairs(a, u.astype(np.float32)))

    assert fault(np.ones((4, 1, 8))) is None
    assert "every training target is zero" in fault(np.zeros((4, 1, 8)))
    u = np.ones((4, 1, 8))
    u[2] = 0
    assert "training target 2 is zero" in fault(u)
    assert "training targets reach 1e+38" in fault(np.full((4, 1, 8), 1e38))


# ------------------------------------------------------------------ checkpoints

def _checkpoint(tmp_path: Path, change=None) -> Path:
    kwargs = {"in_channels": 1, "out_channels": 1, "grid": [8], "periodic": True, "modes": 2, "width": 4,
              "layers": 1}
    model = build_model("fno", **kwargs)
    payload = checkpoint_payload("fno", kwargs, model, Normalizer(0.0, 1.0, 0.0, 2.0), {"epoch": 1})
    if change:
        change(payload)
    path = tmp_path / "m.pt"
    torch.save(payload, path)
    return path


def test_checkpoint_contents_are_checked(tmp_path: Path) -> None:
    load_checkpoint(_checkpoint(tmp_path), expect_model="fno", expect_kwargs={"modes": 2, "width": 4})

    def nan(p):
        p["state_dict"][next(iter(p["state_dict"]))].fill_(float("nan"))

    def zero_std(p):
        p["normalizer"]["out_std"] = torch.zeros(1)

    cases = [
        (None, {"modes": 3}, "checkpoint was built with modes=2, the config says modes=3"),
        (nan, None, "holds NaN/inf values"),
        (zero_std, None, r"normalizer out_std = \[0.0\] is unusable"),
    ]
    for change, kwargs, fragment in cases:
        with pytest.raises(CheckpointError, match=fragment):
            load_checkpoint(_checkpoint(tmp_path, change), expect_kwargs=kwargs)


# ------------------------------------------------------------------ the file system refusing a write

@pytest.mark.parametrize(("code", "reason"), [(errno.ENOSPC, "no space left on device"),
                                              (errno.EACCES, "permission denied"),
                                              (errno.EROFS, "read-only file system")])
def test_storage_errors_are_one_line_naming_the_path(tmp_path: Path, monkeypatch, code: int, reason: str) -> None:
    def refuse(self, *args, **kwargs):
        raise OSError(code, "refused")

    monkeypatch.setattr(Path, "write_text", refuse)
    target = tmp_path / "out" / "table.csv"
    with pytest.raises(StorageError, match=f"{target}: {reason}"):
        atomic_write_text(target, "x")
    assert not list((tmp_path / "out").iterdir())  # no temporary left


def test_netcdf_hdf_error_on_a_full_disk_is_named(tmp_path: Path, monkeypatch) -> None:
    import shutil

    def hdf_error(self, *args, **kwargs):
        raise RuntimeError("NetCDF: HDF error")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", hdf_error)
    ds = xr.Dataset({"a": (("sample",), np.zeros(2))})
    with pytest.raises(RuntimeError, match="HDF error") as plain:
        write_netcdf(ds, tmp_path / "d.nc")  # plenty of space: the original error, not a guess
    assert not isinstance(plain.value, StorageError)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10, 10, 0))
    with pytest.raises(StorageError, match="d.nc: no space left on device"):
        write_netcdf(ds, tmp_path / "d.nc")


def test_the_job_hook_prints_a_permission_error_in_one_line(tmp_path: Path, monkeypatch) -> None:
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    monkeypatch.setattr(sys, "__stderr__", buf)
    exc = PermissionError(errno.EACCES, "Permission denied", "logs/train/x.log")
    _hook(type(exc), exc, None)
    assert buf.getvalue() == "opbench error: logs/train/x.log: permission denied (make it writable, then rerun)\n"
    assert storage_error(ValueError("a bug"), tmp_path / "f") is None  # not the file system: left as it is
