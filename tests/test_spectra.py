"""Vorticity spectra of fields whose spectra are known, enstrophy, per-step errors."""

from __future__ import annotations

import numpy as np
import pytest

from opbench.evaluation import spectra

TWO_PI = 2 * np.pi


def _grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n) / n
    return np.meshgrid(x, x, indexing="ij")


def test_a_single_fourier_mode_lands_in_its_shell_with_its_enstrophy() -> None:
    xx, yy = _grid(32)
    w = 3.0 * np.cos(TWO_PI * (3 * xx + 4 * yy))  # |k| = 5
    z = spectra.enstrophy_spectrum(w)
    assert z[5] == pytest.approx(0.5 * 9.0 / 2.0, rel=1e-12)  # 1/2 mean(w^2)
    assert np.abs(np.delete(z, 5)).max() < 1e-20
    assert z.sum() == pytest.approx(spectra.total_enstrophy(w), rel=1e-12)


def test_energy_spectrum_matches_the_kinetic_energy_of_the_exact_velocity() -> None:
    n = 32
    xx, yy = _grid(n)
    phase = TWO_PI * (3 * xx + 4 * yy)
    k2 = TWO_PI**2 * 25.0
    w = np.cos(phase)  # psi = w / k2, u = psi_y, v = -psi_x
    u = -TWO_PI * 4 * np.sin(phase) / k2
    v = TWO_PI * 3 * np.sin(phase) / k2
    e = spectra.energy_spectrum(w)
    assert e[5] == pytest.approx(0.5 * np.mean(u**2 + v**2), rel=1e-12)
    assert np.abs(np.delete(e, 5)).max() < 1e-20


def test_spectra_of_a_mix_sum_by_shell_and_batch() -> None:
    xx, yy = _grid(16)
    w = np.stack([np.sin(TWO_PI * xx) + 2 * np.cos(TWO_PI * 2 * yy), np.sin(TWO_PI * (xx + yy))])
    z = spectra.enstrophy_spectrum(w)
    assert z.shape[0] == 2
    assert z[0, 1] == pytest.approx(0.25) and z[0, 2] == pytest.approx(1.0)
    assert z[1, 1] == pytest.approx(0.25)  # |(1, 1)| = 1.41 rounds to shell 1
    np.testing.assert_allclose(z.sum(axis=1), spectra.total_enstrophy(w), rtol=1e-12)


def test_enstrophy_error_and_per_step_error() -> None:
    rng = np.random.default_rng(0)
    true = rng.standard_normal((3, 4, 8, 8))
    pred = true.copy()
    pred[:, 2] *= 1.1
    ens = spectra.enstrophy_rel_error(pred, true)
    np.testing.assert_allclose(ens[:, 2], 0.21, rtol=1e-12)
    assert np.abs(np.delete(ens, 2, axis=1)).max() == 0.0
    err = spectra.per_step_rel_l2(pred, true)
    np.testing.assert_allclose(err[:, 2], 0.1, rtol=1e-12)
    assert err.shape == (3, 4) and np.abs(np.delete(err, 2, axis=1)).max() == 0.0


def test_non_square_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="square"):
        spectra.enstrophy_spectrum(np.zeros((4, 6)))
