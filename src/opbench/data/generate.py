"""Generate one (PDE, split): solve on the fine grid in dask chunks, restrict, write NetCDF.

Each sample's random draw depends on (seed, PDE name, split, sample index) alone and each
solver treats samples independently, so the bytes written do not depend on the number of
workers, the chunk size or the scheduler.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dask
import numpy as np
import scipy
import xarray as xr
from dask.callbacks import Callback
from tqdm.auto import tqdm

from opbench import __version__
from opbench.config import data_hash
from opbench.data.cluster import distributed_client, worker_placement
from opbench.data.netcdf import coordinate, flatten_attrs, write_netcdf
from opbench.seeding import sample_streams
from opbench.solvers import PDE, SolverInstabilityError, get_pde


def solve_chunk(pde_type: str, cfg: Mapping[str, Any], seed: int, pde_name: str, split: str,
                start: int, stop: int) -> dict[str, np.ndarray]:
    """Solve samples ``start..stop-1`` on the fine grid (one dask task)."""
    spec = get_pde(pde_type)
    rngs = sample_streams(seed, pde_name, split, range(start, stop))
    try:
        return spec.generate(rngs, cfg["fine_res"], dict(cfg))
    except SolverInstabilityError as exc:
        raise in_split(exc, pde_name, split, seed, start) from exc


def in_split(exc: SolverInstabilityError, pde_name: str, split: str, seed: int, start: int,
             what: str = "") -> SolverInstabilityError:
    """The solver's error with its batch index replaced by the sample of the split (and the seed)."""
    text = str(exc)
    if exc.sample is not None:
        text = re.sub(rf"sample {exc.sample}( of the batch)?", f"sample {start + exc.sample} of the {split} split",
                      text, count=1)
    return SolverInstabilityError(f"{text} [{pde_name}, seed {seed}{what}]",
                                  sample=None if exc.sample is None else start + exc.sample)


def chunk_bounds(n_samples: int, chunk_size: int) -> list[tuple[int, int]]:
    return [(s, min(s + chunk_size, n_samples)) for s in range(0, n_samples, chunk_size)]


class _TqdmCallback(Callback):
    """Advance a tqdm bar by each finished chunk of the dask graph."""

    def __init__(self, bar: tqdm, keys: set) -> None:
        super().__init__()
        self.bar, self.keys = bar, keys

    def _posttask(self, key, result, dsk, state, worker_id):  # noqa: D401 - dask hook
        if key in self.keys:
            self.bar.update(1)


def compute_chunks(pde_type: str, cfg: Mapping[str, Any], *, seed: int, pde_name: str, split: str,
                   n_samples: int, chunk_size: int, workers: int, scheduler: str = "threads",
                   cluster: Mapping[str, Any] | None = None, progress: bool = True,
                   placement: dict[int, dict[str, Any]] | None = None) -> dict[str, np.ndarray]:
    """Solve all samples of a split in parallel and concatenate them in sample order.

    ``scheduler="distributed"`` runs the chunks on the dask cluster ``cluster`` describes
    (``data.cluster``: local worker processes by default, or SLURM jobs); ``placement``, if
    given, is filled with the host and SLURM job id of the worker that solved each chunk.
    """
    bounds = chunk_bounds(n_samples, chunk_size)
    tasks = [dask.delayed(solve_chunk, pure=True)(pde_type, dict(cfg), seed, pde_name, split, a, b)
             for a, b in bounds]
    desc = f"{pde_name}/{split}: {n_samples} samples in {len(bounds)} chunks"
    with tqdm(total=len(bounds), desc=desc, unit="chunk", disable=not progress) as bar:
        if scheduler == "distributed":
            with distributed_client(cluster, workers) as client:
                futures = client.compute(tasks)
                parts = []
                for fut in futures:
                    parts.append(fut.result())
                    bar.update(1)
                if placement is not None:
                    where, holders = client.run(worker_placement), client.who_has(futures)
                    for i, fut in enumerate(futures):
                        placement[i] = where.get(next(iter(holders.get(fut.key, ())), ""), {})
        else:
            keys = {t.key for t in tasks}
            with _TqdmCallback(bar, keys):
                parts = dask.compute(*tasks, scheduler=scheduler, num_workers=workers)
    out: dict[str, np.ndarray] = {}
    for name in parts[0]:
        if name == "t":
            out[name] = parts[0][name]
        else:
            out[name] = np.concatenate([p[name] for p in parts], axis=0)
    return out


def _dataset(spec: PDE, fields: Mapping[str, np.ndarray], res: int, fine: int, dtype: str,
             attrs: dict[str, Any]) -> xr.Dataset:
    axes = ("x", "y")[: spec.ndim]
    coords: dict[str, xr.DataArray] = {
        "sample": xr.DataArray(np.arange(fields["a"].shape[0]), dims=("sample",),
                               attrs={"long_name": "sample index within the split"}),
    }
    for ax in axes:
        coords[ax] = coordinate(ax, spec.grid.coords(res), f"position {ax} on the unit domain")
    a = spec.grid.restrict(fields["a"], fine, res, spec.ndim).astype(dtype)
    u = spec.grid.restrict(fields["u"], fine, res, spec.ndim).astype(dtype)
    u_dims: tuple[str, ...] = ("sample", *axes)
    if spec.time_dependent:
        coords["t"] = coordinate("t", np.asarray(fields["t"], dtype=np.float64), "time of the snapshot")
        u_dims = ("sample", "t", *axes)
    data_vars = {
        "a": xr.DataArray(a, dims=("sample", *axes), attrs={"long_name": spec.input_long_name, "units": "1"}),
        "u": xr.DataArray(u, dims=u_dims, attrs={"long_name": spec.output_long_name, "units": "1"}),
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def file_attributes(*, pde_name: str, cfg: Mapping[str, Any], spec: PDE, split: str, seed: int,
                    n_samples: int, res: int, checks: Mapping[str, Any], title: str) -> dict[str, Any]:
    """CF global attributes plus full provenance (no timestamp, so bytes are reproducible)."""
    fine = cfg["fine_res"]
    attrs: dict[str, Any] = {
        "Conventions": "CF-1.10",
        "title": f"{title}: {pde_name} ({spec.name}), {split} split, {res} points per axis",
        "institution": "generated locally by opbench",
        "source": f"opbench {__version__} solver opbench.solvers.{spec.name}: {spec.description}",
        "history": f"opbench {__version__} generate_dataset; no timestamp so identical configs give identical bytes",
        "references": "Li et al. 2021, Fourier Neural Operator (arXiv 2010.08895) for the dataset recipes",
        "pde": pde_name,
        "pde_type": spec.name,
        "split": split,
        "seed": int(seed),
        "n_samples": int(n_samples),
        "resolution": int(res),
        "fine_resolution": int(fine),
        "restriction_stride": int(spec.grid.stride(fine, res)),
        "grid": spec.grid.kind,
        "opbench_version": __version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "pde_config_json": json.dumps(dict(cfg), sort_keys=True),
        "data_hash": data_hash(cfg, seed),
    }
    attrs.update(flatten_attrs("params", cfg.get("params", {})))
    attrs.update(flatten_attrs("grf", cfg.get("grf", {})))
    attrs.update(flatten_attrs("solver", cfg.get("solver", {})))
    attrs.update(flatten_attrs("", checks))
    return attrs


def generate_dataset(*, pde_name: str, cfg: Mapping[str, Any], split: str, seed: int,
                     outputs: Mapping[int, str | Path], workers: int = 1, chunk_size: int = 16,
                     dtype: str = "float32", check_samples: int = 2, scheduler: str = "threads",
                     cluster: Mapping[str, Any] | None = None, compression_level: int = 4,
                     title: str = "opbench", progress: bool = True) -> dict[str, Any]:
    """Run the self-check, solve every sample, and write one file per resolution in ``outputs``.

    The self-check runs first and raises before any data is written if it fails. ``cluster``
    (``data.cluster``) says where ``scheduler="distributed"`` runs; the bytes never depend on it.
    Returns timings, the check results and, for the distributed scheduler, where each chunk ran.
    """
    spec = get_pde(cfg["type"])
    fine = cfg["fine_res"]
    for res in outputs:
        spec.grid.stride(fine, res)  # raises ValueError naming the resolution
    n_samples = int(cfg["samples"][split])
    t0 = time.perf_counter()
    try:
        checks = spec.verify(sample_streams(seed, pde_name, split, range(min(check_samples, n_samples))),
                             fine, dict(cfg))
    except SolverInstabilityError as exc:
        raise in_split(exc, pde_name, split, seed, 0, ", in the self-check") from exc
    t1 = time.perf_counter()
    placement: dict[int, dict[str, Any]] = {}
    fields = compute_chunks(cfg["type"], cfg, seed=seed, pde_name=pde_name, split=split, n_samples=n_samples,
                            chunk_size=chunk_size, workers=workers, scheduler=scheduler, cluster=cluster,
                            progress=progress, placement=placement)
    t2 = time.perf_counter()
    for res, path in sorted(outputs.items()):
        attrs = file_attributes(pde_name=pde_name, cfg=cfg, spec=spec, split=split, seed=seed,
                                n_samples=n_samples, res=res, checks=checks, title=title)
        write_netcdf(_dataset(spec, fields, res, fine, dtype, attrs), path, compression_level=compression_level)
    t3 = time.perf_counter()
    return {
        "pde": pde_name, "split": split, "n_samples": n_samples, "workers": workers,
        "check_seconds": t1 - t0, "solve_seconds": t2 - t1, "write_seconds": t3 - t2,
        "solve_seconds_per_sample": (t2 - t1) / max(n_samples, 1), "checks": dict(checks),
        "chunk_placement": placement,
    }


def ladder_outputs(pattern: str, resolutions: Sequence[int], **fields: Any) -> dict[int, str]:
    """Map each resolution to its path from a ``{res}`` pattern."""
    return {int(r): pattern.format(res=r, **fields) for r in resolutions}
