"""Intervals, tests and verdicts over seeds: pure functions on numbers (issue 11).

Interval: ``mean_interval`` (``opbench.intervals``), the mean and its two-sided Student-t interval
``mean +/- t_{(1+level)/2, n-1} s / sqrt(n)``, the one interval function of the report (claims
and the physics rows alike). The t-interval rather than a bootstrap over 3 to 5 seeds, because a
bootstrap cannot be wider than the observed range and so understates the uncertainty badly;
``hierarchical_bootstrap`` exists for effects with many test samples per seed.

Outcomes of a claim whose primary effect theta is asserted to be positive in direction d
(d theta > 0) with an equivalence margin delta >= 0 (e.g. log 1.3):

- "holds": d theta > delta, by a one-sided t-test of H0: d theta <= delta;
- "does not hold": d theta < -delta (the opposite effect, beyond the margin), H0: d theta >= -delta;
- "equivalent": |theta| < delta, by two one-sided tests (TOST; H0: |theta| >= delta);
- "inconclusive": none of these is established (an effect significantly below the margin but not
  inside +-delta is inconclusive too: it is neither a meaningful effect nor shown negligible).

Each claim gets one p-value, that of its most significant outcome: 2 p for the two directional
tests (so that with delta = 0 the rule is the two-sided 95% interval excluding zero) and the TOST p
for equivalence. Whatever the true effect, a wrong outcome needs the one-sided bound on the wrong
side of it, so this p is valid for "the outcome is wrong", and Holm's step-down correction over the
claims of one report controls the chance that any claim's outcome is wrong at alpha.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sstats

from opbench.intervals import Interval, mean_interval  # noqa: F401 - the claims code imports them from here
from opbench.intervals import finite as _finite

OUTCOMES = ("holds", "does not hold", "equivalent", "inconclusive")


def verdict(interval: Interval, direction: int = 1, threshold: float = 0.0) -> str:
    """'holds' / 'does not hold' / 'inconclusive' from an interval lying beyond ``threshold`` or not
    (the rule without a margin; ``decide`` and ``holm_outcomes`` give the four outcomes)."""
    _check_direction(direction)
    if interval.n < 2 or not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return "inconclusive"
    lo, hi = (interval.low - threshold) * direction, (interval.high - threshold) * direction
    lo, hi = min(lo, hi), max(lo, hi)
    if lo > 0:
        return "holds"
    if hi < 0:
        return "does not hold"
    return "inconclusive"


def _check_direction(direction: int) -> None:
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")


def one_sided_p(values: Sequence[float], bound: float, greater: bool = True) -> float:
    """p-value of the one-sided t-test of H0: mean <= bound (``greater``) or H0: mean >= bound.

    Fewer than two finite values give 1. Values with no spread give 0 when their mean lies strictly
    on the alternative's side of ``bound``, else 1.
    """
    x = _finite(values)
    if x.size < 2:
        return 1.0
    gap = (x.mean() - bound) if greater else (bound - x.mean())
    sd = x.std(ddof=1)
    if sd == 0 or not math.isfinite(sd):
        return 0.0 if gap > 0 else 1.0
    return float(sstats.t.sf(gap / (sd / math.sqrt(x.size)), x.size - 1))


def tost_p(values: Sequence[float], margin: float) -> float:
    """Two one-sided tests of H0: |mean| >= margin: the larger of the two one-sided p-values (1 when
    the margin is zero, since nothing is equivalent to zero within no margin)."""
    if margin <= 0:
        return 1.0
    return max(one_sided_p(values, -margin, greater=True), one_sided_p(values, margin, greater=False))


@dataclass(frozen=True)
class Decision:
    """A claim's candidate outcome and its p-value, before the correction across claims."""

    outcome: str
    p: float
    p_holds: float
    p_not: float
    p_equivalent: float


def decide(values: Sequence[float], direction: int = 1, margin: float = 0.0) -> Decision:
    """The most significant of the three outcomes for per-seed effects ``values`` (module docstring)."""
    _check_direction(direction)
    if margin < 0 or not math.isfinite(margin):
        raise ValueError(f"margin must be a finite number >= 0, got {margin}")
    y = [direction * v for v in values]
    p_holds = min(1.0, 2 * one_sided_p(y, margin, greater=True))
    p_not = min(1.0, 2 * one_sided_p(y, -margin, greater=False))
    p_eq = tost_p(y, margin)
    p, outcome = min((p_holds, "holds"), (p_not, "does not hold"), (p_eq, "equivalent"), key=lambda t: t[0])
    return Decision(outcome, p, p_holds, p_not, p_eq)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (same order as given): p_(i) times (m - i), made monotone."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def holm_outcomes(decisions: Sequence[Decision], alpha: float = 0.05) -> list[tuple[str, float]]:
    """(outcome, Holm-adjusted p) per claim: the candidate outcome where the adjusted p <= alpha,
    else 'inconclusive'."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    adjusted = holm([d.p for d in decisions])
    return [(d.outcome if q <= alpha else "inconclusive", q) for d, q in zip(decisions, adjusted, strict=True)]


def not_converged(best_epoch: int, epochs: int, tail: float = 0.1) -> bool:
    """True when the best validation epoch (1-based) lies in the last ``tail`` fraction of the epochs:
    validation was still improving when training stopped, so more budget may change the result."""
    if epochs < 1 or not 1 <= best_epoch <= epochs:
        raise ValueError(f"best_epoch must lie in 1..epochs, got {best_epoch} of {epochs}")
    return best_epoch > epochs - max(1, math.ceil(tail * epochs))


def hierarchical_bootstrap(per_seed: Mapping[int, Sequence[float]], level: float = 0.95, n_boot: int = 2000,
                           seed: int = 0) -> Interval:
    """Percentile interval of the grand mean, resampling seeds and then test samples within each seed.

    ``per_seed`` maps a seed to its per-test-sample effects. The two levels carry the two sources of
    variation: training (between seeds) and the test set (within a seed). Conservative: the seed
    level re-counts the seed means' own test-set noise (with no true seed effect the variance is
    twice the pooled one). With few seeds it shares the bootstrap's limits (module docstring).
    """
    groups = [_finite(v) for _, v in sorted(per_seed.items())]
    groups = [g for g in groups if g.size]
    if not groups:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(np.mean([g.mean() for g in groups]))
    rng = np.random.default_rng(seed)
    k = len(groups)
    stats = np.empty(n_boot)
    for b in range(n_boot):
        picked = rng.integers(0, k, size=k)
        stats[b] = np.mean([groups[i][rng.integers(0, groups[i].size, size=groups[i].size)].mean() for i in picked])
    lo, hi = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return Interval(mean, float(lo), float(hi), k)


def robustness(verdicts: Sequence[tuple[str, str]]) -> str:
    """'robust' when a claim's verdict is the same at every budget, else 'depends on budget' with the
    flips in budget order, e.g. 'depends on budget: holds at 1x -> does not hold at 4x'.
    ``verdicts`` holds (budget label, verdict) pairs in increasing budget; one budget alone is not
    evidence of robustness ('one budget')."""
    if not verdicts:
        return "–"
    if len(verdicts) == 1:
        return "one budget"
    if len({v for _, v in verdicts}) == 1:
        return "robust"
    steps = [f"{verdicts[0][1]} at {verdicts[0][0]}"]
    steps += [f"{v} at {b}" for (_, prev), (b, v) in zip(verdicts[:-1], verdicts[1:], strict=True) if v != prev]
    return "depends on budget: " + " -> ".join(steps)


def paired_differences(a: dict[int, float], b: dict[int, float]) -> list[float]:
    """a[s] - b[s] for the seeds present in both (independent runs paired by seed index, so the
    differences are i.i.d. with mean E[a] - E[b])."""
    return [a[s] - b[s] for s in sorted(set(a) & set(b))]
