"""Claim 6 per band: error over the truth's own content in the band, spectrum ratio, and oracles."""

import numpy as np
import pandas as pd

from opbench.evaluation.bands import band_errors
from opbench.evaluation.spectra import enstrophy_spectrum
from opbench.experiments import claims as C
from opbench.experiments.multiscale import own_band_table


def _field(n: int, amps: dict[int, float], rng) -> np.ndarray:
    """Sum of plane waves of |k| exactly 3, 10 and 20 (bands low / mid / high at n=64), random phases."""
    x = np.arange(n) / n
    X, Y = np.meshgrid(x, x, indexing="ij")
    w = np.zeros((n, n))
    for k, a in amps.items():
        for kx, ky in ((k, 0), (0, k)):
            w += a * np.cos(2 * np.pi * (kx * X + ky * Y) + rng.uniform(0, 2 * np.pi))
    return w


def _tables(truth, pred, model, n):
    b = band_errors(pred[None], truth[None], ndim=2)
    bands = [{"kind": "band", "nu": 1e-3, "model": model, "seed": 0, "band": k, "rel_l2": float(v[0])}
             for k, v in b.items()]
    zt, zp = enstrophy_spectrum(truth[None])[0], enstrophy_spectrum(pred[None])[0]
    spec = [{"kind": "spectrum", "nu": 1e-3, "model": model, "seed": 0, "res": n, "k": k,
             "enstrophy_true": zt[k], "enstrophy_pred": zp[k]} for k in range(len(zt))]
    return bands + spec


def test_own_band_error_is_relative_to_the_truths_content_in_that_band_and_oracles_sit_beside_it():
    rng, n = np.random.default_rng(0), 64
    truth = _field(n, {3: 1.0, 10: 0.1, 20: 1e-3}, rng)  # the high band holds ~1e-6 of the content
    noise = _field(n, {20: 1e-3}, rng)  # an error as large as the truth's own high band
    pred = truth + 0.5 * noise
    zero = np.zeros_like(truth)
    m = pd.DataFrame(_tables(truth, pred, "model", n) + _tables(truth, zero, "zero_run", n))
    own = own_band_table(m).set_index(["model", "band"])
    high_truth = truth - _field(n, {3: 1.0, 10: 0.1}, np.random.default_rng(0))  # same phases as truth's
    expected = np.linalg.norm(0.5 * noise) / np.linalg.norm(high_truth)
    assert np.isclose(own.loc[("model", "high"), "own_rel_l2"], expected, rtol=1e-6)
    assert own.loc[("model", "low"), "own_rel_l2"] < 1e-8
    # predicting zero scores exactly 1 in every band, as the analytic 'zero' oracle says
    for band in ("low", "mid", "high"):
        assert np.isclose(own.loc[("zero_run", band), "own_rel_l2"], 1.0)
        assert own.loc[("zero", band), "own_rel_l2"] == 1.0
    assert own.loc[("lowpass", "high"), "own_rel_l2"] == 1.0 and own.loc[("lowpass", "mid"), "own_rel_l2"] == 0.0
    # spectrum ratio: exact in the low band, and the noise's energy adds to the high band's
    assert np.isclose(own.loc[("model", "low"), "spectrum_ratio"], 1.0)
    assert own.loc[("model", "high"), "spectrum_ratio"] > 1.0


def test_claim6_effect_caps_each_own_band_error_at_the_zero_prediction():
    """Two models whose high band is noise (own error > 1) tie; one with skill there (own error 0.5)
    beats a no-skill one by log 2, though the raw error ratio says 10x."""
    from opbench.experiments.multiscale import band_log_ratio, own_band_log_ratio

    rng, n = np.random.default_rng(1), 64
    truth = _field(n, {3: 1.0, 10: 0.1, 20: 1e-3}, rng)
    high_truth = truth - _field(n, {3: 1.0, 10: 0.1}, np.random.default_rng(1))
    seams = _field(n, {20: 1e-3}, np.random.default_rng(2))  # the truth's own high-band size
    m = pd.DataFrame(_tables(truth, truth + 100 * seams, "transformer", n)
                     + _tables(truth, truth + 10 * seams, "fno", n)
                     + _tables(truth, truth - 0.5 * high_truth, "skilled", n))
    assert own_band_log_ratio(m, "transformer", "fno") == {0: 0.0}  # both without skill: a tie
    assert band_log_ratio(m, "transformer", "fno")[0] > 2.0  # the raw ratio says 10x
    assert np.isclose(own_band_log_ratio(m, "transformer", "skilled")[0], np.log(2.0), rtol=1e-6)
    assert np.isclose(own_band_log_ratio(m, "skilled", "transformer")[0], -np.log(2.0), rtol=1e-6)
    r = C.multiscale(m, "transformer", "fno")
    assert r.interval.mean == 0.0 and "capped at the zero prediction" in r.effect
