"""Distances between the distributions of generated and reference fields (numpy only).

For judging a generative model by physics statistics of its samples rather than by pointwise error:
- ``wasserstein1(a, b)``: W1 between the empirical distributions of all values (e.g. vorticity), the
  mean absolute difference of the two quantile functions (exact for equal sample sizes);
- ``histogram_tv(a, b)``: total variation 1/2 sum |h_a - h_b| of histograms on common bins (0 to 1);
- ``spectrum_log_error(a, b)``: mean over shells k = 1..n/2 of |log E_a(k) - log E_b(k)| of the
  sample-mean energy spectra (``opbench.evaluation.spectra.energy_spectrum``).
"""

from __future__ import annotations

import numpy as np

from opbench.evaluation.spectra import energy_spectrum


def wasserstein1(a: np.ndarray, b: np.ndarray, levels: int = 4096) -> float:
    """W1 of the value distributions of ``a`` and ``b`` (any shapes; all values pooled)."""
    a, b = np.sort(np.ravel(a).astype(np.float64)), np.sort(np.ravel(b).astype(np.float64))
    if a.size == 0 or b.size == 0:
        raise ValueError("wasserstein1 needs non-empty samples")
    if a.size == b.size:
        return float(np.abs(a - b).mean())
    u = (np.arange(levels) + 0.5) / levels
    return float(np.abs(np.quantile(a, u) - np.quantile(b, u)).mean())


def histogram_tv(a: np.ndarray, b: np.ndarray, bins: int = 64) -> float:
    """Total variation distance between histograms of the pooled values on common edges."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    ha = np.histogram(a, edges)[0] / a.size
    hb = np.histogram(b, edges)[0] / b.size
    return float(0.5 * np.abs(ha - hb).sum())


def spectrum_log_error(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |log E_a(k) - log E_b(k)| over k = 1..n/2 of the mean energy spectra of fields (N, n, n)."""
    sa, sb = energy_spectrum(a), energy_spectrum(b)
    ea = sa.reshape(-1, sa.shape[-1]).mean(0)
    eb = sb.reshape(-1, sb.shape[-1]).mean(0)
    n = np.shape(a)[-1]
    k = slice(1, n // 2 + 1)
    tiny = np.finfo(np.float64).tiny
    return float(np.abs(np.log(np.maximum(ea[k], tiny)) - np.log(np.maximum(eb[k], tiny))).mean())
