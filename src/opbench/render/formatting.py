"""The one number formatter of the page and of the markdown tables: missing and non-finite values
print as a dash (or a chosen word), integers with thousands separators, the rest by a format spec."""

from __future__ import annotations

import math

MISSING = "–"


def number(value: object, spec: str = ".3g", missing: str = MISSING) -> str:
    """``value`` formatted by ``spec`` (".3g" by default: three significant digits).

    None, NaN, infinities and pandas' NA print as ``missing``; a spec ending in "d" (e.g. ",d")
    rounds to the nearest integer first; text passes through unchanged.
    """
    if value is None or isinstance(value, str):
        return missing if value is None else value
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # pandas.NA and other missing markers
        return missing
    if not math.isfinite(x):
        return missing
    if spec.endswith("d"):
        return format(round(x), spec)
    return format(x, spec)


def interval(mean: object, low: object, high: object, spec: str = ".3g") -> str:
    """'mean [low, high]', each by ``number``."""
    return f"{number(mean, spec)} [{number(low, spec)}, {number(high, spec)}]"


def plain(value: object) -> str:
    """A config value as a reader sees it: 0.001 not 1.0e-3, yes/no, lists comma-separated."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return number(value, ".6g", missing=str(value))
    if isinstance(value, list | tuple):
        return ", ".join(plain(x) for x in value)
    return str(value)
