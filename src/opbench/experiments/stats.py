"""Confidence intervals over seeds and the verdict they imply: pure functions on numbers.

Interval: the mean of the per-seed effects and its two-sided 95% Student-t interval,
``mean +/- t_{0.975, n-1} s / sqrt(n)`` with ``s`` the sample standard deviation over seeds. The
t-interval (rather than a bootstrap) because with 3 to 5 seeds a bootstrap cannot produce an
interval wider than the observed range, which understates the uncertainty badly.

Verdict: with the claim's direction d (+1 claims the effect is positive, -1 negative) and a
threshold (0 unless stated), the claim "holds" when the whole interval lies beyond the threshold
in direction d, "does not hold" when the whole interval lies beyond it in the opposite direction,
and is "inconclusive" when the interval contains the threshold (or there are too few seeds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sstats

VERDICTS = ("holds", "does not hold", "inconclusive", "not run")


@dataclass(frozen=True)
class Interval:
    """Mean and 95% interval of an effect over ``n`` seeds."""

    mean: float
    low: float
    high: float
    n: int

    def text(self, fmt: str = ".3g") -> str:
        if not math.isfinite(self.mean):
            return "–"
        return f"{self.mean:{fmt}} [{self.low:{fmt}}, {self.high:{fmt}}]"


def mean_interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """Student-t interval of the mean of ``values`` (non-finite values dropped).

    One finite value gives an infinite interval around it; none gives NaNs.
    """
    x = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, -math.inf, math.inf, 1)
    half = float(sstats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n)


def verdict(interval: Interval, direction: int = 1, threshold: float = 0.0) -> str:
    """'holds' / 'does not hold' / 'inconclusive' from an interval (see the module docstring)."""
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    if interval.n < 2 or not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return "inconclusive"
    lo, hi = (interval.low - threshold) * direction, (interval.high - threshold) * direction
    lo, hi = min(lo, hi), max(lo, hi)
    if lo > 0:
        return "holds"
    if hi < 0:
        return "does not hold"
    return "inconclusive"


def paired_differences(a: dict[int, float], b: dict[int, float]) -> list[float]:
    """a[s] - b[s] for the seeds present in both (independent runs paired by seed index, so the
    differences are i.i.d. with mean E[a] - E[b])."""
    return [a[s] - b[s] for s in sorted(set(a) & set(b))]
