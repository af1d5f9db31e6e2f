"""The one confidence interval of the project: the mean over seeds and its two-sided Student-t interval.

``mean +/- t_{(1+level)/2, n-1} s / sqrt(n)``. It lives at the base level so that the claims
(``opbench.experiments``) and the physics rows (``opbench.report``) share it without importing
each other. The t-interval rather than a normal one because 3 to 5 seeds are far too few for 1.96.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sstats


@dataclass(frozen=True)
class Interval:
    """Mean and interval of an effect over ``n`` seeds."""

    mean: float
    low: float
    high: float
    n: int


def finite(values: Sequence[float]) -> np.ndarray:
    """The finite entries of ``values`` as float64."""
    return np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)


def mean_interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """Student-t interval of the mean of ``values`` (non-finite values dropped).

    One finite value gives an infinite interval around it; none gives NaNs.
    """
    x = finite(values)
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, -math.inf, math.inf, 1)
    half = float(sstats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n)
