"""The contract every PDE module follows, and the grids its data lives on.

A PDE module in ``opbench.solvers`` exposes one ``PDE`` object. ``generate`` draws the inputs of
a batch of samples (one random generator per sample, see ``opbench.seeding``) and solves on the
finest grid; ``verify`` runs the module's self-check on a few samples and returns numbers to store
in the NetCDF attributes, raising ``SolverCheckError`` when a check fails. Coarser resolutions are
exact restrictions of the fine solution (``Grid.restrict``), so every resolution holds the same
functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from opbench.errors import OpbenchError


class SolverCheckError(OpbenchError, RuntimeError):
    """A solver's self-check failed: the data would be wrong, so nothing is written."""


class SolverInstabilityError(OpbenchError, RuntimeError):
    """A solve produced NaN/inf or broke its stability limit; the message names the sample.

    ``sample`` is the index within the solved batch when known, so the data stage can name the
    sample of the split.
    """

    def __init__(self, message: str, sample: int | None = None) -> None:
        super().__init__(message)
        self.sample = sample


@dataclass(frozen=True)
class Grid:
    """Uniform grids on [0, 1] per axis.

    ``periodic``: n points x_i = i / n (the point 1 is the point 0); n coarse points restrict a fine
    grid of N points when n divides N. ``vertex``: n points x_i = i / (n - 1) including both ends
    (Darcy's Dirichlet grid); restriction needs (n - 1) to divide (N - 1), as 421 -> 211/141/85.
    """

    kind: Literal["periodic", "vertex"]

    def coords(self, n: int) -> np.ndarray:
        if self.kind == "periodic":
            return np.arange(n, dtype=np.float64) / n
        return np.linspace(0.0, 1.0, n)

    def can_restrict(self, fine: int, coarse: int) -> bool:
        if coarse < 2 or coarse > fine:
            return False
        if self.kind == "periodic":
            return fine % coarse == 0
        return (fine - 1) % (coarse - 1) == 0

    def stride(self, fine: int, coarse: int) -> int:
        if not self.can_restrict(fine, coarse):
            rule = "divide" if self.kind == "periodic" else "have (res - 1) divide (fine - 1) of"
            raise ValueError(f"resolution {coarse} does not {rule} the fine grid {fine}")
        return fine // coarse if self.kind == "periodic" else (fine - 1) // (coarse - 1)

    def restrict(self, array: np.ndarray, fine: int, coarse: int, ndim: int) -> np.ndarray:
        """Subsample the last ``ndim`` axes of ``array`` from ``fine`` to ``coarse`` points."""
        k = self.stride(fine, coarse)
        index = (Ellipsis,) + (slice(None, None, k),) * ndim
        return array[index]


GenerateFn = Callable[[Sequence[np.random.Generator], int, dict[str, Any]], dict[str, np.ndarray]]
VerifyFn = Callable[[Sequence[np.random.Generator], int, dict[str, Any]], dict[str, float | int | str]]


@dataclass(frozen=True)
class PDE:
    """What the data stage needs to know about one PDE type.

    ``generate(rngs, n, cfg)`` returns ``{"a": (B, *grid), "u": (B, *grid)}`` on the fine grid of
    ``n`` points per axis (time-dependent outputs: ``u`` of shape ``(B, T, *grid)`` and a ``"t"``
    entry with the snapshot times). ``cfg`` is the PDE's config entry (``params``, ``grf``,
    ``solver`` sub-dicts). ``verify(rngs, n, cfg)`` returns the self-check's numbers.
    """

    name: str
    ndim: int
    grid: Grid
    generate: GenerateFn
    verify: VerifyFn
    description: str
    input_long_name: str = "input function"
    output_long_name: str = "solution"
    time_dependent: bool = False
    extra: dict[str, Any] | None = None


def check_finite(u: np.ndarray, what: str, sample_ids: Sequence[int] | None = None) -> None:
    """Raise ``SolverInstabilityError`` naming the first sample whose values are not finite."""
    bad = ~np.isfinite(u.reshape(u.shape[0], -1)).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        label = sample_ids[i] if sample_ids is not None else i
        raise SolverInstabilityError(f"{what}: sample {label} became NaN/inf", sample=i)
