"""A small DDPM on 2D vorticity snapshots, judged by physics statistics against held-out fields.

Three rows make the judgement honest: the DDPM's samples, a trivial baseline (a Gaussian field with
the training data's mean and per-Fourier-mode variance: right spectrum by construction, Gaussian
values) and the training data itself (the floor set by finite samples). Each is compared with the
held-out test fields by the energy-spectrum log error, W1 and histogram TV of the vorticity values.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
import xarray as xr

from opbench.evaluation.distribution import histogram_tv, spectrum_log_error, wasserstein1
from opbench.evaluation.spectra import energy_spectrum
from opbench.physics.diffusion import EpsNet2D, Schedule, ancestral_sample, cosine_schedule, linear_schedule, train_ddpm
from opbench.seeding import stream


def snapshots(u: np.ndarray) -> np.ndarray:
    """All 2D fields of a (B, [T,] n, n) array pooled into (N, n, n)."""
    u = np.asarray(u, dtype=np.float64)
    return u.reshape(-1, *u.shape[-2:])


def gaussian_like(train: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian fields with the mean and per-mode variance of ``train`` (N, n, n): white noise coloured in Fourier."""
    n = train.shape[-1]
    mean = train.mean(0)
    power = (np.abs(np.fft.rfft2(train - mean)) ** 2).mean(0)
    white = rng.standard_normal((count, n, n))
    return mean + np.fft.irfft2(np.fft.rfft2(white) * np.sqrt(power) / n, s=(n, n))


def mean_spectrum(fields: np.ndarray) -> np.ndarray:
    """Sample-mean energy spectrum E(k), k = 0..n/2 (shells)."""
    e = energy_spectrum(fields)
    return e.reshape(-1, e.shape[-1]).mean(0)[: fields.shape[-1] // 2 + 1]


def make_schedule(kind: str, steps: int) -> Schedule:
    """Cosine, or Ho et al.'s linear betas rescaled to ``steps`` (1e-4 .. 0.02 at 1000 steps), so x_T is noise."""
    if kind == "cosine":
        return cosine_schedule(steps)
    if kind == "linear":
        scale = 1000.0 / steps
        return linear_schedule(steps, 1e-4 * scale, min(0.02 * scale, 0.999))
    raise ValueError(f"physics.diffusion.schedule must be one of ['linear', 'cosine'], got {kind!r}")


def judge(fields: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    return {
        "spectrum_log_error": spectrum_log_error(fields, reference),
        "w1": wasserstein1(fields, reference),
        "histogram_tv": histogram_tv(fields, reference),
    }


def diffusion_benchmark(
    train_u: np.ndarray, test_u: np.ndarray, settings: Mapping[str, Any], seed: int
) -> tuple[pd.DataFrame, xr.Dataset]:
    """Train the DDPM, draw samples, and return (statistics table, Dataset of the compared fields)."""
    train, test = snapshots(train_u), snapshots(test_u)
    mu, sd = float(train.mean()), float(train.std())
    count = int(settings["samples"])
    torch.manual_seed(int(stream(seed, "ddpm", "init").integers(2**31)))
    schedule = make_schedule(str(settings.get("schedule", "linear")), int(settings["diffusion_steps"]))
    model = EpsNet2D(schedule.steps, int(settings["width"]), int(settings["blocks"]))
    info = train_ddpm(model, (train - mu) / sd, schedule, int(settings["train_steps"]),
                      lr=float(settings["lr"]), batch=int(settings["batch"]), seed=seed, progress=True)
    start = time.perf_counter()
    ddpm = ancestral_sample(model, schedule, (count, *train.shape[1:]), stream(seed, "ddpm", "sample"),
                            progress=True).double().numpy() * sd + mu
    sample_s = time.perf_counter() - start
    gauss = gaussian_like(train, count, stream(seed, "ddpm", "baseline"))
    pick = stream(seed, "ddpm", "train_subset").choice(train.shape[0], min(count, train.shape[0]), replace=False)
    rows = [
        {"method": "ddpm", **judge(ddpm, test), "n_samples": count,
         "train_seconds": float(info["seconds"]), "sample_seconds": sample_s,
         "final_loss": float(np.mean(info["loss"][-20:]))},
        {"method": "gaussian_same_spectrum", **judge(gauss, test), "n_samples": count},
        {"method": "training_data", **judge(train[pick], test), "n_samples": int(len(pick))},
    ]
    table = pd.DataFrame(rows).assign(n_train_fields=train.shape[0], n_test_fields=test.shape[0], res=train.shape[-1])
    shown = min(count, 8)
    ds = xr.Dataset(
        {
            "ddpm": (("sample", "y", "x"), ddpm[:shown]),
            "gaussian_same_spectrum": (("sample", "y", "x"), gauss[:shown]),
            "test": (("sample", "y", "x"), test[:shown]),
            "energy_spectrum": (("method", "k"), np.stack([mean_spectrum(f) for f in (ddpm, gauss, train, test)])),
        },
        coords={"method": ["ddpm", "gaussian_same_spectrum", "training_data", "test"]},
        attrs={"train_steps": int(settings["train_steps"]), "diffusion_steps": schedule.steps},
    )
    return table, ds
