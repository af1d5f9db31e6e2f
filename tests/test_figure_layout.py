"""Claim 1's figure is read at a glance: no text overprints other text, and its heatmaps share one
colour scale. Checked on the drawn figure (Agg renderer), for the shapes the full protocol produces."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from figure_text import overprinted

from opbench.experiments.figures import discretization_figure
from opbench.experiments.multiscale import multiscale_figure

MODELS = ["fno", "transformer", "galerkin", "transformer_point", "mlp", "deeponet"]


def _measurements(models: list[str], train_res: list[int], ladder: list[int]) -> pd.DataFrame:
    """A claim-1 table: every model at every evaluation resolution, the first ``len(models) - 2``
    trained at every ``train_res`` (so they get a heatmap), the rest at the first one only."""
    rng = np.random.default_rng(0)
    rows = []
    for k, model in enumerate(models):
        trained = train_res if k < len(models) - 2 else train_res[:1]
        for tr, seed, res, truth in itertools.product(trained, range(3), ladder, ["restricted", "fresh"]):
            rows.append({"model": model, "seed": seed, "train_res": tr, "n_train": 128, "eval_res": res,
                         "truth": truth, "rel_l2": 10 ** rng.uniform(-2.3, -0.4)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("n_matrix", [1, 2, 4])
@pytest.mark.parametrize("train_res", [[64, 128], [32, 64, 128]])
def test_discretization_figure_has_no_overprinted_text(n_matrix: int, train_res: list[int]) -> None:
    models = MODELS[: n_matrix + 2]
    fig = discretization_figure(_measurements(models, train_res, [64, 128, 256, 512]), train_res[0])
    assert overprinted(fig) == []


def test_discretization_heatmaps_share_one_colour_scale() -> None:
    fig = discretization_figure(_measurements(MODELS, [64, 128], [64, 128, 256, 512]), 64)
    images = [im for ax in fig.findobj(lambda a: hasattr(a, "get_images")) for im in ax.get_images()]
    assert len(images) == len(MODELS) - 2
    norms = {(im.norm.vmin, im.norm.vmax, type(im.norm).__name__) for im in images}
    assert len(norms) == 1
    (vmin, vmax, _), = norms
    values = np.concatenate([np.asarray(im.get_array()).ravel() for im in images])
    assert vmin == pytest.approx(values.min()) and vmax == pytest.approx(values.max())


def _multiscale_table(nus: list[float], models: list[str]) -> pd.DataFrame:
    """Claim 6's measurements: band errors per model, viscosity and seed (the last model only at the
    largest viscosity, as unet2d in the full protocol) and a decaying spectrum at the last step."""
    rng = np.random.default_rng(1)
    rows = []
    for nu, (j, model), seed in itertools.product(nus, enumerate(models), range(3)):
        if j == len(models) - 1 and nu != max(nus):
            continue
        for band, level in zip(["low", "mid", "high"], [0.1, 1e-2, 1e-4], strict=True):
            rows.append({"kind": "band", "nu": nu, "model": model, "seed": seed, "band": band,
                         "rel_l2": level * 10 ** rng.uniform(-0.3, 0.3)})
        for k in range(33):
            rows.append({"kind": "spectrum", "nu": nu, "model": model, "seed": seed, "res": 64, "k": k,
                         "energy_true": 1e-2 * (k + 1.0) ** -6, "energy_pred": 1e-2 * (k + 1.0) ** -4})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("nus", [[1e-3], [1e-3, 1e-4, 1e-5]])
def test_multiscale_figure_has_no_overprinted_text_and_shares_rows(nus: list[float]) -> None:
    fig = multiscale_figure(_multiscale_table(nus, ["fno2d", "transformer2d", "unet2d"]))
    assert overprinted(fig) == []
    bars, spectra = (row for row in np.asarray(fig.axes[: 2 * len(nus)]).reshape(2, len(nus)))
    for row in (bars, spectra):
        assert len({ax.get_ylim() for ax in row}) == 1  # the viscosities compare on one y axis
