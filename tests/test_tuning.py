"""Equal tuning: the same number of trials from a declared space, selection on validation only."""

import pytest

from opbench.experiments.tuning import draw_trials, grid, select, split


def test_every_model_gets_the_same_number_of_distinct_trials_from_its_own_space():
    space_a = {"width": [8, 16, 32, 64], "lr": [1e-3, 3e-3]}
    space_b = {"d_model": [16, 32, 64], "heads": [2, 4], "lr": [1e-3, 3e-3]}
    a, b = draw_trials(0, "fno", space_a, 4), draw_trials(0, "transformer", space_b, 4)
    assert len(a) == len(b) == 4
    assert len({tuple(sorted(t.items())) for t in a}) == 4  # without replacement
    assert all(t in grid(space_b) for t in b)
    assert draw_trials(0, "fno", space_a, 4) == a  # determined by the config seed and the model's name
    assert draw_trials(0, "mlp", {"hidden": [64, 128]}, 4) == [{"hidden": 64}, {"hidden": 128}]  # never more


def test_selection_sees_validation_error_only_and_recipe_keys_are_split_off():
    results = [{"trial": 0, "val_rel_l2": 0.2, "test_rel_l2": 0.01},
               {"trial": 1, "val_rel_l2": 0.1, "test_rel_l2": 0.9},
               {"trial": 2, "val_rel_l2": float("nan")}]
    assert select(results)["trial"] == 1  # the lower validation error wins whatever the test says
    assert split({"width": 32, "lr": 1e-3, "weight_decay": 0.0}) == ({"width": 32}, {"lr": 1e-3, "weight_decay": 0.0})
    with pytest.raises(ValueError, match="every tuning trial diverged"):
        select([{"val_rel_l2": float("nan")}])
    with pytest.raises(ValueError, match="experiments.tuning.space: 'width'"):
        grid({"width": []})
