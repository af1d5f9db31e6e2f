"""Task shaping: static a -> u pairs, rollout windows, and autoregressive rollout."""

from __future__ import annotations

import numpy as np
import pytest

from opbench.training.tasks import RolloutTask, StaticTask, task_for, task_of_pde


def _trajectories(n: int = 3, steps: int = 9, grid: tuple[int, ...] = (4, 5)) -> np.ndarray:
    """u[i, t] = i 10^6 + t + 1000 position, integers (exact arithmetic): every window is identifiable."""
    pos = 1000.0 * np.arange(np.prod(grid)).reshape(grid)
    return np.stack([np.stack([i * 1e6 + t + pos for t in range(steps)]) for i in range(n)])


def test_task_follows_the_time_dependent_flag() -> None:
    assert isinstance(task_for(False), StaticTask)
    assert task_for(True).history == 10 and task_for(True, 4).history == 4
    assert isinstance(task_of_pde({"type": "navier_stokes", "history": 3}), RolloutTask)
    assert task_of_pde({"type": "navier_stokes", "history": 3}).history == 3
    assert isinstance(task_of_pde({"type": "darcy"}), StaticTask)


def test_static_task_adds_one_channel() -> None:
    a, u = np.arange(24.0).reshape(2, 3, 4), -np.arange(24.0).reshape(2, 3, 4)
    x, y = StaticTask().training_pairs(a, u)
    assert x.shape == (2, 1, 3, 4) and np.array_equal(y[:, 0], u)
    assert np.array_equal(StaticTask().predict(lambda z: 2 * z, a, u), 2 * a)


def test_rollout_windows_are_consecutive_snapshots_and_their_successor() -> None:
    u = _trajectories()
    task = RolloutTask(history=3)
    x, y = task.windows(u)
    steps = u.shape[1] - 3
    assert x.shape == (3 * steps, 3, 4, 5) and y.shape == (3 * steps, 1, 4, 5)
    for i in range(3):
        for j in range(steps):
            row = i * steps + j
            np.testing.assert_array_equal(x[row], u[i, j : j + 3])
            np.testing.assert_array_equal(y[row, 0], u[i, j + 3])
    assert task.target(None, u).shape == (3, steps, 4, 5)


def test_rollout_with_a_perfect_model_reproduces_the_truth_exactly() -> None:
    # u_{t+1} = 2 u_t - u_{t-1} + (u_{t-2} - u_{t-2}): the exact model of data linear in time. It
    # only sees its input window, so a rollout that fed back the wrong snapshots would diverge.
    u = _trajectories(steps=12)
    task = RolloutTask(history=4)

    def perfect(x: np.ndarray) -> np.ndarray:
        return (2 * x[:, -1] - x[:, -2])[:, None]

    pred = task.predict(perfect, None, u)
    np.testing.assert_array_equal(pred, u[:, 4:])
    # a model that ignores its newest snapshot is wrong from the first step on
    stale = task.predict(lambda x: (2 * x[:, -2] - x[:, -3])[:, None], None, u)
    assert not np.allclose(stale[:, 0], u[:, 4])


def test_rollout_feeds_predictions_back_not_the_truth() -> None:
    u = _trajectories(steps=8)
    task = RolloutTask(history=2)
    seen = []

    def model(x: np.ndarray) -> np.ndarray:
        seen.append(x.copy())
        return (x[:, -1] + 0.5)[:, None]  # a biased model: its inputs must show its own outputs

    pred = task.predict(model, None, u)
    assert len(seen) == 6
    np.testing.assert_array_equal(seen[1][:, -1], pred[:, 0])
    np.testing.assert_array_equal(seen[1][:, 0], u[:, 1])
    np.testing.assert_allclose(pred[:, -1], u[:, 1] + 0.5 * 6)


def test_rollout_refuses_too_short_trajectories() -> None:
    with pytest.raises(ValueError, match="more than history=5"):
        RolloutTask(history=5).windows(_trajectories(steps=5))
