"""Lazy training data: a split read from its NetCDF file trains exactly as the same split in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from opbench.data.generate import generate_dataset
from opbench.data.netcdf import DataFileError
from opbench.training import Normalizer, TrainConfig
from opbench.training.datasets import ArrayPairs, NetCDFPairs, fit_normalizer, open_pairs
from opbench.training.tasks import RolloutTask, StaticTask
from opbench.training.trainer import train_pairs

HEAT = {
    "type": "heat",
    "params": {"alpha": 0.01, "T": 0.5},
    "grf": {"alpha": 2.0, "tau": 5.0, "sigma": 25.0},
    "solver": {},
    "fine_res": 32,
    "ladder": [32],
    "train_res": 32,
    "samples": {"train": 37, "val": 11, "test": 4},
}


def _heat(tmp: Path, split: str) -> Path:
    path = tmp / f"{split}_s32.nc"
    generate_dataset(pde_name="heat", cfg=HEAT, split=split, seed=3, outputs={32: path}, progress=False)
    return path


def _trajectories(path: Path, n: int, seed: int, nan_at: int | None = None) -> Path:
    """A small smooth 'vorticity' file: n trajectories of 6 snapshots on 8x8."""
    rng = np.random.default_rng(seed)
    x = np.arange(8) / 8
    base = rng.standard_normal((n, 1, 1, 1)) * np.sin(2 * np.pi * x)[None, None, :, None] \
        + rng.standard_normal((n, 1, 1, 1)) * np.cos(2 * np.pi * x)[None, None, None, :]
    u = (base * np.exp(-0.3 * np.arange(6))[None, :, None, None]).astype(np.float32)
    if nan_at is not None:
        u[nan_at, 2, 1, 1] = np.nan
    ds = xr.Dataset({"a": (("sample", "x", "y"), u[:, 0]), "u": (("sample", "t", "x", "y"), u)},
                    coords={"x": x, "y": x, "t": np.arange(6.0)})
    ds.to_netcdf(path, engine="netcdf4")
    return path


def _train(tmp: Path, tag: str, train_set, val_set, model: str, hyper: dict, periodic: bool) -> tuple[dict, str]:
    torch.manual_seed(0)
    cfg = TrainConfig(epochs=3, batch_size=5, lr=3e-3, step_size=2, gamma=0.5)
    info = train_pairs(model, hyper, train_set, val_set, periodic=periodic, cfg=cfg, seed=11,
                       checkpoint_path=tmp / f"{tag}.pt", history_path=tmp / f"{tag}.csv", device="cpu",
                       progress=False, resume_path=tmp / f"{tag}.resume.pt")
    state = torch.load(tmp / f"{tag}.pt", weights_only=True)
    history = (tmp / f"{tag}.csv").read_text()
    return {"state": state["state_dict"], "normalizer": state["normalizer"], "info": info}, \
        "\n".join(",".join(row.split(",")[:4]) for row in history.splitlines())  # without the seconds column


def _assert_bitwise_equal(a: dict, b: dict) -> None:
    assert a["state"].keys() == b["state"].keys()
    assert all(torch.equal(a["state"][k], b["state"][k]) for k in a["state"])
    assert all(torch.equal(a["normalizer"][k], b["normalizer"][k]) for k in a["normalizer"])
    assert a["info"]["best_epoch"] == b["info"]["best_epoch"]
    assert a["info"]["best_val_rel_l2"] == b["info"]["best_val_rel_l2"]


def test_open_pairs_reads_lazily_only_over_the_budget(tmp_path: Path) -> None:
    path = _heat(tmp_path, "train")
    assert isinstance(open_pairs(path, StaticTask(), expect_res=32, budget_mb=1.0), ArrayPairs)
    lazy = open_pairs(path, StaticTask(), expect_res=32, budget_mb=1e-3)  # 37 x 2 x 32 x 4 B > 1 kB
    assert isinstance(lazy, NetCDFPairs) and len(lazy) == 37
    with xr.open_dataset(path) as ds:
        x, y = lazy.take(np.array([30, 2, 2, 17]))
        np.testing.assert_array_equal(x[:, 0], ds["a"].values[[30, 2, 2, 17]])
        np.testing.assert_array_equal(y[:, 0], ds["u"].values[[30, 2, 2, 17]])
    xt, yt = lazy[5]
    assert xt.shape == (1, 32) and yt.shape == (1, 32)


def test_lazy_static_training_is_bit_identical_to_in_memory(tmp_path: Path) -> None:
    tr, va = _heat(tmp_path, "train"), _heat(tmp_path, "val")
    task = StaticTask()
    mem = (open_pairs(tr, task, budget_mb=None), open_pairs(va, task, budget_mb=None))
    lazy = (NetCDFPairs(tr, task), NetCDFPairs(va, task))
    hyper = {"modes": 4, "width": 6, "layers": 2}
    a, hist_a = _train(tmp_path, "mem", *mem, "fno", hyper, True)
    b, hist_b = _train(tmp_path, "lazy", *lazy, "fno", hyper, True)
    _assert_bitwise_equal(a, b)
    assert hist_a == hist_b and len(hist_a.splitlines()) == 4
    # The chunked statistics are the plain ones (to rounding).
    plain = Normalizer.fit(mem[0].x, mem[0].y)
    for k, v in plain.state().items():
        torch.testing.assert_close(a["normalizer"][k], v, rtol=1e-6, atol=1e-7)


def test_lazy_rollout_training_is_bit_identical_to_in_memory(tmp_path: Path) -> None:
    tr = _trajectories(tmp_path / "tr.nc", 9, 0)
    va = _trajectories(tmp_path / "va.nc", 4, 1)
    task = RolloutTask(history=2)
    mem = (open_pairs(tr, task, budget_mb=None), open_pairs(va, task, budget_mb=None))
    lazy = (open_pairs(tr, task, budget_mb=1e-3), open_pairs(va, task, budget_mb=1e-3))
    assert isinstance(lazy[0], NetCDFPairs) and len(lazy[0]) == len(mem[0]) == 9 * 4
    idx = np.array([35, 0, 7, 8, 21])
    for got, want in zip(lazy[0].take(idx), mem[0].take(idx), strict=True):
        np.testing.assert_array_equal(got, want)
    hyper = {"modes": 2, "width": 4, "layers": 1}
    a, hist_a = _train(tmp_path, "mem", *mem, "fno", hyper, True)
    b, hist_b = _train(tmp_path, "lazy", *lazy, "fno", hyper, True)
    _assert_bitwise_equal(a, b)
    assert hist_a == hist_b


def test_lazy_reading_refuses_nan_naming_the_sample(tmp_path: Path) -> None:
    bad = _trajectories(tmp_path / "bad.nc", 5, 0, nan_at=3)
    lazy = NetCDFPairs(bad, RolloutTask(history=2))
    with pytest.raises(DataFileError, match=r"bad.nc: variable 'u' has NaN/inf values \(first in sample 3\)"):
        fit_normalizer(lazy)


@pytest.mark.parametrize("chunk_bytes", [32 << 20, 3 * 2 * 32 * 4])  # one chunk; chunks of 3 pairs
def test_chunked_statistics_do_not_depend_on_where_the_pairs_live(tmp_path: Path, monkeypatch,
                                                                    chunk_bytes: int) -> None:
    import opbench.training.datasets as ds_mod

    path = _heat(tmp_path, "train")
    mem, lazy = open_pairs(path, StaticTask(), budget_mb=None), NetCDFPairs(path, StaticTask())
    monkeypatch.setattr(ds_mod, "STATS_CHUNK_BYTES", chunk_bytes)
    assert (mem.stats_chunk() >= 37) if chunk_bytes > 1 << 20 else mem.stats_chunk() == 3
    na, nb = fit_normalizer(mem).state(), fit_normalizer(lazy).state()
    assert all(torch.equal(na[k], nb[k]) for k in na)


@pytest.mark.parametrize("kind", ["static", "rollout"])
def test_chunked_inference_gives_the_metrics_of_one_piece(tmp_path: Path, kind: str) -> None:
    import pandas as pd

    from opbench.evaluation.ladder import evaluate_ladder

    if kind == "static":
        cfg = {**HEAT, "samples": {"train": 12, "val": 4, "test": 11}}
        files = {}
        for split in ("train", "val", "test"):
            files[split] = tmp_path / f"{split}.nc"
            generate_dataset(pde_name="heat", cfg=cfg, split=split, seed=3, outputs={32: files[split]},
                             progress=False)
        task, model, hyper, res = StaticTask(), "fno", {"modes": 4, "width": 4, "layers": 1}, 32
    else:
        files = {split: _trajectories(tmp_path / f"{split}.nc", n, i)
                 for i, (split, n) in enumerate([("train", 6), ("val", 3), ("test", 7)])}
        task, model, hyper, res = RolloutTask(history=2), "fno", {"modes": 2, "width": 4, "layers": 1}, 8
    train_pairs(model, hyper, open_pairs(files["train"], task), open_pairs(files["val"], task), periodic=True,
                cfg=TrainConfig(epochs=1, batch_size=4), seed=1, checkpoint_path=tmp_path / "m.pt",
                history_path=tmp_path / "h.csv", device="cpu", progress=False)
    outs = {}
    for tag, budget in (("whole", None), ("chunked", 1e-3)):  # 1 kB: chunks of one batch (2 samples)
        paths = {name: tmp_path / f"{tag}_{name}" for name in ("metrics.csv", "ex.nc", "steps.csv", "spectra.csv")}
        evaluate_ladder(checkpoint=tmp_path / "m.pt", test_files={res: files["test"]},
                        train_info={"n_params": 1, "train_seconds": 1.0}, labels={"pde": "p", "model": model},
                        metrics_path=paths["metrics.csv"], examples_path=paths["ex.nc"], n_examples=3,
                        device="cpu", batch_size=2, task=task, steps_path=paths["steps.csv"],
                        spectra_path=paths["spectra.csv"], memory_budget_mb=budget)
        outs[tag] = paths
    whole = pd.read_csv(outs["whole"]["metrics.csv"]).drop(columns="infer_seconds_per_sample")
    chunked = pd.read_csv(outs["chunked"]["metrics.csv"]).drop(columns="infer_seconds_per_sample")
    pd.testing.assert_frame_equal(whole, chunked, check_exact=True)
    assert int(whole["n_test"].iloc[0]) == (11 if kind == "static" else 7)
    for name in ("steps.csv", "spectra.csv"):
        assert outs["whole"][name].read_text() == outs["chunked"][name].read_text()
    if kind == "rollout":
        assert len(pd.read_csv(outs["whole"]["steps.csv"])) == 4 and len(pd.read_csv(outs["whole"]["spectra.csv"]))
    with xr.open_dataset(outs["whole"]["ex.nc"]) as a, xr.open_dataset(outs["chunked"]["ex.nc"]) as b:
        assert a.identical(b) and a[f"pred_s{res}"].sizes["example"] == 3
