"""Equal tuning for every model family (issue 11): a declared search space, the same number of
trials and optimiser steps for each model, selection on in-distribution validation error only.

``experiments.tuning`` declares ``trials`` (per model), ``epochs`` (per trial, the same for all)
and ``space``: for each model, each hyperparameter's candidate values (model hyperparameters, or
``lr`` / ``weight_decay`` of the recipe). Trials are drawn from the space without replacement by a
stream named after the model (``draw_trials``): a model with a smaller space gets all of its
points, never more trials than another. ``select`` picks the trial of lowest validation error, the
only quantity the selection may see (no test set, no other resolution). The chosen settings then
train the claim runs at every budget and seed.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from opbench.seeding import stream

RECIPE_KEYS = ("lr", "weight_decay")


def grid(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every point of a declared space, in a fixed order (keys sorted)."""
    keys = sorted(space)
    for k in keys:
        if not isinstance(space[k], (list, tuple)) or not space[k]:
            raise ValueError(f"experiments.tuning.space: {k!r} needs a non-empty list of candidate values")
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(space[k] for k in keys))]


def draw_trials(root_seed: int, model: str, space: Mapping[str, Sequence[Any]], trials: int) -> list[dict[str, Any]]:
    """``trials`` distinct points of the model's space (all of them when it has fewer), drawn by the
    stream (root_seed, 'tuning', model): the same for every run of one config."""
    points = grid(space) if space else [{}]
    if trials >= len(points):
        return points
    order = stream(root_seed, "tuning", model).permutation(len(points))[:trials]
    return [points[i] for i in sorted(order)]


def split(trial: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model hyperparameters, recipe changes) of one trial."""
    return ({k: v for k, v in trial.items() if k not in RECIPE_KEYS},
            {k: v for k, v in trial.items() if k in RECIPE_KEYS})


def select(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The trial with the lowest ``val_rel_l2`` (in-distribution validation); ties go to the first."""
    finite = [r for r in results if r["val_rel_l2"] == r["val_rel_l2"]]  # drop NaN (a diverged trial)
    if not finite:
        raise ValueError("every tuning trial diverged: no setting to select")
    return dict(min(finite, key=lambda r: r["val_rel_l2"]))
