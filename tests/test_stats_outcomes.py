"""The four outcomes (holds / does not hold / equivalent / inconclusive), TOST, Holm, the
convergence flag and the hierarchical bootstrap, on synthetic numbers with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sstats

from opbench.experiments.stats import (
    Decision,
    decide,
    hierarchical_bootstrap,
    holm,
    holm_outcomes,
    mean_interval,
    not_converged,
    one_sided_p,
    tost_p,
)

MARGIN = math.log(1.3)


def _with_interval(mean: float, low: float, n: int = 3) -> list[float]:
    """n values whose mean and 95% t-interval are mean and [low, 2 mean - low]."""
    half = mean - low
    sd = half * math.sqrt(n) / sstats.t.ppf(0.975, n - 1)
    z = np.linspace(-1, 1, n)
    return list(mean + sd * z / z.std(ddof=1))


@pytest.mark.parametrize(("values", "direction", "expected"), [
    ([1.0, 1.1, 0.9, 1.05, 0.95], 1, "holds"),              # well beyond +margin
    ([1.0, 1.1, 0.9, 1.05, 0.95], -1, "does not hold"),     # the claim says negative: the opposite holds
    ([-1.0, -1.1, -0.9, -1.05, -0.95], 1, "does not hold"),
    ([0.01, -0.02, 0.0, 0.015, -0.01], 1, "equivalent"),    # inside +-log 1.3
    ([-1.0, 0.5, 1.5], 1, "inconclusive"),                  # straddles everything
    ([2.0], 1, "inconclusive"),                             # one seed: no test
])
def test_the_four_outcomes(values: list[float], direction: int, expected: str) -> None:
    d = decide(values, direction, MARGIN)
    outcome = d.outcome if d.p <= 0.05 else "inconclusive"
    assert outcome == expected, d


def test_the_issues_two_examples_change_verdict_with_a_margin() -> None:
    """Claim 1 of the old table, 0.45 [0.19, 0.71]: 'holds' without a margin, inconclusive with log 1.3
    (its lower bound is below the margin). Claim 2, -0.035 [-0.086, 0.017]: inconclusive without a
    margin, 'equivalent' with it."""
    c1 = _with_interval(0.45, 0.19)
    iv = mean_interval(c1)
    assert iv.low == pytest.approx(0.19) and iv.high == pytest.approx(0.71)
    assert decide(c1, 1, 0.0).outcome == "holds" and decide(c1, 1, 0.0).p < 0.05
    assert decide(c1, 1, MARGIN).p > 0.05
    c2 = _with_interval(-0.035, -0.086)
    assert decide(c2, 1, 0.0).p > 0.05
    d2 = decide(c2, 1, MARGIN)
    assert d2.outcome == "equivalent" and d2.p < 0.05


def test_one_sided_and_tost_p_match_scipy() -> None:
    x = [0.05, -0.1, 0.12, 0.02, -0.03, 0.08]
    assert one_sided_p(x, 0.2, greater=False) == pytest.approx(
        sstats.ttest_1samp(x, 0.2, alternative="less").pvalue, rel=1e-12)
    assert one_sided_p(x, -0.2, greater=True) == pytest.approx(
        sstats.ttest_1samp(x, -0.2, alternative="greater").pvalue, rel=1e-12)
    lower = sstats.ttest_1samp(x, -MARGIN, alternative="greater").pvalue
    upper = sstats.ttest_1samp(x, MARGIN, alternative="less").pvalue
    assert tost_p(x, MARGIN) == pytest.approx(max(lower, upper), rel=1e-12)
    assert tost_p(x, 0.0) == 1.0  # nothing is equivalent within a zero margin
    # TOST at alpha = 0.05 is the 90% interval inside +-margin
    iv90 = mean_interval(x, level=0.90)
    margin = max(abs(iv90.low), abs(iv90.high))
    assert tost_p(x, margin * 1.001) < 0.05 < tost_p(x, margin * 0.999)


def test_without_a_margin_the_rule_is_the_two_sided_interval() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        x = list(rng.normal(rng.uniform(-1, 1), 0.5, size=4))
        iv = mean_interval(x)
        d = decide(x, 1, 0.0)
        excludes_zero = iv.low > 0 or iv.high < 0
        assert (d.p <= 0.05) == excludes_zero
        if excludes_zero:
            assert d.outcome == ("holds" if iv.low > 0 else "does not hold")


def test_constant_values_and_bad_arguments() -> None:
    assert decide([0.5, 0.5, 0.5], 1, 0.1).outcome == "holds"
    assert decide([0.5, 0.5, 0.5], 1, 0.1).p == 0.0
    assert decide([0.05, 0.05], 1, 0.1).outcome == "equivalent"
    with pytest.raises(ValueError, match="direction"):
        decide([1.0, 2.0], 0)
    with pytest.raises(ValueError, match="margin"):
        decide([1.0, 2.0], 1, -0.1)


def test_holm_adjusts_step_down_and_stays_monotone() -> None:
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> raised to 0.06
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_holm_turns_a_marginal_claim_inconclusive() -> None:
    """Six claims: two strong ones stay, a marginal one (p = 0.03) passes alone but not among six."""
    d = [Decision("holds", p, p, 1.0, 1.0) for p in (0.001, 0.002, 0.03, 0.5, 0.6, 0.7)]
    got = holm_outcomes(d, alpha=0.05)
    assert [o for o, _ in got] == ["holds", "holds", "inconclusive", "inconclusive", "inconclusive", "inconclusive"]
    assert got[2][1] == pytest.approx(0.12)
    assert holm_outcomes(d[2:3])[0][0] == "holds"
    with pytest.raises(ValueError, match="alpha"):
        holm_outcomes(d, alpha=0)


@pytest.mark.parametrize(("best", "epochs", "flag"), [
    (90, 100, False), (91, 100, True), (100, 100, True), (1, 100, False),
    (4, 5, False), (5, 5, True), (1, 1, True), (17, 20, False), (19, 20, True),
])
def test_not_converged_flags_a_best_epoch_in_the_last_tenth(best: int, epochs: int, flag: bool) -> None:
    assert not_converged(best, epochs) is flag


def test_not_converged_refuses_an_impossible_epoch() -> None:
    with pytest.raises(ValueError, match="best_epoch must lie in 1..epochs"):
        not_converged(0, 10)
    with pytest.raises(ValueError, match="best_epoch"):
        not_converged(11, 10)


def test_hierarchical_bootstrap_carries_the_between_seed_variation() -> None:
    """Seeds that disagree widen the interval beyond what the test samples alone would give, and the
    interval covers the grand mean; identical seeds give about the within-seed interval."""
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.1, size=(8, 200))
    spread = {s: 1.0 + 0.5 * (s - 3.5) / 3.5 + noise[s] for s in range(8)}
    same = {s: 1.0 + noise[s] for s in range(8)}
    wide, narrow = hierarchical_bootstrap(spread), hierarchical_bootstrap(same)
    assert wide.low < wide.mean < wide.high and narrow.low < 1.0 < narrow.high
    assert (wide.high - wide.low) > 5 * (narrow.high - narrow.low)
    # no true seed effect: resampling seeds re-counts the seed means' own sampling noise, so the
    # variance is twice the 1600-sample one (the two-stage bootstrap's known conservative bias)
    assert narrow.high - narrow.low == pytest.approx(2 * 1.96 * math.sqrt(2) * 0.1 / math.sqrt(1600), rel=0.2)
    assert hierarchical_bootstrap(spread) == wide  # deterministic
    assert math.isnan(hierarchical_bootstrap({}).mean)
