"""Oracle baselines of the claims: the least-squares map and the low-pass prediction."""

import numpy as np
import pytest

from opbench.experiments.baselines import LinearMap, lowpass


def test_least_squares_map_solves_a_linear_toy_exactly():
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((12, 12)), rng.standard_normal(12)
    a = rng.standard_normal((40, 12))
    fit = LinearMap(a, a @ w + b)
    test = rng.standard_normal((5, 12))
    assert np.allclose(fit.predict(test), test @ w + b, atol=1e-10)


def test_least_squares_map_recovers_heat_multiplier_from_enough_samples():
    from opbench.solvers.heat import solve_heat

    rng = np.random.default_rng(1)
    a = rng.standard_normal((64, 32))
    fit = LinearMap(a, solve_heat(a, 0.01, 0.1))
    test = rng.standard_normal((3, 32))
    assert np.allclose(fit.predict(test), solve_heat(test, 0.01, 0.1), atol=1e-8)


def test_lowpass_keeps_low_modes_and_removes_high_ones():
    x = np.arange(32) / 32
    low = np.sin(2 * np.pi * 2 * x)[:, None] * np.ones(32)[None]
    high = np.cos(2 * np.pi * 10 * x)[None, :] * np.ones(32)[:, None]
    assert np.allclose(lowpass(low + high, 8), low, atol=1e-12)


class _Echo:
    """A stand-in for a trained model: predicts its input (the identity map)."""

    def predict(self, a, x=None):
        return a


def test_claim3_measures_retrained_models_and_the_least_squares_map_at_each_resolution(tmp_path):
    from opbench.data.netcdf import write_netcdf
    from opbench.experiments.data import dataset
    from opbench.experiments.measure import finite_vectors
    from opbench.solvers.heat import solve_heat

    rng = np.random.default_rng(2)
    for r in (8, 16):
        for name, n in (("train", 40), ("restricted", 6)):
            a = rng.standard_normal((n, r))
            write_netcdf(dataset(a, solve_heat(a, 0.01, 0.05), np.arange(r) / r, {}), tmp_path / f"{name}_s{r}.nc")
    loaded = []

    def load(model, res, n, seed):
        loaded.append((model, res, n, seed))
        return _Echo()

    m = finite_vectors(load, ["mlp"], 8, [40], [0, 1], [8, 16], tmp_path, retrained=["mlp"], retrain_res=[8, 16],
                       train_file=lambda r: tmp_path / f"train_s{r}.nc", n_full=40)
    assert {("mlp", 16, 40, 0), ("mlp", 16, 40, 1)} <= set(loaded)  # retrained at 16, not only at 8
    ls = m[m["model"] == "linear_lstsq"]
    assert sorted(ls["eval_res"].unique()) == [8, 16] and (ls["rel_l2"] < 1e-6).all()  # heat is linear
    echo = m[(m["model"] == "mlp@retrained")]
    assert (echo["rel_l2"] > 1e-3).all()  # the identity is not the heat operator


def test_claim5_effect_uses_normalised_absolute_errors_so_tiny_outputs_do_not_dominate():
    """Both models make the same absolute error on every family; on the 'rough' family the outputs are
    1000x smaller, so the relative error there is 1000x larger for the model whose GRF error is small
    relative to its family's. The absolute effect is zero; the relative one would not be."""
    import pandas as pd

    from opbench.experiments.claims import input_families

    rows = []
    for seed in range(5):
        j = 1 + 0.01 * seed
        for model, grf_abs in (("fno", 0.01), ("transformer", 0.05)):
            rows.append({"model": model, "seed": seed, "family": "grf", "abs_err": grf_abs * j, "rel_l2": grf_abs * j})
            rows.append({"model": model, "seed": seed, "family": "grf_rough", "abs_err": 0.02 * j,
                         "rel_l2": min(20.0 * j, 100 * grf_abs * j)})
    m = pd.DataFrame(rows)
    r = input_families(m, "transformer", "fno")
    assert "abs_err" in r.effect
    # fno: log(0.02/0.01) = 0.69; transformer: log(0.02/0.05) = -0.92; effect -1.61 on absolute errors
    assert np.isclose(r.interval.mean, np.log(0.02 / 0.05) - np.log(0.02 / 0.01))
    rel = input_families(m.drop(columns="abs_err"), "transformer", "fno")
    assert not np.isclose(rel.interval.mean, r.interval.mean)


class _GridBound:
    """A model whose output depends on the grid size it is given: not discretization-invariant."""

    def predict(self, a, x=None):
        return a * (a.shape[1] / 16.0)


def test_claim1_self_consistency_is_zero_for_an_invariant_model_and_not_for_a_grid_bound_one(tmp_path):
    from opbench.data.netcdf import write_netcdf
    from opbench.experiments.data import dataset
    from opbench.experiments.measure import discretization

    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 64))
    for r in (16, 32, 64):
        for truth in ("restricted", "fresh"):
            ar = a[:, :: 64 // r]
            write_netcdf(dataset(ar, ar, np.arange(r) / r, {}), tmp_path / f"{truth}_s{r}.nc")
    models = {"echo": _Echo(), "bound": _GridBound()}
    m = discretization(lambda model, res, n, seed: models[model], ["echo", "bound"],
                       [("echo", 16, 4), ("bound", 16, 4)], [0], [16, 32, 64], tmp_path)
    self_rows = m[m["truth"] == "self"].set_index(["model", "eval_res"])["rel_l2"]
    assert self_rows[("echo", 64)] < 1e-6 and self_rows[("echo", 32)] < 1e-6
    assert np.isclose(self_rows[("bound", 64)], 3.0) and np.isclose(self_rows[("bound", 32)], 1.0)


def test_claim3_figure_draws_a_baseline_equal_at_every_seed(tmp_path):
    """The least-squares map scores the same at every seed; the mean of equal floats can round a hair
    outside their min and max, which matplotlib refuses as a negative error bar."""
    import pandas as pd

    from opbench.experiments.figures import finite_vectors

    v = 0.094079043  # the smoke run's value: the mean of three of them is 1.4e-17 above their min
    rows = [{"model": m, "seed": s, "train_res": 16, "n_train": 8, "eval_res": r, "rel_l2": v}
            for m in ("fno", "linear_lstsq") for s in range(3) for r in (16, 32)]
    assert finite_vectors(pd.DataFrame(rows), 16, tmp_path / "fv.png").is_file()


def test_claim3_retrained_contender_is_compared_at_its_own_resolutions():
    """``mlp@retrained`` was scored at 8 and 16 only: the FNO's error at 32 (here 100x worse) must not
    enter the comparison, which is log(0.02 / 0.01) per seed."""
    import pandas as pd

    from opbench.experiments.claims import finite_vectors

    rows = []
    for seed in range(4):
        j = 1 + 0.01 * seed
        for r, e in ((8, 0.01), (16, 0.01), (32, 1.0)):
            rows.append({"model": "fno", "seed": seed, "train_res": 8, "n_train": 40, "eval_res": r, "rel_l2": e * j})
            rows.append({"model": "mlp", "seed": seed, "train_res": 8, "n_train": 40, "eval_res": r, "rel_l2": 0.5})
        for r in (8, 16):
            rows.append({"model": "mlp@retrained", "seed": seed, "train_res": r, "n_train": 40, "eval_res": r,
                         "rel_l2": 0.02 * j})
    res = finite_vectors(pd.DataFrame(rows), "mlp@retrained", "fno", 40)
    assert res.values == pytest.approx([np.log(2.0)] * 4)
    assert "its resolutions" in res.effect
    # the MLP trained once is compared over the whole ladder, 32 included
    plain = finite_vectors(pd.DataFrame(rows), "mlp", "fno", 40)
    assert plain.values[0] == pytest.approx(np.log(0.5) - np.log((0.01 + 0.01 + 1.0) / 3))
    # each compared model's own error beside the effect, and in the table's cell with its cost
    from opbench.experiments.claims import cost_text

    assert res.errors["mlp@retrained"] == pytest.approx(0.02 * np.mean(1 + 0.01 * np.arange(4)))
    assert res.errors["fno"] == pytest.approx((0.01 + 0.01 + 1.0) / 3 * np.mean(1 + 0.01 * np.arange(4)))
    cell = cost_text({"mlp": {"n_params": 1234, "train_seconds": 2.0}}, ["mlp@retrained", "fno"], res.errors)
    assert cell == "mlp@retrained: error 0.0203, 1,234 params, 2 s; fno: error 0.345"
