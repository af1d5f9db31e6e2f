"""The one number formatter (opbench.render.formatting) and the one interval (opbench.intervals)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from opbench.intervals import mean_interval
from opbench.render.formatting import MISSING, interval, number, plain
from opbench.render.html import render, table


@pytest.mark.parametrize("n", [2, 3, 5, 17])
def test_the_interval_is_scipys_student_t_interval_of_the_mean(n: int) -> None:
    x = np.random.default_rng(n).normal(1.5, 0.7, n)
    iv = mean_interval(x)
    low, high = stats.t.interval(0.95, n - 1, loc=x.mean(), scale=stats.sem(x))
    assert iv.n == n and iv.mean == pytest.approx(x.mean(), rel=1e-12)
    assert (iv.low, iv.high) == (pytest.approx(low, rel=1e-10), pytest.approx(high, rel=1e-10))
    wider = mean_interval(x, level=0.99)
    assert wider.low < iv.low and wider.high > iv.high  # a higher level is a wider interval


def test_known_data_gives_the_textbook_interval() -> None:
    # 1, 2, 3: mean 2, s = 1, t_{0.975, 2} = 4.30265 (printed tables) -> 2 +- 4.30265 / sqrt(3)
    iv = mean_interval([1.0, 2.0, 3.0])
    half = 4.30265 / math.sqrt(3)
    assert (iv.low, iv.high) == (pytest.approx(2 - half, rel=1e-5), pytest.approx(2 + half, rel=1e-5))


def test_degenerate_samples() -> None:
    one = mean_interval([5.0, math.nan])  # one finite value: its mean, an interval that says nothing
    assert (one.mean, one.low, one.high, one.n) == (5.0, -math.inf, math.inf, 1)
    none = mean_interval([math.nan, math.inf])
    assert none.n == 0 and all(math.isnan(v) for v in (none.mean, none.low, none.high))
    same = mean_interval([2.0, 2.0, 2.0])  # no spread: a zero-width interval, not NaN
    assert (same.low, same.high) == (2.0, 2.0)
    assert interval(one.mean, one.low, one.high) == f"5 [{MISSING}, {MISSING}]"


@pytest.mark.parametrize("value, spec, text", [
    (0.0123456, ".3g", "0.0123"), (123456.0, ".3g", "1.23e+05"), (1.0, ".3g", "1"), (0.1 + 0.2, ".4g", "0.3"),
    (2.675, ".2f", "2.67"), (np.float32(0.5), ".3g", "0.5"), (np.int64(1234567), ",d", "1,234,567"),
    (1234.6, ",d", "1,235"), (7, ".4g", "7"),
])
def test_number_keeps_the_asked_significant_digits(value: object, spec: str, text: str) -> None:
    assert number(value, spec) == text


def test_significant_digits_hold_over_magnitudes() -> None:
    for exponent in range(-8, 9):
        x = 1.23456789 * 10.0**exponent
        digits = number(x, ".4g").split("e")[0].replace("-", "").replace(".", "").lstrip("0")
        assert len(digits) == 4 and float(number(x, ".4g")) == pytest.approx(x, rel=5e-4)


@pytest.mark.parametrize("missing", [None, math.nan, math.inf, -math.inf, pd.NA, np.float32("nan")])
def test_missing_values_print_as_a_dash_or_the_chosen_word(missing: object) -> None:
    assert number(missing) == MISSING
    assert number(missing, ".4f", missing="not run") == "not run"


def test_text_passes_and_config_values_read_plainly() -> None:
    assert number("n/a") == "n/a"
    assert plain(1.0e-3) == "0.001" and plain(True) == "yes" and plain([16, 32, 0.5]) == "16, 32, 0.5"


def test_templates_escape_every_value() -> None:
    html = table(pd.DataFrame({"name <b>": ["x & 'y'"], "v": [0.5]}), {"v": number}, ["v"], caption="<i>c</i>")
    assert "<b>" not in html and "name &lt;b&gt;" in html and "x &amp; &#39;y&#39;" in html
    assert "<caption>&lt;i&gt;c&lt;/i&gt;</caption>" in html and '<td class="num">0.5</td>' in html
    fig = render("macros.html.j2")  # the macros alone render to nothing but whitespace
    assert fig.strip() == ""


def test_every_template_ships_as_package_data() -> None:
    """pyproject's package-data globs cover every file of the templates folder (an installed opbench renders)."""
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["opbench"]
    folder = root / "src" / "opbench" / "render" / "templates"
    files = [p.relative_to(root / "src" / "opbench").as_posix() for p in folder.iterdir()]
    assert "render/templates/page.html.j2" in files
    assert [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)] == []
