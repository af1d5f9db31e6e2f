"""Small spectral helpers shared by the periodic solvers (numpy/scipy only)."""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft


def wavenumbers(n: int, ndim: int) -> list[np.ndarray]:
    """Integer wavenumbers of an ``rfftn`` layout on ``n`` points per axis, broadcastable.

    The last axis holds 0..n//2 (real FFT); the others the signed ``fftfreq`` order.
    """
    ks = []
    for axis in range(ndim):
        k = sfft.rfftfreq(n, 1.0 / n) if axis == ndim - 1 else sfft.fftfreq(n, 1.0 / n)
        shape = [1] * ndim
        shape[axis] = k.size
        ks.append(k.reshape(shape))
    return ks


def fourier_resample(u: np.ndarray, m: int, ndim: int = 1) -> np.ndarray:
    """Trigonometric interpolation of periodic samples on the last ``ndim`` axes to ``m`` points.

    Exact for band-limited functions whose modes fit both grids; used to put the same input
    function on a finer grid for refinement checks. Separable: one real 1D resampling per axis,
    where an even grid's Nyquist mode is split evenly between +k and -k so the result stays real.
    """
    out = u
    for axis in range(-ndim, 0):
        out = np.moveaxis(_resample_last(np.moveaxis(out, axis, -1), m), -1, axis)
    return out


def _resample_last(u: np.ndarray, m: int) -> np.ndarray:
    n = u.shape[-1]
    if m == n:
        return u.copy()
    spec = sfft.rfft(u, axis=-1, norm="forward")
    out = np.zeros(u.shape[:-1] + (m // 2 + 1,), dtype=spec.dtype)
    keep = (min(n, m) + 1) // 2  # modes strictly below the smaller Nyquist are copied as they are
    out[..., :keep] = spec[..., :keep]
    if n % 2 == 0 and m > n:  # split the old Nyquist mode between +k and -k
        out[..., n // 2] = spec[..., n // 2] / 2.0
    if m % 2 == 0 and m < n:  # the new Nyquist mode sees cos at full amplitude and sin as zero
        out[..., m // 2] = 2.0 * spec[..., m // 2].real
    return sfft.irfft(out, n=m, axis=-1, norm="forward")
