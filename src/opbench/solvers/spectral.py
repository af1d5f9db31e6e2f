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
    function on a finer grid for refinement checks. The Nyquist mode of an even grid is split
    evenly so the result stays real and symmetric.
    """
    n = u.shape[-1]
    if m == n:
        return u.copy()
    axes = tuple(range(-ndim, 0))
    spec = sfft.rfftn(u, axes=axes, norm="forward")
    out_shape = u.shape[:-ndim] + (m,) * (ndim - 1) + (m // 2 + 1,)
    out = np.zeros(out_shape, dtype=spec.dtype)
    keep = (min(n, m) + 1) // 2  # modes strictly below the smaller Nyquist are copied as they are
    # last (real-FFT) axis
    last = slice(0, keep)
    if ndim == 1:
        out[..., last] = spec[..., last]
        if n % 2 == 0 and m > n:  # split the old Nyquist mode between +k and -k
            out[..., n // 2] = spec[..., n // 2] / 2.0
    else:
        lo = np.r_[0:keep, -keep + 1 : 0] if keep > 1 else np.r_[0:keep]
        idx_in = np.ix_(*([lo % n] * (ndim - 1)), np.arange(keep))
        idx_out = np.ix_(*([lo % m] * (ndim - 1)), np.arange(keep))
        out[(Ellipsis, *idx_out)] = spec[(Ellipsis, *idx_in)]
    return sfft.irfftn(out, s=(m,) * ndim, axes=axes, norm="forward")
