"""Relative error per Fourier band: how much of a model's error sits at low, mid and high wavenumbers.

A field's spectrum on a periodic grid is split by the radial integer wavenumber |k| into three bands
relative to the grid's Nyquist number k_N = n // 2: low |k| < k_N / 4, mid k_N / 4 <= |k| < k_N / 2,
high |k| >= k_N / 2 (edges configurable). The error in a band is the L2 norm of the error's
coefficients in that band divided by the L2 norm of the whole true field (Parseval), so the three
squared band errors add up to the squared total relative L2 error.
"""

from __future__ import annotations

import numpy as np

BANDS = ("low", "mid", "high")


def radial_wavenumber(shape: tuple[int, ...]) -> np.ndarray:
    """|k| on the rfftn layout of a grid of ``shape`` (last axis halved)."""
    axes = [np.fft.fftfreq(n, 1.0 / n) for n in shape[:-1]] + [np.fft.rfftfreq(shape[-1], 1.0 / shape[-1])]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.sqrt(sum(m**2 for m in mesh))


def band_errors(pred: np.ndarray, true: np.ndarray, ndim: int = 1,
                edges: tuple[float, float] = (0.25, 0.5)) -> dict[str, np.ndarray]:
    """Per-sample relative L2 error of each band, arrays (N,) keyed ``low``, ``mid``, ``high``.

    ``pred``/``true`` are (N, ..., *grid) with ``ndim`` trailing grid axes; ``edges`` are the band
    boundaries as fractions of the Nyquist wavenumber.
    """
    pred = np.asarray(pred, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape:
        raise ValueError(f"shape mismatch: pred {pred.shape} vs true {true.shape}")
    if not 0 < edges[0] < edges[1]:
        raise ValueError(f"band edges must satisfy 0 < low < mid, got {edges}")
    axes = tuple(range(-ndim, 0))
    shape = pred.shape[-ndim:]
    kmag = radial_wavenumber(shape)
    # rfft halves the last axis: every coefficient except k = 0 and Nyquist stands for two.
    weight = np.full(shape[:-1] + (shape[-1] // 2 + 1,), 2.0)
    weight[..., 0] = 1.0
    if shape[-1] % 2 == 0:
        weight[..., -1] = 1.0
    err_hat = np.abs(np.fft.rfftn(pred - true, axes=axes)) ** 2 * weight
    true_hat = np.abs(np.fft.rfftn(true, axes=axes)) ** 2 * weight
    n_sample = pred.shape[0]
    total = true_hat.reshape(n_sample, -1).sum(axis=1)
    k_nyq = min(shape) // 2
    lo, mid = edges[0] * k_nyq, edges[1] * k_nyq
    masks = {"low": kmag < lo, "mid": (kmag >= lo) & (kmag < mid), "high": kmag >= mid}
    out = {}
    for name, mask in masks.items():
        e = (err_hat * mask).reshape(n_sample, -1).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = np.sqrt(e / total)
    return out
