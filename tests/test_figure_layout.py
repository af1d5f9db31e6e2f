"""Claim 1's figure is read at a glance: no text overprints other text, and its heatmaps share one
colour scale. Checked on the drawn figure (Agg renderer), for the shapes the full protocol produces."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from opbench.experiments.figures import discretization_figure

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


def _texts(fig: Figure) -> list[tuple[str, object]]:
    """Every visible, non-empty text of the drawn figure with its box in display pixels."""
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    found = []
    for t in fig.findobj(Text):
        shown = t.get_visible() and t.get_text().strip() and (t.axes is None or t.axes.get_visible())
        if shown:
            found.append((t.get_text(), t.get_window_extent(renderer)))
    return found


def _overlaps(fig: Figure) -> list[tuple[str, str]]:
    texts = _texts(fig)
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(texts, 2)
            if box_a.width > 0 and box_b.width > 0 and box_a.overlaps(box_b)]


@pytest.mark.parametrize("n_matrix", [1, 2, 4])
@pytest.mark.parametrize("train_res", [[64, 128], [32, 64, 128]])
def test_discretization_figure_has_no_overprinted_text(n_matrix: int, train_res: list[int]) -> None:
    models = MODELS[: n_matrix + 2]
    fig = discretization_figure(_measurements(models, train_res, [64, 128, 256, 512]), train_res[0])
    assert _overlaps(fig) == []


def test_discretization_heatmaps_share_one_colour_scale() -> None:
    fig = discretization_figure(_measurements(MODELS, [64, 128], [64, 128, 256, 512]), 64)
    images = [im for ax in fig.findobj(lambda a: hasattr(a, "get_images")) for im in ax.get_images()]
    assert len(images) == len(MODELS) - 2
    norms = {(im.norm.vmin, im.norm.vmax, type(im.norm).__name__) for im in images}
    assert len(norms) == 1
    (vmin, vmax, _), = norms
    values = np.concatenate([np.asarray(im.get_array()).ravel() for im in images])
    assert vmin == pytest.approx(values.min()) and vmax == pytest.approx(values.max())
