"""Data stage: determinism across workers/chunks/schedulers, atomic writes, checked reads."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from opbench.data import generate as gen
from opbench.data.netcdf import DataFileError, read_pair, write_netcdf
from opbench.solvers import SolverCheckError

HEAT = {
    "type": "heat",
    "params": {"alpha": 0.01, "T": 0.5},
    "grf": {"alpha": 2.0, "tau": 5.0, "sigma": 25.0},
    "solver": {},
    "fine_res": 256,
    "ladder": [32, 64, 256],
    "train_res": 64,
    "samples": {"train": 23, "val": 4, "test": 4},
}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _generate(tmp: Path, tag: str, **kw) -> dict[int, Path]:
    outputs = {r: tmp / f"{tag}_s{r}.nc" for r in HEAT["ladder"]}
    gen.generate_dataset(pde_name="heat", cfg=HEAT, split="train", seed=7, outputs=outputs, progress=False, **kw)
    return outputs


def test_bytes_do_not_depend_on_workers_chunks_or_scheduler(tmp_path: Path) -> None:
    runs = {
        "w1c23": dict(workers=1, chunk_size=23),
        "w2c4": dict(workers=2, chunk_size=4),
        "w2c7p": dict(workers=2, chunk_size=7, scheduler="processes"),
    }
    digests = {tag: [_digest(p) for p in _generate(tmp_path, tag, **kw).values()] for tag, kw in runs.items()}
    first = next(iter(digests.values()))
    assert all(d == first for d in digests.values()), digests


def test_coarse_files_are_exact_restrictions_with_cf_metadata(tmp_path: Path) -> None:
    out = _generate(tmp_path, "r", workers=2, chunk_size=5)
    fine = xr.open_dataset(out[256])
    for res in (32, 64):
        coarse = xr.open_dataset(out[res])
        k = 256 // res
        np.testing.assert_array_equal(coarse["u"].values, fine["u"].values[:, ::k])
        np.testing.assert_array_equal(coarse["a"].values, fine["a"].values[:, ::k])
        np.testing.assert_allclose(coarse["x"].values, np.arange(res) / res)
        assert coarse["x"].attrs["units"] == "1" and coarse["x"].attrs["long_name"]
        assert coarse.attrs["Conventions"].startswith("CF-")
        assert coarse.attrs["restriction_stride"] == k
        assert coarse.attrs["params_alpha"] == 0.01 and coarse.attrs["grf_tau"] == 5.0
        assert coarse.attrs["check_max_rel_error"] < 1e-10
        assert coarse["u"].encoding.get("zlib") is True
    assert fine.sizes == {"sample": 23, "x": 256}


def test_failed_self_check_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    from opbench.solvers import get_pde

    spec = get_pde("heat")

    def broken(rngs, n, cfg):
        raise SolverCheckError("heat: planted failure")

    monkeypatch.setattr(gen, "get_pde", lambda kind: type(spec)(**{**spec.__dict__, "verify": broken}))
    with pytest.raises(SolverCheckError, match="planted"):
        _generate(tmp_path, "bad", workers=1, chunk_size=8)
    assert list(tmp_path.iterdir()) == []


def test_write_is_atomic_and_keeps_the_old_file_on_failure(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "f.nc"
    ds = xr.Dataset({"a": (("sample", "x"), np.ones((2, 4))), "u": (("sample", "x"), np.ones((2, 4)))})
    write_netcdf(ds, target)
    before = _digest(target)

    def exploding(self, path, **kw):
        Path(path).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", exploding)
    with pytest.raises(OSError, match="disk full"):
        write_netcdf(ds * 2, target)
    assert _digest(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["f.nc"]  # no temporary left behind


def _write(path: Path, **variables) -> Path:
    xr.Dataset({k: (dims, v) for k, (dims, v) in variables.items()}).to_netcdf(path, engine="netcdf4")
    return path


@pytest.mark.parametrize(
    ("case", "expected"),
    [("truncated", "not a readable NetCDF"), ("names", "variable 'a' missing"), ("nan", "NaN/inf"),
     ("grids", "do not match"), ("res", "expected resolution 16"), ("missing", "does not exist")],
)
def test_read_pair_refuses_untrustworthy_files(tmp_path: Path, case: str, expected: str) -> None:
    good = np.random.default_rng(0).standard_normal((3, 8))
    path = tmp_path / f"{case}.nc"
    if case == "truncated":
        _write(path, a=(("sample", "x"), good), u=(("sample", "x"), good))
        path.write_bytes(path.read_bytes()[:200])
    elif case == "names":
        _write(path, inp=(("sample", "x"), good), u=(("sample", "x"), good))
    elif case == "nan":
        bad = good.copy()
        bad[1, 3] = np.nan
        _write(path, a=(("sample", "x"), bad), u=(("sample", "x"), good))
    elif case == "grids":
        xr.Dataset({"a": (("sample", "x"), good), "u": (("sample", "y"), good[:, :4])}).to_netcdf(path)
    elif case == "res":
        _write(path, a=(("sample", "x"), good), u=(("sample", "x"), good))
    with pytest.raises(DataFileError) as info:
        read_pair(path, expect_res=16 if case == "res" else None)
    assert expected in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_bytes_do_not_depend_on_the_order_of_config_keys(tmp_path: Path) -> None:
    first = _generate(tmp_path, "ordered", workers=1, chunk_size=8)
    reordered = {k: (dict(reversed(list(v.items()))) if isinstance(v, dict) else v)
                 for k, v in reversed(list(HEAT.items()))}
    outputs = {r: tmp_path / f"reordered_s{r}.nc" for r in HEAT["ladder"]}
    gen.generate_dataset(pde_name="heat", cfg=reordered, split="train", seed=7, outputs=outputs, progress=False,
                         workers=1, chunk_size=8)
    assert [_digest(p) for p in first.values()] == [_digest(p) for p in outputs.values()]


def test_streamed_files_equal_the_whole_split_written_at_once(tmp_path: Path, monkeypatch) -> None:
    """Chunks smaller than, unaligned with and larger than the HDF5 chunks give the bytes of one write."""
    import opbench.data.netcdf as nc

    monkeypatch.setattr(nc, "DISK_CHUNK_BYTES", 4 * 256 * 4)  # 4 samples per HDF5 chunk at s = 256
    whole = _generate(tmp_path, "whole", workers=1, chunk_size=23)  # the split in memory, one write
    fine = xr.open_dataset(whole[256])
    assert fine["u"].encoding["chunksizes"] == (4, 256)  # several chunks, so the streaming is exercised
    for tag, kw in {"c3": dict(workers=2, chunk_size=3), "c5p": dict(workers=2, chunk_size=5, scheduler="processes"),
                    "c1": dict(workers=1, chunk_size=1)}.items():
        streamed = _generate(tmp_path, tag, **kw)
        assert [_digest(p) for p in streamed.values()] == [_digest(p) for p in whole.values()], tag
    # The content is the solver's output for the whole split, restricted to each rung.
    truth = gen.solve_chunk("heat", HEAT, 7, "heat", "train", 0, 23)
    for res, path in whole.items():
        with xr.open_dataset(path) as ds:
            k = 256 // res
            np.testing.assert_array_equal(ds["u"].values, truth["u"][:, ::k].astype(np.float32))
            np.testing.assert_array_equal(ds["a"].values, truth["a"][:, ::k].astype(np.float32))
            np.testing.assert_array_equal(ds["sample"].values, np.arange(23))


def test_a_failed_streamed_write_leaves_no_file(tmp_path: Path, monkeypatch) -> None:
    """An error after some chunks were written (a solver failure mid-split) leaves nothing behind."""
    calls = {"n": 0}
    real = gen.solve_chunk

    def failing(*args):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("planted failure in chunk 4")
        return real(*args)

    monkeypatch.setattr(gen, "solve_chunk", failing)
    with pytest.raises(RuntimeError, match="planted"):
        _generate(tmp_path, "fail", workers=1, chunk_size=2)
    assert calls["n"] >= 4 and list(tmp_path.iterdir()) == []


def test_sigkill_during_a_streamed_write_leaves_no_final_file(tmp_path: Path) -> None:
    """A real SIGKILL while chunks are being streamed into the temporaries: no file under a final name."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import sys; from opbench.data.generate import generate_dataset\n"
        "cfg = {'type': 'heat', 'params': {'alpha': 0.01, 'T': 0.5}, 'grf': {'alpha': 2.0, 'tau': 5.0, "
        "'sigma': 25.0}, 'solver': {}, 'fine_res': 4096, 'ladder': [512, 4096], 'train_res': 512, "
        "'samples': {'train': 200000, 'val': 1, 'test': 1}}\n"
        "generate_dataset(pde_name='heat', cfg=cfg, split='train', seed=1, workers=1, chunk_size=64, "
        "outputs={512: sys.argv[1] + '/s512.nc', 4096: sys.argv[1] + '/s4096.nc'}, progress=False)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until both temporaries hold streamed samples
            tmps = list(tmp_path.glob(".s*.nc.tmp-*"))
            if len(tmps) == 2 and all(p.stat().st_size > 1 << 20 for p in tmps):
                break
            assert proc.poll() is None, "the writer ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("no streamed temporary appeared within 120 s")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "s512.nc").exists() and not (tmp_path / "s4096.nc").exists()
    assert {p.name.split(".tmp-")[0] for p in tmp_path.iterdir()} == {".s512.nc", ".s4096.nc"}
