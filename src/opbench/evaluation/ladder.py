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
from opbench.data.netcdf import SPATIAL_DIMS, iter_chunks, open_checked, sample_nbytes, write_netcdf
from opbench.errors import OpbenchError
from opbench.evaluation.bands import band_errors
from opbench.evaluation.inference import predict
from opbench.evaluation.metrics import rel_l2
from opbench.evaluation.spectra import energy_spectrum, enstrophy_rel_error, enstrophy_spectrum, per_step_rel_l2
from opbench.training.checkpoint import Checkpoint, read_checkpoint
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


def _rollout_parts(pred: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample rollout measures of one chunk: step errors, enstrophy errors, last-step spectra."""
    out = {"err": per_step_rel_l2(pred, truth), "ens": enstrophy_rel_error(pred, truth)}
    if truth.ndim == 4 and truth.shape[-1] == truth.shape[-2]:
        last = truth.shape[1] - 1
        out.update(e_t=energy_spectrum(truth[:, last]), e_p=energy_spectrum(pred[:, last]),
                   z_t=enstrophy_spectrum(truth[:, last]), z_p=enstrophy_spectrum(pred[:, last]))
    return out


def _rollout_tables(parts: Mapping[str, np.ndarray], times: np.ndarray | None,
                    base: Mapping[str, Any]) -> tuple[list[dict], list[dict]]:
    """Per-step error rows and the final step's sample-mean spectra of a rollout, from ``_rollout_parts``
    of all samples."""
    err, ens = parts["err"], parts["ens"]
    n_steps = err.shape[1]
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
    if "e_t" in parts:
        last = n_steps - 1
        e_t, e_p, z_t, z_p = (parts[k].mean(0) for k in ("e_t", "e_p", "z_t", "z_p"))
        spectra = [
            {**base, "step": last + 1, "t": float(t[last]), "k": k, "energy_true": float(e_t[k]),
             "energy_pred": float(e_p[k]), "enstrophy_true": float(z_t[k]), "enstrophy_pred": float(z_p[k])}
            for k in range(len(e_t))
        ]
    return steps, spectra


def _chunk_samples(path: str | Path, res: int, task: Task, budget_mb: float | None, batch_size: int) -> int:
    """Samples per chunk of a test file: all of them when the file (and the predictions) fit the
    budget, else a multiple of ``batch_size`` that does, so the model sees the same batches."""
    with open_checked(path, expect_res=res) as ds:
        n = int(ds.sizes["sample"])
        per_sample = 2 * sample_nbytes(ds)  # the data, and predictions and targets of the same size
    if budget_mb is None or n * per_sample <= budget_mb * 2**20:
        return max(n, 1)
    fit = int(budget_mb * 2**20 // per_sample)
    return max(batch_size, fit // batch_size * batch_size)


class MetricsError(OpbenchError, ValueError):
    """Test targets no relative error can be computed on, or metrics that came out NaN/inf."""


def check_target_norms(truth: np.ndarray, path: str | Path, per_step: bool = False, first_sample: int = 0) -> None:
    """Refuse targets of zero norm (per sample, and per step of a trajectory): relative L2 divides by them.

    ``first_sample`` is the index in the file of ``truth``'s first sample (chunked reads)."""
    steps = truth.shape[1] if per_step else 1
    flat = truth.reshape(truth.shape[0], steps, -1)
    norms = np.sqrt(np.sum(np.square(flat, dtype=np.float64), axis=-1))
    if not np.all(norms > 0):
        sample = first_sample + int(np.argmax(~np.all(norms > 0, axis=1)))
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


def evaluate_ladder(*, checkpoint: str | Path | Checkpoint, test_files: Mapping[int, str | Path],
                    train_info: Mapping[str, Any], labels: Mapping[str, Any], metrics_path: str | Path,
                    examples_path: str | Path,
                    n_examples: int = 3, device: str | None = None, batch_size: int = 64,
                    task: Task | None = None, steps_path: str | Path | None = None,
                    spectra_path: str | Path | None = None, expect_model: str | None = None,
                    memory_budget_mb: float | None = None,
                    expect_kwargs: Mapping[str, Any] | None = None,
                    expect_data: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Per-sample relative L2 at each resolution, summarised into one row per resolution.

    Inputs at every resolution are the restrictions of the same fine-grid functions, so a
    discretization-invariant model gives the same error on every rung. ``task`` (default static
    a -> u) says what the model sees and predicts; a rollout task also writes the error per
    predicted step (``steps_path``) and the energy/enstrophy spectra of the last step
    (``spectra_path``), each a tidy CSV (empty but for its header for static tasks). The
    checkpoint (a path, or a ``Checkpoint`` its caller has read and checked) and every test file
    are checked before any inference runs (``expect_model`` and ``expect_kwargs`` name the model
    type and constructor arguments the checkpoint must hold, ``expect_data`` the attributes every
    test file must carry); zero-norm targets and non-finite
    metrics stop it with one line naming the file. A test file larger than ``memory_budget_mb`` is
    read and evaluated in chunks of samples; the metrics are the same as in one piece.
    """
    task = task or StaticTask()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(checkpoint, Checkpoint):  # read and checked by the caller (``evaluation.runs``): not read again
        ckpt = checkpoint
    else:
        ckpt = read_checkpoint(checkpoint, device=device, expect_model=expect_model, expect_kwargs=expect_kwargs)
    model, normalizer, checkpoint = ckpt.model, ckpt.normalizer, ckpt.path
    for res, path in sorted(test_files.items()):  # every file checked before any inference
        open_checked(path, expect_res=int(res), expect=expect_data).close()
    rows, fields, step_rows, spectrum_rows = [], {}, [], []
    for res, path in sorted(test_files.items()):
        res = int(res)
        chunk = _chunk_samples(path, res, task, memory_budget_mb, batch_size)
        parts: dict[str, list[np.ndarray]] = {}
        shown_parts: dict[str, list[np.ndarray]] = {}
        seconds, n_total, k = 0.0, 0, n_examples
        for start, a, u in iter_chunks(path, expect_res=res, expect=expect_data, chunk_samples=chunk):
            truth = task.target(a, u)
            check_target_norms(truth, path, per_step=truth.ndim > a.ndim, first_sample=start)
            if start == 0:
                x_warm, _ = task.training_pairs(a[: min(2, len(a))], u[: min(2, len(a))])
                predict(model, normalizer, x_warm[:2], device=device)  # warm-up, not timed
            timed = _TimedModel(model, normalizer, batch_size, device)
            pred = task.predict(timed, a, u)
            seconds += timed.seconds_per_sample * len(a)
            n_total += len(a)
            chunk_parts = {"err": rel_l2(pred, truth),
                           **{f"band_{name}": b for name, b in band_errors(pred, truth, ndim=a.ndim - 1).items()}}
            if truth.ndim > a.ndim:  # a trajectory per sample: per-step errors and physics metrics
                chunk_parts.update({f"roll_{name}": v for name, v in _rollout_parts(pred, truth).items()})
                # examples show the last predicted step, next to the last snapshot the model was given
                shown = {"a": u[:, task.history - 1], "u": truth[:, -1], "pred": pred[:, -1]}
            else:
                shown = {"a": a, "u": truth, "pred": pred}
            for name, v in chunk_parts.items():
                parts.setdefault(name, []).append(v)
            if start < k or start == 0:
                for name, v in shown.items():
                    shown_parts.setdefault(name, []).append(v[: max(k - start, 0)].astype(np.float32))
            rollout = truth.ndim > a.ndim
        per = {name: np.concatenate(v) for name, v in parts.items()}
        err = per["err"]
        with open_checked(path, expect_res=res) as ds:
            coords = {d: ds[d].values for d in SPATIAL_DIMS if d in ds["a"].dims}
            times = task.times(ds["t"].values if "t" in ds.coords else None)
        row = {
            **labels,
            "eval_res": res,
            "n_test": int(len(err)),
            "rel_l2_mean": float(err.mean()),
            "rel_l2_std": float(err.std(ddof=1)) if len(err) > 1 else 0.0,
            "rel_l2_median": float(np.median(err)),
            "n_params": int(train_info["n_params"]),
            "train_seconds": float(train_info["train_seconds"]),
            "infer_seconds_per_sample": float(seconds / max(n_total, 1)),
            "device": device,
            "task": task.name,
            **{f"rel_l2_{name[5:]}": float(np.mean(b)) for name, b in per.items() if name.startswith("band_")},
        }
        check_finite_metrics(row, checkpoint, path)
        if rollout:
            base = {k: v for k, v in labels.items() if k in STEP_COLUMNS}
            base["eval_res"] = res
            st, sp = _rollout_tables({name[5:]: v for name, v in per.items() if name.startswith("roll_")},
                                     times, base)
            step_rows += st
            spectrum_rows += sp
            row["n_steps"] = int(per["roll_err"].shape[1])
            row["enstrophy_rel_error_mean"] = float(np.mean([r["enstrophy_rel_error_mean"] for r in st]))
        rows.append(row)
        sdims = [f"{d}_s{res}" for d in coords]
        for name, values in shown_parts.items():
            fields[f"{name}_s{res}"] = xr.DataArray(np.concatenate(values), dims=("example", *sdims))
        for values, sd in zip(coords.values(), sdims, strict=True):
            fields[sd] = xr.DataArray(values, dims=(sd,))
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
