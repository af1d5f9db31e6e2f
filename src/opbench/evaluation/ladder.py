"""Evaluate one trained model on every resolution of a ladder: metrics rows and example fields."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import xarray as xr

from opbench.data.netcdf import SPATIAL_DIMS, read_pair, write_netcdf
from opbench.evaluation.bands import band_errors
from opbench.evaluation.inference import predict
from opbench.evaluation.metrics import rel_l2
from opbench.training.checkpoint import load_checkpoint

METRIC_COLUMNS = [
    "pde", "model", "model_type", "seed", "train_res", "eval_res", "fine_res", "n_test",
    "rel_l2_mean", "rel_l2_std", "rel_l2_median", "n_params", "train_seconds",
    "infer_seconds_per_sample", "device",
]


def write_csv_atomic(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a CSV to a temporary sibling and move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    frame.to_csv(tmp, index=False, float_format="%.8g")
    os.replace(tmp, path)


def evaluate_ladder(*, checkpoint: str | Path, test_files: Mapping[int, str | Path], train_info: Mapping[str, Any],
                    labels: Mapping[str, Any], metrics_path: str | Path, examples_path: str | Path,
                    n_examples: int = 3, device: str | None = None, batch_size: int = 64) -> pd.DataFrame:
    """Per-sample relative L2 at each resolution, summarised into one row per resolution.

    Inputs at every resolution are the restrictions of the same fine-grid functions, so a
    discretization-invariant model gives the same error on every rung.
    """
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, normalizer, _ = load_checkpoint(checkpoint, device=device)
    rows, fields = [], {}
    for res, path in sorted(test_files.items()):
        a, u, ds = read_pair(path, expect_res=int(res))
        predict(model, normalizer, a[: min(2, len(a)), None], device=device)  # warm-up, not timed
        pred, seconds = predict(model, normalizer, a[:, None], batch_size=batch_size, device=device)
        pred = pred[:, 0]
        err = rel_l2(pred, u)
        bands = band_errors(pred, u, ndim=sum(d in ds["a"].dims for d in SPATIAL_DIMS))
        rows.append({
            **labels,
            "eval_res": int(res),
            "n_test": int(len(err)),
            "rel_l2_mean": float(err.mean()),
            "rel_l2_std": float(err.std(ddof=1)) if len(err) > 1 else 0.0,
            "rel_l2_median": float(np.median(err)),
            "n_params": int(train_info["n_params"]),
            "train_seconds": float(train_info["train_seconds"]),
            "infer_seconds_per_sample": float(seconds),
            "device": device,
            **{f"rel_l2_{name}": float(np.mean(b)) for name, b in bands.items()},
        })
        k = min(n_examples, len(a))
        dims = [d for d in SPATIAL_DIMS if d in ds["a"].dims]
        sdims = [f"{d}_s{res}" for d in dims]
        for name, values in (("a", a[:k]), ("u", u[:k]), ("pred", pred[:k])):
            fields[f"{name}_s{res}"] = xr.DataArray(values.astype(np.float32), dims=("example", *sdims))
        for d, sd in zip(dims, sdims, strict=True):
            fields[sd] = xr.DataArray(ds[d].values, dims=(sd,))
    frame = pd.DataFrame(rows)
    frame = frame[[c for c in METRIC_COLUMNS if c in frame] + [c for c in frame if c not in METRIC_COLUMNS]]
    coords = {k: v for k, v in fields.items() if k.startswith(("x_s", "y_s"))}
    data = {k: v for k, v in fields.items() if k not in coords}
    examples = xr.Dataset(data, coords=coords, attrs={str(k): str(v) for k, v in labels.items()})
    write_netcdf(examples, examples_path)
    write_csv_atomic(frame, metrics_path)
    return frame
