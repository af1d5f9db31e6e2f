"""Physics metrics of 2D periodic vorticity fields (pure numpy): spectra and total enstrophy.

Fields are (..., n, n) on the unit torus with n points per axis (x along axis -2, y along -1).
Fourier coefficients are normalised as f_hat(k) = mean_x f(x) exp(-2 pi i k.x), so Parseval reads
mean(f^2) = sum_k |f_hat(k)|^2, and a shell k collects the modes with round(|k|) = k.

- ``enstrophy_spectrum(w)``: Z(k) = 1/2 sum_shell |w_hat|^2, summing to the total enstrophy
  ``total_enstrophy(w)`` = 1/2 mean(w^2).
- ``energy_spectrum(w)``: E(k) = 1/2 sum_shell |u_hat|^2 + |v_hat|^2 of the velocity of w
  (u = psi_y, v = -psi_x, -Lap psi = w), i.e. |w_hat|^2 / (2 pi |k|)^2 per mode; it sums to the
  kinetic energy 1/2 mean(u^2 + v^2).
"""

from __future__ import annotations

import numpy as np

TWO_PI = 2.0 * np.pi


def _modes(n: int) -> tuple[np.ndarray, np.ndarray]:
    k = np.fft.fftfreq(n, 1.0 / n)
    return k[:, None], k[None, :]


def shell_index(n: int) -> np.ndarray:
    """round(|k|) of every mode of an n x n grid (fft order), shape (n, n)."""
    kx, ky = _modes(n)
    return np.rint(np.sqrt(kx**2 + ky**2)).astype(np.int64)


def _radial(power: np.ndarray) -> np.ndarray:
    """Sum a (..., n, n) array of per-mode values over shells: (..., n_shells)."""
    n = power.shape[-1]
    shells = shell_index(n).ravel()
    flat = power.reshape(-1, n * n)
    out = np.zeros((flat.shape[0], int(shells.max()) + 1))
    for row, p in zip(out, flat, strict=True):
        row += np.bincount(shells, weights=p, minlength=row.size)
    return out.reshape(*power.shape[:-2], -1)


def _check(field: np.ndarray) -> np.ndarray:
    f = np.asarray(field, dtype=np.float64)
    if f.ndim < 2 or f.shape[-1] != f.shape[-2]:
        raise ValueError(f"expected square periodic fields (..., n, n), got shape {f.shape}")
    return f


def mode_power(field: np.ndarray) -> np.ndarray:
    """|f_hat(k)|^2 per mode (..., n, n), normalised so it sums to mean(f^2)."""
    f = _check(field)
    n = f.shape[-1]
    return np.abs(np.fft.fft2(f) / (n * n)) ** 2


def enstrophy_spectrum(w: np.ndarray) -> np.ndarray:
    """Z(k) = 1/2 sum over shell k of |w_hat|^2, shape (..., n_shells); k = 0, 1, ..."""
    return 0.5 * _radial(mode_power(w))


def energy_spectrum(w: np.ndarray) -> np.ndarray:
    """Kinetic-energy spectrum E(k) of the velocity induced by the vorticity w, shape (..., n_shells)."""
    f = _check(w)
    kx, ky = _modes(f.shape[-1])
    k2 = TWO_PI**2 * (kx**2 + ky**2)
    inv = np.zeros_like(k2)
    inv[k2 > 0] = 1.0 / k2[k2 > 0]
    return 0.5 * _radial(mode_power(f) * inv)


def total_enstrophy(w: np.ndarray) -> np.ndarray:
    """1/2 mean(w^2) over the last two axes."""
    f = _check(w)
    return 0.5 * (f**2).mean(axis=(-2, -1))


def enstrophy_rel_error(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """|Z(pred) - Z(true)| / Z(true) per field, shape of the leading axes (e.g. (N, steps))."""
    z_true = total_enstrophy(true)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(total_enstrophy(pred) - z_true) / z_true


def per_step_rel_l2(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Relative L2 error of every sample at every step: (N, steps, *grid) -> (N, steps)."""
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(true, dtype=np.float64)
    if p.shape != t.shape or p.ndim < 3:
        raise ValueError(f"expected equal (N, steps, *grid) shapes, got {p.shape} and {t.shape}")
    d = np.sqrt(((p - t) ** 2).reshape(*p.shape[:2], -1).sum(axis=-1))
    r = np.sqrt((t**2).reshape(*t.shape[:2], -1).sum(axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return d / r
