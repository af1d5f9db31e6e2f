"""How a dataset's (a, u) arrays become a learning task: what goes in, what comes out, how to predict.

Two task types exist, chosen from the PDE type's ``time_dependent`` flag (``task_for``):

- ``static`` (heat, Burgers, Darcy): the model maps the input function to the solution,
  ``a (N, *grid) -> u (N, *grid)``, one channel each.
- ``rollout`` (Navier-Stokes, as in the FNO paper): ``u (N, T, *grid)`` holds snapshots; the first
  ``history`` of them are the input and the model maps any ``history`` consecutive snapshots
  (as channels) to the next one. It is trained with teacher forcing on every such window of the
  training trajectories and evaluated by autoregressive rollout: each prediction is appended to
  the window and the oldest snapshot dropped, until the trajectory's end.

Both train and infer use the same object, so a new task type is one class here. Arrays are numpy
throughout; prediction goes through a callable ``step(x) -> y`` on (batch, C_in, *grid) -> (batch,
C_out, *grid) arrays, so this module needs no model and no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

StepFn = Callable[[np.ndarray], np.ndarray]
DEFAULT_HISTORY = 10  # FNO paper: the first 10 snapshots in, the rest out


@dataclass(frozen=True)
class StaticTask:
    """``a -> u`` with one input and one output channel."""

    name: str = "static"

    def training_pairs(self, a: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) of shapes (N, 1, *grid)."""
        return a[:, None], u[:, None]

    def target(self, a: np.ndarray, u: np.ndarray) -> np.ndarray:
        """What a prediction is compared with: ``u`` (N, *grid)."""
        return u

    def predict(self, step: StepFn, a: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The model's prediction of ``target(a, u)``."""
        return step(a[:, None])[:, 0]

    def times(self, t: np.ndarray | None) -> np.ndarray | None:
        """Times of the predicted snapshots (None: not time-dependent)."""
        return None


@dataclass(frozen=True)
class RolloutTask:
    """``history`` snapshots in (channels), the next snapshot out; evaluated by autoregressive rollout."""

    history: int = DEFAULT_HISTORY
    name: str = "rollout"

    def __post_init__(self) -> None:
        if self.history < 1:
            raise ValueError(f"rollout history must be >= 1, got {self.history}")

    def _check(self, u: np.ndarray) -> None:
        if u.ndim < 3:
            raise ValueError(f"rollout expects snapshots u (N, T, *grid), got shape {u.shape}")
        if u.shape[1] <= self.history:
            raise ValueError(
                f"rollout needs more than history={self.history} snapshots to predict any, got T={u.shape[1]}"
            )

    def windows(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Teacher-forcing pairs from every window of every trajectory.

        Window j of trajectory i: input u[i, j : j + history] (history channels), target
        u[i, j + history] (1 channel); ordered trajectory-major. Shapes (N W, history, *grid) and
        (N W, 1, *grid) with W = T - history.
        """
        self._check(u)
        n, steps = u.shape[0], u.shape[1] - self.history
        idx = np.arange(steps)[:, None] + np.arange(self.history)[None, :]  # (W, history)
        x = u[:, idx]  # (N, W, history, *grid)
        y = u[:, self.history :, None]  # (N, W, 1, *grid)
        grid = u.shape[2:]
        return x.reshape(n * steps, self.history, *grid), y.reshape(n * steps, 1, *grid)

    def training_pairs(self, a: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.windows(u)

    def target(self, a: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The snapshots after the first ``history``: (N, T - history, *grid)."""
        self._check(u)
        return u[:, self.history :]

    def predict(self, step: StepFn, a: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Roll out from the first ``history`` true snapshots to the end of the trajectory."""
        self._check(u)
        return self.rollout(step, u[:, : self.history], u.shape[1] - self.history)

    def rollout(self, step: StepFn, start: np.ndarray, n_steps: int) -> np.ndarray:
        """Feed each prediction back: (N, history, *grid) -> (N, n_steps, *grid)."""
        if start.shape[1] != self.history:
            raise ValueError(f"rollout start must hold {self.history} snapshots, got {start.shape[1]}")
        window = np.array(start, copy=True)
        out = np.empty((start.shape[0], n_steps, *start.shape[2:]), dtype=start.dtype)
        for k in range(n_steps):
            nxt = np.asarray(step(window))
            if nxt.shape != (start.shape[0], 1, *start.shape[2:]):
                raise ValueError(f"rollout step must return (N, 1, *grid), got {nxt.shape}")
            out[:, k] = nxt[:, 0]
            window = np.concatenate([window[:, 1:], nxt.astype(window.dtype)], axis=1)
        return out

    def times(self, t: np.ndarray | None) -> np.ndarray | None:
        return None if t is None else np.asarray(t)[self.history :]


Task = StaticTask | RolloutTask


def task_for(time_dependent: bool, history: int | None = None) -> Task:
    """The task of a PDE type: ``rollout`` for time-dependent data, else ``static``."""
    if time_dependent:
        return RolloutTask(int(history) if history is not None else DEFAULT_HISTORY)
    return StaticTask()


def task_of_pde(pde_cfg: dict) -> Task:
    """The task of a config entry of ``pdes`` (its type's flag and its optional ``history``)."""
    from opbench.solvers import get_pde

    return task_for(get_pde(pde_cfg["type"]).time_dependent, pde_cfg.get("history"))
