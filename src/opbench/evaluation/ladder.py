"""Evaluate one trained model on every resolution of a ladder: metrics rows and example fields."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import xarray as xr

from opbench.atomic import atomic_write_text
from opbench.data.netcdf import SPATIAL_DIMS, read_pair, write_netcdf
from opbench.errors import OpbenchError
from opbench.evaluation.bands import band_errors
from opbench.evaluation.inference import predict
from opbench.evaluation.metrics import rel_l2
from opbench.evaluation.physics import energy_spectrum, enstrophy_rel_error, enstrophy_spectrum, per_step_rel_l2
from opbench.training.checkpoint import load_checkpoint
from opbench.training.tasks import StaticTask, Task

METRIC_COLUMNS = [
    "pde", "model", "model_type", "seed", "train_res", "eval_res", "fine_res", "n_test",
    "rel_l2_mean", "rel_l2_std", "rel_l2_median", "n_params", "train_seconds",
    "infer_seconds_per_sample", "device",
]
STEP_COLUMNS = [
    "pde", "model", "model_type", "seed", "train_res", "eval_res", "step", "t", "n_test",
    "rel_l2_mean", "rel_l2_std", "enstrophy_rel_error_mean", "enstrophy_rel_error_std",
]
SPECTRUM_COLUMNS = [
    "pde", "model", "model_type", "seed", "train_res", "eval_res", "step", "t", "k",
    "energy_true", "energy_pred", "enstrophy_true", "enstrophy_pred",
]


def write_csv_atomic(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a CSV to a temporary sibling and move it into place."""
    atomic_write_text(path, frame.to_csv(index=False, float_format="%.8g"))


class _TimedModel:
    """A model as a numpy step function that adds up the wall seconds per sample of its calls."""

    def __init__(self, model: torch.nn.Module, normalizer: Any, batch_size: int, device: str) -> None:
        self.model, self.normalizer, self.batch_size, self.device = model, normalizer, batch_size, device
        self.seconds_per_sample = 0.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y, per_sample = predict(self.model, self.normalizer, x, batch_size=self.batch_size, device=self.device)
        self.seconds_per_sample += per_sample
        return y


def _rollout_tables(pred: np.ndarray, truth: np.ndarray, times: np.ndarray | None,
                    base: Mapping[str, Any]) -> tuple[list[dict], list[dict]]:
    """Per-step error rows and the final step's sample-mean spectra of a rollout (N, steps, n, n)."""
    err = per_step_rel_l2(pred, truth)
    ens = enstrophy_rel_error(pred, truth)
    n_steps = truth.shape[1]
    t = np.asarray(times if times is not None else np.arange(1, n_steps + 1), dtype=np.float64)
    steps = [
        {**base, "step": k + 1, "t": float(t[k]), "n_test": int(err.shape[0]),
         "rel_l2_mean": float(err[:, k].mean()),
         "rel_l2_std": float(err[:, k].std(ddof=1)) if err.shape[0] > 1 else 0.0,
         "enstrophy_rel_error_mean": float(ens[:, k].mean()),
         "enstrophy_rel_error_std": float(ens[:, k].std(ddof=1)) if ens.shape[0] > 1 else 0.0}
        for k in range(n_steps)
    ]
    spectra = []
    if truth.ndim == 4 and truth.shape[-1] == truth.shape[-2]:
        last = n_steps - 1
        e_t, e_p = energy_spectrum(truth[:, last]).mean(0), energy_spectrum(pred[:, last]).mean(0)
        z_t, z_p = enstrophy_spectrum(truth[:, last]).mean(0), enstrophy_spectrum(pred[:, last]).mean(0)
        spectra = [
            {**base, "step": last + 1, "t": float(t[last]), "k": k, "energy_true": float(e_t[k]),
             "energy_pred": float(e_p[k]), "enstrophy_true": float(z_t[k]), "enstrophy_pred": float(z_p[k])}
            for k in range(len(e_t))
        ]
    return steps, spectra


class MetricsError(OpbenchError, ValueError):
    """Test targets no relative error can be computed on, or metrics that came out NaN/inf."""


def check_target_norms(truth: np.ndarray, path: str | Path, per_step: bool = False) -> None:
    """Refuse targets of zero norm (per sample, and per step of a trajectory): relative L2 divides by them."""
    steps = truth.shape[1] if per_step else 1
    flat = truth.reshape(truth.shape[0], steps, -1)
    norms = np.sqrt(np.sum(np.square(flat, dtype=np.float64), axis=-1))
    if not np.all(norms > 0):
        sample = int(np.argmax(~np.all(norms > 0, axis=1)))
        raise MetricsError(f"{path}: test target of sample {sample} has zero norm, so its relative L2 error is "
                           "undefined (allowed: targets with a nonzero norm; regenerate the file)")


def check_finite_metrics(row: Mapping[str, Any], checkpoint: str | Path, path: str | Path) -> None:
    """Stop on a NaN/inf metric instead of writing it where the report would read a verdict from it."""
    bad = [k for k, v in row.items() if isinstance(v, float) and not np.isfinite(v)]
    if bad:
        raise MetricsError(f"{checkpoint}: metric {bad[0]} came out {row[bad[0]]} on {path} at resolution "
                           f"{row.get('eval_res')} (the model's predictions overflow or are NaN; no metrics written)")


def read_metrics(path: str | Path) -> pd.DataFrame:
    """A run's metrics.csv, refused (one line naming the file) when a rel_l2 value is missing, NaN or inf."""
    frame = pd.read_csv(path)
    cols = [c for c in frame.columns if c.startswith("rel_l2")]
    values = frame[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    if not cols or not np.isfinite(values).all():
        where = [c for c in cols if not np.isfinite(pd.to_numeric(frame[c], errors="coerce")).all()]
        raise MetricsError(f"{path}: metric {(where or ['rel_l2_mean'])[0]} is missing, NaN or inf "
                           "(rerun the run's infer job; no verdict is drawn from it)")
    return frame


def evaluate_ladder(*, checkpoint: str | Path, test_files: Mapping[int, str | Path], train_info: Mapping[str, Any],
                    labels: Mapping[str, Any], metrics_path: str | Path, examples_path: str | Path,
                    n_examples: int = 3, device: str | None = None, batch_size: int = 64,
                    task: Task | None = None, steps_path: str | Path | None = None,
                    spectra_path: str | Path | None = None, expect_model: str | None = None,
                    expect_kwargs: Mapping[str, Any] | None = None,
                    expect_data: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Per-sample relative L2 at each resolution, summarised into one row per resolution.

    Inputs at every resolution are the restrictions of the same fine-grid functions, so a
    discretization-invariant model gives the same error on every rung. ``task`` (default static
    a -> u) says what the model sees and predicts; a rollout task also writes the error per
    predicted step (``steps_path``) and the energy/enstrophy spectra of the last step
    (``spectra_path``), each a tidy CSV (empty but for its header for static tasks). The
    checkpoint and every test file are checked before any inference runs (``expect_model`` and
    ``expect_kwargs`` name the model type and constructor arguments the checkpoint must hold,
    ``expect_data`` the attributes every test file must carry); zero-norm targets and non-finite
    metrics stop it with one line naming the file.
    """
    task = task or StaticTask()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, normalizer, _ = load_checkpoint(checkpoint, device=device, expect_model=expect_model,
                                           expect_kwargs=expect_kwargs)
    tests = {int(res): read_pair(path, expect_res=int(res), expect=expect_data)
             for res, path in sorted(test_files.items())}
    for res, (a, u, _ds) in tests.items():
        truth = task.target(a, u)
        check_target_norms(truth, test_files[res], per_step=truth.ndim > a.ndim)
    rows, fields, step_rows, spectrum_rows = [], {}, [], []
    for res, (a, u, ds) in tests.items():
        x_warm, _ = task.training_pairs(a[: min(2, len(a))], u[: min(2, len(a))])
        predict(model, normalizer, x_warm[:2], device=device)  # warm-up, not timed
        timed = _TimedModel(model, normalizer, batch_size, device)
        pred = task.predict(timed, a, u)
        seconds = [timed.seconds_per_sample]
        truth = task.target(a, u)
        err = rel_l2(pred, truth)
        bands = band_errors(pred, truth, ndim=sum(d in ds["a"].dims for d in SPATIAL_DIMS))
        row = {
            **labels,
            "eval_res": int(res),
            "n_test": int(len(err)),
            "rel_l2_mean": float(err.mean()),
            "rel_l2_std": float(err.std(ddof=1)) if len(err) > 1 else 0.0,
            "rel_l2_median": float(np.median(err)),
            "n_params": int(train_info["n_params"]),
            "train_seconds": float(train_info["train_seconds"]),
            "infer_seconds_per_sample": float(seconds[0]),
            "device": device,
            "task": task.name,
            **{f"rel_l2_{name}": float(np.mean(b)) for name, b in bands.items()},
        }
        check_finite_metrics(row, checkpoint, test_files[res])
        times = task.times(ds["t"].values if "t" in ds.coords else None)
        if truth.ndim > a.ndim:  # a trajectory per sample: per-step errors and physics metrics
            base = {k: v for k, v in labels.items() if k in STEP_COLUMNS}
            base["eval_res"] = int(res)
            st, sp = _rollout_tables(pred, truth, times, base)
            step_rows += st
            spectrum_rows += sp
            row["n_steps"] = int(truth.shape[1])
            row["enstrophy_rel_error_mean"] = float(np.mean([r["enstrophy_rel_error_mean"] for r in st]))
            # examples show the last predicted step, next to the last snapshot the model was given
            shown = {"a": u[:, task.history - 1], "u": truth[:, -1], "pred": pred[:, -1]}
        else:
            shown = {"a": a, "u": truth, "pred": pred}
        rows.append(row)
        k = min(n_examples, len(a))
        dims = [d for d in SPATIAL_DIMS if d in ds["a"].dims]
        sdims = [f"{d}_s{res}" for d in dims]
        for name, values in shown.items():
            fields[f"{name}_s{res}"] = xr.DataArray(values[:k].astype(np.float32), dims=("example", *sdims))
        for d, sd in zip(dims, sdims, strict=True):
            fields[sd] = xr.DataArray(ds[d].values, dims=(sd,))
        if times is not None:
            fields[f"t_s{res}"] = xr.DataArray(float(times[-1]))
    frame = pd.DataFrame(rows)
    frame = frame[[c for c in METRIC_COLUMNS if c in frame] + [c for c in frame if c not in METRIC_COLUMNS]]
    coords = {k: v for k, v in fields.items() if k.startswith(("x_s", "y_s"))}
    data = {k: v for k, v in fields.items() if k not in coords}
    attrs = {str(k): str(v) for k, v in labels.items()}
    attrs["task"] = task.name
    examples = xr.Dataset(data, coords=coords, attrs=attrs)
    write_netcdf(examples, examples_path)
    if steps_path is not None:
        write_csv_atomic(pd.DataFrame(step_rows, columns=STEP_COLUMNS), steps_path)
    if spectra_path is not None:
        write_csv_atomic(pd.DataFrame(spectrum_rows, columns=SPECTRUM_COLUMNS), spectra_path)
    write_csv_atomic(frame, metrics_path)
    return frame
