"""Claim experiments: task data exactness, effect definitions on synthetic tables, claims HTML."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from opbench.experiments import claims as C
from opbench.experiments.data import (
    eval_trig,
    exact_antiderivative,
    family_inputs,
    point_sets,
    trapezoid_antiderivative,
    trig_coefficients,
)
from opbench.experiments.report import claims_html, compute_claims
from opbench.seeding import stream
from opbench.solvers.grf import periodic_grf


def _coefficients(n: int = 128) -> np.ndarray:
    f = periodic_grf([stream(0, "t", i) for i in range(3)], n, alpha=2.0, tau=5.0, sigma=25.0)
    c = trig_coefficients(f)
    c[:, 0] = 0.0
    return c


def test_exact_antiderivative_differentiates_back_and_is_periodic() -> None:
    c = _coefficients()
    x = np.linspace(0.0, 1.0, 4001)
    big_f = exact_antiderivative(c, x)
    slope = np.gradient(big_f, x, axis=1)[:, 2:-2]
    assert np.abs(slope - eval_trig(c, x)[:, 2:-2]).max() < 1e-3 * np.abs(eval_trig(c, x)).max()
    assert np.abs(big_f[:, 0]).max() < 1e-12 and np.abs(big_f[:, -1]).max() < 1e-12


def test_trapezoid_targets_converge_at_second_order() -> None:
    c = _coefficients()
    errs = []
    for n in (32, 64, 128):
        x = np.arange(n) / n
        errs.append(np.abs(trapezoid_antiderivative(eval_trig(c, x)) - exact_antiderivative(c, x)).max())
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert (orders > 1.7).all(), orders


def test_point_sets_and_families() -> None:
    pts = point_sets(0, 32)
    for x in pts.values():
        assert x.shape == (32,) and (x >= 0).all() and (x < 1).all() and (np.diff(x) > 0).all()
    cheb = pts["chebyshev"]
    assert np.diff(cheb)[0] < np.diff(cheb)[16] / 5  # clustered at the ends
    for name in ("grf_smooth", "grf_rough", "steps", "sines"):
        a = family_inputs(name, [stream(0, name, i) for i in range(4)], 128, {"alpha": 2.0, "tau": 5.0, "sigma": 25.0},
                          rms=2.0)
        np.testing.assert_allclose(np.sqrt((a**2).mean(axis=1)), 2.0)
        np.testing.assert_allclose(a.mean(axis=1), 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="unknown input family"):
        family_inputs("noise", [], 8, {"alpha": 2.0, "tau": 5.0, "sigma": 1.0}, 1.0)


def _discretization_table(transformer_growth: float) -> pd.DataFrame:
    rows = []
    for seed, jitter in enumerate((0.98, 1.0, 1.02)):
        for model, growth in (("fno", 1.0), ("transformer", transformer_growth)):
            for r in (32, 64, 128):
                err = 0.1 * jitter * (growth if r == 128 else 1.0)
                for truth in ("restricted", "fresh"):
                    rows.append({"model": model, "seed": seed, "train_res": 32, "n_train": 8, "eval_res": r,
                                 "truth": truth, "rel_l2": err})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("growth", "expected"), [(3.0, "holds"), (1.0, "inconclusive"), (0.5, "does not hold")])
def test_discretization_effect_and_verdict(growth: float, expected: str) -> None:
    table = _discretization_table(growth)
    if growth == 1.0:  # identical growth up to seed noise: an interval around zero
        table.loc[(table.model == "transformer") & (table.eval_res == 128), "rel_l2"] *= [1.01, 1.01, 0.99, 0.99,
                                                                                          1.0, 1.0]
    r = C.discretization(table, "transformer", "fno", 32)
    assert r.verdict == expected
    if growth != 1.0:
        assert r.interval.mean == pytest.approx(np.log(growth))
    assert any("fresh truth" in label for label, _ in r.details)


def test_compute_claims_fills_stub_rows_and_html_links_sections() -> None:
    exp = {"train_res": 32, "n_train": 8,
           "claims": {"discretization": {"contender": "transformer", "reference": "fno"}}}
    results = compute_claims({"discretization": _discretization_table(3.0)}, exp, [32, 64, 128])
    assert [r.number for r in results] == [1, 2, 3, 4, 5, 6]
    assert [r.verdict for r in results] == ["holds"] + ["not run"] * 5
    assert "needs the NS task" in results[5].experiment
    payload = {"claims": [r.row() | {"details": [], "figure": None} for r in results]}
    front, sections = claims_html(payload)
    assert 'href="#claim-discretization"' in front and 'id="claim-discretization"' in sections
    assert front.count("<tr") == 7  # header + six claims


@pytest.mark.parametrize(("edit", "fragment"), [
    (lambda e: e.update(pde="nope"), "experiments.pde: 'nope'"),
    (lambda e: e.update(train_res=48), "experiments.train_res: 48"),
    (lambda e: e["claims"]["scale"].update(contender="unet"), "experiments.claims.scale.contender"),
    (lambda e: e["claims"]["discretization"].update(matrix_models=["gpt"]), "matrix_models: 'gpt'"),
    (lambda e: e["models"]["transformer"].update(patch=3), "experiments.models.transformer.patch: 3"),
    (lambda e: e.update(seeds=[0, 1]), "experiments.seeds"),
])
def test_bad_experiments_config_gives_one_clear_line(edit, fragment: str) -> None:
    from pathlib import Path

    import yaml

    from opbench.config import ConfigError, validate_config

    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / "smoke.yaml").read_text())
    edit(cfg["experiments"])
    with pytest.raises(ConfigError) as info:
        validate_config(cfg)
    assert "\n" not in str(info.value) and fragment in str(info.value), str(info.value)


def test_discretization_section_names_invariant_and_non_invariant_models() -> None:
    details = [["fno: log(err 128 / err 32), restricted truth", 0.0, -0.01, 0.01, 3],
               ["galerkin: log(err 128 / err 32), restricted truth", 0.01, -0.02, 0.03, 3],
               ["transformer: log(err 128 / err 32), restricted truth", 1.0, 0.5, 1.5, 3],
               ["transformer: log(err 128 / err 32), fresh truth", 1.0, 0.5, 1.5, 3]]
    payload = {"claims": [{"claim": 1, "key": "discretization", "title": "t", "experiment": "e", "effect": "x",
                           "mean": 1.0, "low": 0.5, "high": 1.5, "n_seeds": 3, "verdict": "holds",
                           "details": details, "figure": None}]}
    _, sections = claims_html(payload)
    assert "(invariant): fno, galerkin;" in sections and "(not invariant): transformer." in sections
