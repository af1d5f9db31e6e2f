"""Generate one (PDE, split): solve on the fine grid in chunks, restrict, stream to NetCDF.

Chunks of samples are solved in parallel (a local pool of threads or processes, or a dask
distributed cluster) and written to every rung's file in sample order as they complete, so a
job holds a few chunks at a time whatever the size of the split. Each sample's random draw
depends on (seed, PDE name, split, sample index) alone and each solver treats samples
independently, so the bytes written do not depend on the number of workers, the chunk size or
the scheduler.
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.context
import re
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import scipy
from tqdm.auto import tqdm

from opbench import __version__
from opbench.config import data_hash
from opbench.data.cluster import cluster_settings, distributed_client, worker_placement
from opbench.data.netcdf import StreamWriter, coordinate, flatten_attrs
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


def solve_restricted(pde_type: str, cfg: Mapping[str, Any], seed: int, pde_name: str, split: str,
                     start: int, stop: int, rungs: Sequence[int], dtype: str) -> dict[Any, Any]:
    """Solve samples ``start..stop-1`` and restrict them to every rung (one task of the pool).

    Returns ``{res: {"a": ..., "u": ...}}`` in the storage ``dtype``, plus ``"t"`` (snapshot times,
    or None): only the rungs travel back from a worker, and the fine fields are freed at once.
    """
    spec = get_pde(pde_type)
    fields = solve_chunk(pde_type, cfg, seed, pde_name, split, start, stop)
    fine = cfg["fine_res"]
    out: dict[Any, Any] = {"t": fields.get("t")}
    for res in rungs:
        out[res] = {name: spec.grid.restrict(fields[name], fine, res, spec.ndim).astype(dtype)
                    for name in ("a", "u")}
    return out


def _solve_and_place(*args: Any) -> tuple[dict[Any, Any], dict[str, Any]]:
    """``solve_restricted`` on a distributed worker, plus where it ran."""
    return solve_restricted(*args), worker_placement()


def chunk_bounds(n_samples: int, chunk_size: int) -> list[tuple[int, int]]:
    return [(s, min(s + chunk_size, n_samples)) for s in range(0, n_samples, chunk_size)]


def _process_context() -> multiprocessing.context.BaseContext:
    """Fork where the platform has it: a forked worker starts in milliseconds, a spawned one imports
    numpy and the solvers again (about a second, which a split of a few seconds cannot amortise)."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


@contextmanager
def _pool(scheduler: str, workers: int, cluster: Mapping[str, Any] | None) -> Iterator[tuple[Any, int]]:
    """``(submit, window)``: a function submitting one task and returning a future, and how many
    tasks may be in flight (twice the workers: enough to keep them busy, few enough to bound memory)."""
    if scheduler == "distributed":
        with distributed_client(cluster, workers) as client:
            s = cluster_settings(cluster)
            slots = workers if s["kind"] == "local" else s["jobs"] * s["processes"]
            yield (lambda fn, *args: client.submit(fn, *args, pure=False)), 2 * max(1, slots)
        return
    if scheduler == "threads":
        executor: Executor = ThreadPoolExecutor(max_workers=max(1, workers))
    elif scheduler == "processes":
        executor = ProcessPoolExecutor(max_workers=max(1, workers), mp_context=_process_context())
    else:
        raise ValueError(f"data.scheduler: {scheduler!r} is not allowed (allowed: threads, processes, distributed)")
    with executor:
        yield executor.submit, 2 * max(1, workers)


def ordered_chunks(pde_type: str, cfg: Mapping[str, Any], *, seed: int, pde_name: str, split: str,
                   n_samples: int, chunk_size: int, rungs: Sequence[int], dtype: str, workers: int,
                   scheduler: str = "threads", cluster: Mapping[str, Any] | None = None, progress: bool = True,
                   placement: dict[int, dict[str, Any]] | None = None) -> Iterator[dict[Any, Any]]:
    """Solve the split's chunks in parallel and yield them in sample order, as they complete.

    At most ``2 x workers`` chunks are submitted and not yet consumed, so memory is bounded by the
    chunk size and the workers, not by the number of samples. ``scheduler="distributed"`` runs the
    chunks on the dask cluster ``cluster`` describes (``data.cluster``: local worker processes by
    default, or SLURM jobs) and fills ``placement`` with the host and SLURM job id of each chunk's
    worker; ``threads`` and ``processes`` run them in a local pool of ``workers``.
    """
    bounds = chunk_bounds(n_samples, chunk_size)
    args = [(pde_type, dict(cfg), seed, pde_name, split, a, b, list(rungs), dtype) for a, b in bounds]
    fn = _solve_and_place if scheduler == "distributed" else solve_restricted
    desc = f"{pde_name}/{split}: {n_samples} samples in {len(bounds)} chunks"
    with tqdm(total=len(bounds), desc=desc, unit="chunk", disable=not progress) as bar, \
            _pool(scheduler, workers, cluster) as (submit, window):
        pending: deque = deque(submit(fn, *task) for task in args[:window])
        todo = iter(args[window:])
        try:
            while pending:
                result = pending.popleft().result()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append(submit(fn, *nxt))
                if scheduler == "distributed":
                    result, where = result
                    if placement is not None:
                        placement[len(placement)] = where
                bar.update(1)
                yield result
        finally:
            for fut in pending:  # an error or an abandoned generator: solve nothing more
                fut.cancel()


def _writers(spec: PDE, rungs: Sequence[int], outputs: Mapping[int, str | Path], first: Mapping[Any, Any],
             n_samples: int, dtype: str, attrs: Mapping[int, dict[str, Any]],
             compression_level: int, stack: ExitStack) -> dict[int, StreamWriter]:
    """One streaming writer per rung, laid out from the first chunk (which carries the snapshot times).

    Each writer joins ``stack`` as soon as it exists, so a failure creating the next one still
    removes the temporaries of those before it."""
    axes = ("x", "y")[: spec.ndim]
    writers = {}
    for res in rungs:
        coords: dict[str, tuple[np.ndarray, dict]] = {}
        for ax in axes:
            c = coordinate(ax, spec.grid.coords(res), f"position {ax} on the unit domain")
            coords[ax] = (c.values, c.attrs)
        u_dims: tuple[str, ...] = ("sample", *axes)
        if spec.time_dependent:
            c = coordinate("t", np.asarray(first["t"], dtype=np.float64), "time of the snapshot")
            coords["t"] = (c.values, c.attrs)
            u_dims = ("sample", "t", *axes)
        variables = {
            "a": (("sample", *axes), dtype, {"long_name": spec.input_long_name, "units": "1"}),
            "u": (u_dims, dtype, {"long_name": spec.output_long_name, "units": "1"}),
        }
        writers[res] = stack.enter_context(
            StreamWriter(outputs[res], n_samples=n_samples, coords=coords, variables=variables,
                         attrs=attrs[res], compression_level=compression_level))
    return writers


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
    if scheduler == "processes" and (cfg.get("solver") or {}).get("device") == "cuda":
        scheduler = "threads"  # the self-check has set up CUDA here, and a forked child cannot use it
    placement: dict[int, dict[str, Any]] = {}
    rungs = sorted(int(r) for r in outputs)
    attrs = {res: file_attributes(pde_name=pde_name, cfg=cfg, spec=spec, split=split, seed=seed,
                                  n_samples=n_samples, res=res, checks=checks, title=title) for res in rungs}
    write_seconds = 0.0
    with ExitStack() as stack:
        writers: dict[int, StreamWriter] = {}
        for part in ordered_chunks(cfg["type"], cfg, seed=seed, pde_name=pde_name, split=split,
                                   n_samples=n_samples, chunk_size=chunk_size, rungs=rungs, dtype=dtype,
                                   workers=workers, scheduler=scheduler, cluster=cluster, progress=progress,
                                   placement=placement):
            tw = time.perf_counter()
            if not writers:
                writers = _writers(spec, rungs, outputs, part, n_samples, dtype, attrs, compression_level, stack)
            for res in rungs:
                writers[res].append(**part[res])
            write_seconds += time.perf_counter() - tw
        # Only complete files get their final names, all after the last sample is written.
        tw = time.perf_counter()
        for res in rungs:
            writers[res].commit()
        write_seconds += time.perf_counter() - tw
    # Solving and writing overlap: the pool solves the next chunks while this process writes.
    total_seconds = time.perf_counter() - t1
    return {
        "pde": pde_name, "split": split, "n_samples": n_samples, "workers": workers,
        "check_seconds": t1 - t0, "solve_seconds": total_seconds, "write_seconds": write_seconds,
        "solve_seconds_per_sample": total_seconds / max(n_samples, 1), "checks": dict(checks),
        "chunk_placement": placement,
    }
