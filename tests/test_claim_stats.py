"""Verdict logic and band errors on synthetic numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from opbench.evaluation.bands import band_errors
from opbench.evaluation.metrics import rel_l2
from opbench.experiments.stats import Interval, mean_interval, paired_differences, verdict


def test_t_interval_matches_the_textbook_formula() -> None:
    iv = mean_interval([1.0, 2.0, 3.0])
    # mean 2, s = 1, t_{0.975, 2} = 4.302653
    assert iv.mean == 2.0 and iv.n == 3
    assert iv.high - 2.0 == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    assert iv.low == pytest.approx(4.0 - iv.high)
    assert mean_interval([5.0]).low == -math.inf
    assert math.isnan(mean_interval([math.nan]).mean)


@pytest.mark.parametrize(("values", "direction", "expected"), [
    ([0.9, 1.0, 1.1], 1, "holds"),              # excludes zero, claimed direction
    ([0.9, 1.0, 1.1], -1, "does not hold"),     # excludes zero, opposite direction
    ([-1.0, -0.9, -1.1], 1, "does not hold"),
    ([-1.0, 0.5, 1.5], 1, "inconclusive"),      # straddles zero
    ([-1.0, 0.5, 1.5], -1, "inconclusive"),
    ([2.0], 1, "inconclusive"),                 # one seed: no interval
])
def test_verdict_from_the_interval(values: list[float], direction: int, expected: str) -> None:
    assert verdict(mean_interval(values), direction) == expected


def test_verdict_threshold_and_bad_direction() -> None:
    iv = Interval(0.5, 0.3, 0.7, 3)
    assert verdict(iv, 1, threshold=0.2) == "holds"
    assert verdict(iv, 1, threshold=0.5) == "inconclusive"
    assert verdict(iv, 1, threshold=0.8) == "does not hold"
    with pytest.raises(ValueError, match="direction"):
        verdict(iv, 0)


def test_paired_differences_use_common_seeds() -> None:
    assert paired_differences({0: 3.0, 1: 5.0, 2: 1.0}, {1: 1.0, 2: 2.0, 7: 9.0}) == [4.0, -1.0]


def test_band_errors_split_the_total_error_by_wavenumber() -> None:
    n = 64
    x = np.arange(n) / n
    true = np.sin(2 * np.pi * x)[None] + 0.0 * x
    low_err = 0.1 * np.cos(2 * np.pi * 2 * x)     # |k| = 2 < 8: low
    mid_err = 0.2 * np.sin(2 * np.pi * 10 * x)    # 8 <= 10 < 16: mid
    high_err = 0.05 * np.cos(2 * np.pi * 32 * x)  # Nyquist: high
    pred = true + low_err + mid_err + high_err
    bands = band_errors(pred, true)
    assert bands["low"][0] == pytest.approx(0.1, rel=1e-10)
    assert bands["mid"][0] == pytest.approx(0.2, rel=1e-10)
    # the Nyquist cosine has twice the energy of a paired mode relative to sin's
    assert bands["high"][0] == pytest.approx(0.05 * math.sqrt(2), rel=1e-10)
    total = sum(b**2 for b in bands.values())
    assert total[0] == pytest.approx(rel_l2(pred, true)[0] ** 2, rel=1e-10)


def test_band_errors_2d_add_up_to_the_total() -> None:
    rng = np.random.default_rng(0)
    true, pred = rng.standard_normal((2, 3, 16, 16))
    bands = band_errors(pred, true, ndim=2)
    np.testing.assert_allclose(sum(b**2 for b in bands.values()), rel_l2(pred, true) ** 2, rtol=1e-10)
