"""The memory each job asks for (its rule's ``resources: mem_mb``), computed from the config.

Every figure is array shape x dtype x how many such arrays a job holds at once (chunk size,
workers, batch), plus a constant measured on the job's imports (``benchmarks/bench_memory.py``
prints these estimates next to measured peaks). Data jobs stream their chunks to disk and train
and infer jobs read a split over ``data.memory_budget_mb`` in pieces, so no estimate grows with
the number of samples beyond that budget.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from opbench.solvers import get_pde

MB = 2**20
# Peak RSS of a tiny data job (Python, numpy, scipy, xarray, netCDF4, dask): 137 MB measured.
GENERATE_BASE_MB = 200
# Private memory of one forked worker process of the `processes` scheduler (its pages are shared
# with the job until written).
PROCESS_WORKER_MB = 60
# Peak RSS of importing the training and evaluation code (torch): 278 MB measured.
TORCH_BASE_MB = 400
# Solver temporaries per fine-grid point of a sample in flight, besides the float64 fields it returns.
# Measured at s = 8192, chunks of 4 and 132 samples: Burgers 76 B and heat 38 B per point and sample
# with the fields; about twice that here, and the 2D solvers alike.
SOLVER_BYTES_PER_POINT = {"heat": 64, "burgers": 128, "navier_stokes": 128, "darcy": 64}
# Per worker and fine-grid point, independent of the chunk: Darcy's sparse LU factor (one sample at a time).
FACTOR_BYTES_PER_POINT = {"darcy": 1024}
# Default history of rollout tasks (mirrors opbench.training.tasks, which imports torch).
DEFAULT_HISTORY = 10


def _points(res: int, ndim: int) -> int:
    return int(res) ** int(ndim)


def snapshots(pde_cfg: Mapping[str, Any]) -> int:
    """Snapshots per sample of ``u`` (1 for static problems)."""
    spec = get_pde(pde_cfg["type"])
    if not spec.time_dependent:
        return 1
    params = pde_cfg.get("params") or {}
    t_end, every = float(params.get("T", 50.0)), float(params.get("snapshot_dt", 1.0))
    return max(1, round(t_end / every))


def generate_mem_mb(pde_cfg: Mapping[str, Any], data: Mapping[str, Any], workers: int) -> int:
    """A data job: ``workers`` chunks being solved on the fine grid, twice as many restricted chunks
    waiting to be written, and the job's constant. Does not depend on the number of samples."""
    spec = get_pde(pde_cfg["type"])
    ndim, snaps = spec.ndim, snapshots(pde_cfg)
    chunk = int(data.get("chunk_size", 16))
    fine = _points(pde_cfg["fine_res"], ndim)
    itemsize = 8 if data.get("dtype") == "float64" else 4
    per_sample_fine = fine * (8 * (1 + snaps) + SOLVER_BYTES_PER_POINT.get(spec.name, 128))
    per_sample_rungs = sum(_points(r, ndim) for r in pde_cfg["ladder"]) * itemsize * (1 + snaps)
    workers = max(1, int(workers))
    solving = workers * (chunk * per_sample_fine + fine * FACTOR_BYTES_PER_POINT.get(spec.name, 0))
    # Up to 2 x workers solved chunks wait to be written, and the writer may copy one of them.
    waiting = (2 * workers + 1) * chunk * per_sample_rungs
    extra = PROCESS_WORKER_MB * workers if data.get("scheduler", "processes") == "processes" else 0
    return int(math.ceil(GENERATE_BASE_MB + extra + (solving + waiting) / MB))


def split_mb(pde_cfg: Mapping[str, Any], split: str) -> float:
    """MB a split at the training resolution takes in memory as float32: the file's arrays plus,
    for rollout tasks, the training windows cut from them (what ``data.memory_budget_mb`` caps)."""
    spec = get_pde(pde_cfg["type"])
    n = int(pde_cfg["samples"][split])
    points = _points(pde_cfg["train_res"], spec.ndim)
    snaps = snapshots(pde_cfg)
    raw = n * points * 4 * (1 + snaps)
    if spec.time_dependent:
        history = int(pde_cfg.get("history", DEFAULT_HISTORY))
        raw += n * max(snaps - history, 0) * (history + 1) * points * 4
    return raw / MB


def _floats_per_point(model: Mapping[str, Any], ndim: int, points: int) -> float:
    """Activation floats per grid point and sample of one layer of ``model`` (its config entry)."""
    kind = model.get("type", "fno")
    if kind in ("transformer", "galerkin_transformer"):
        patch = int(model.get("patch", 1) or 1) ** ndim
        tokens = max(1, points // patch)
        width = int(model.get("d_model", 128))
        heads = int(model.get("heads", 4))
        return (6 * width + heads * tokens) / patch  # token features with the MLP, and attention
    if kind == "unet":
        return 3.0 * int(model.get("width", 32))  # channels double as points quarter, level by level
    if kind == "fno":  # the field, its spectrum (complex) and the skip path; the projection's hidden layer
        return max(3.0 * int(model.get("width", 32)), float(model.get("projection_width", 128)))
    return 64.0  # point-wise or fixed-grid models (mlp, deeponet): small next to the data


def _activations_mb(pde_cfg: Mapping[str, Any], model: Mapping[str, Any], batch: int, res: int,
                    training: bool) -> float:
    """Activations of one batch: every layer's kept for the backward pass when training (with their
    gradients), a few layers' alive at once in inference."""
    spec = get_pde(pde_cfg["type"])
    points = _points(res, spec.ndim)
    per_layer = batch * points * _floats_per_point(model, spec.ndim, points) * 4
    layers = int(model.get("layers", model.get("depth", 4)) or 4)
    return per_layer * ((layers + 2) * 2 if training else 3) / MB


def train_mem_mb(pde_cfg: Mapping[str, Any], model: Mapping[str, Any], training: Mapping[str, Any],
                 data: Mapping[str, Any]) -> int:
    """A training job: both splits, each in memory or capped by the budget (then read in batches),
    a model's activations at the batch size, and the torch constant."""
    budget = float(data.get("memory_budget_mb", 2048))
    held = sum(min(split_mb(pde_cfg, s), budget) for s in ("train", "val"))
    act = _activations_mb(pde_cfg, model, int(training.get("batch_size", 20)), int(pde_cfg["train_res"]), True)
    return int(math.ceil(TORCH_BASE_MB + held + act))


def infer_mem_mb(pde_cfg: Mapping[str, Any], model: Mapping[str, Any], data: Mapping[str, Any],
                 batch: int = 64) -> int:
    """An inference job: one test file at a time (with its predictions), capped by the budget, and
    the forward pass at the finest rung."""
    spec = get_pde(pde_cfg["type"])
    budget = float(data.get("memory_budget_mb", 2048))
    n, snaps = int(pde_cfg["samples"]["test"]), snapshots(pde_cfg)
    finest = max(int(r) for r in pde_cfg["ladder"])
    per_file = n * _points(finest, spec.ndim) * 4 * (1 + snaps) * 2 / MB
    act = _activations_mb(pde_cfg, model, batch, finest, False)
    return int(math.ceil(TORCH_BASE_MB + min(per_file, budget) + act))
