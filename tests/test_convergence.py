"""Discretization-convergence check: the rate fit, exact resampling, and the aliasing measure."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from opbench.evaluation.convergence import (
    aliasing_table,
    band_limit,
    convergence_table,
    expected_rate,
    fit_rate,
    kept_mode_rate,
    outputs_on_grids,
    sample_on_grid,
)
from opbench.models import build_model

GRIDS = [32, 64, 128, 256, 512, 1024, 2048]


def test_rate_fit_recovers_a_known_rate_on_a_synthetic_sequence() -> None:
    ns = np.array([32, 64, 128, 256, 512, 1024, 2048, 4096])
    noise = 1 + 0.02 * np.random.default_rng(0).standard_normal(ns.size)
    fit = fit_rate(ns, 2.5 * ns**-1.7 * noise)
    assert fit["rate"] == pytest.approx(1.7, abs=0.03) and fit["constant"] == pytest.approx(2.5, rel=0.2)
    assert fit["r2"] > 0.999
    exact = fit_rate(ns, 0.1 * ns**-0.5)
    assert exact["rate"] == pytest.approx(0.5, abs=1e-12) and exact["r2"] == pytest.approx(1.0)
    # Converged-to-zero entries are left out rather than breaking the log.
    assert fit_rate([8, 16, 32], [1e-2, 2.5e-3, 0.0])["rate"] == pytest.approx(2.0)
    assert np.isnan(fit_rate([8], [1e-2])["rate"])
    # Points at the rounding floor are not part of the rate.
    floored = fit_rate(ns, np.maximum(3.0 * ns**-2.0, 1e-6), floor=2e-6)
    assert floored["rate"] == pytest.approx(2.0, abs=1e-9) and floored["points"] == 6


def _power_law_coeffs(beta: float, band: int, samples: int = 4) -> np.ndarray:
    """rfft coefficients |c_k| = k^-beta with random phases (k >= 1), zero mean."""
    rng = np.random.default_rng(1)
    k = np.arange(band + 1)
    amp = np.where(k > 0, np.maximum(k, 1.0) ** -beta, 0.0)
    return amp * np.exp(2j * np.pi * rng.random((samples, band + 1)))


def test_sampling_is_exact_when_resolved_and_aliases_when_not() -> None:
    c = _power_law_coeffs(2.0, 10)
    for n in (21, 32, 64):
        assert np.allclose(band_limit(sample_on_grid(c, n), 10), c, atol=1e-12)
    under = band_limit(sample_on_grid(c, 16), 7)
    assert not np.allclose(under, c[:, :8], atol=1e-3)


def test_convergence_rate_of_a_spectral_projection_matches_the_inputs_decay() -> None:
    """Low-pass filtering (keep k < 8) by the grid DFT: the aliased modes k + j n make the error ~ n^-beta."""
    def low_pass(a: np.ndarray) -> np.ndarray:
        c = np.fft.rfft(a, axis=-1, norm="forward")
        c[..., 8:] = 0
        return np.fft.irfft(c, n=a.shape[-1], axis=-1, norm="forward")

    for beta in (1.5, 2.5):
        coeffs = _power_law_coeffs(beta, 8192)
        table = convergence_table(outputs_on_grids(low_pass, coeffs, [*GRIDS, 16384]))
        fit = fit_rate(table["n"], table["err_to_finest"])
        assert fit["rate"] == pytest.approx(beta, abs=0.15), (beta, table)
        assert fit_rate(table["n"], table["successive"])["rate"] == pytest.approx(beta, abs=0.15)


def test_aliasing_of_a_pointwise_square_appears_only_below_twice_its_band() -> None:
    """u^2 of a band-5 input has band 10: grids with n/2 > 10 hold it exactly, smaller ones alias."""
    coeffs = _power_law_coeffs(1.0, 5)
    square = aliasing_table(outputs_on_grids(lambda a: a**2, coeffs, [16, 24, 32, 64, 256]))
    by_n = dict(zip(square["n"], square["aliasing"], strict=True))
    assert by_n[16] > 1e-3 and by_n[24] < 1e-12 and by_n[32] < 1e-12 and by_n[64] < 1e-12
    identity = aliasing_table(outputs_on_grids(lambda a: a, coeffs, [16, 32, 256]))
    assert identity["aliasing"].max() < 1e-12


def test_fno_aliasing_comes_from_its_activation() -> None:
    """The same FNO with its activation replaced by the identity is alias-free on band-limited input;
    with GELU it is not, and its aliasing falls as the grid grows."""
    torch.manual_seed(0)
    model = build_model("fno", in_channels=1, out_channels=1, grid=(64,), modes=6, width=8, layers=3).double()

    def apply(a: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(a)).numpy()

    coeffs = 3 * _power_law_coeffs(1.0, 4)
    gelu = aliasing_table(outputs_on_grids(apply, coeffs, [16, 32, 64, 128, 1024]))
    assert gelu["aliasing"].iloc[0] > 1e-6
    assert gelu["aliasing"].is_monotonic_decreasing
    model.act = lambda x: x
    linear = aliasing_table(outputs_on_grids(apply, coeffs, [16, 32, 64, 128, 1024]))
    assert linear["aliasing"].max() < 1e-10


def test_expected_rates_of_grf_inputs() -> None:
    assert expected_rate(2.0) == 1.5 and expected_rate(2.5, ndim=2) == 1.5
    assert kept_mode_rate(2.0) == 2.0
