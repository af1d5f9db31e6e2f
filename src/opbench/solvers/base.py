"""The contract every PDE module follows, and the grids its data lives on.

A PDE module in ``opbench.solvers`` exposes one ``PDE`` object. ``generate`` draws the inputs of
a batch of samples (one random generator per sample, see ``opbench.seeding``) and solves on the
finest grid; ``verify`` runs the module's self-check on a few samples and returns numbers to store
in the NetCDF attributes, raising ``SolverCheckError`` when a check fails. Coarser resolutions are
exact restrictions of the fine solution (``Grid.restrict``), so every resolution holds the same
functions.

``solve(a, params)`` is the one way to apply a PDE's solution operator to given inputs (the claim
experiments and the PINN benchmark solve inputs of their own); ``params`` is the PDE's frozen
parameter dataclass, built and checked from a config entry by ``PDE.parameters``. The capability
flags (``linear``, ``time_dependent``, ``periodic``, ``residual_terms``) let the rest of the code ask
what a PDE can do instead of listing PDE names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
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
SolveFn = Callable[[np.ndarray, Any], np.ndarray]
_CASTS: dict[str, Callable[[Any], Any]] = {"float": float, "int": int, "bool": bool, "str": str}


class ParamsError(OpbenchError, ValueError):
    """A PDE's config entry does not describe valid parameters (one line naming the key)."""


def build_params(cls: type, entry: Mapping[str, Any], where: str = "pde") -> Any:
    """The frozen parameter dataclass ``cls`` from a config entry's ``params`` and ``solver`` dicts.

    Each field reads the sub-dict named by its ``metadata["section"]`` (default ``params``) and is
    cast to its annotated scalar type (``float``, ``int``, ``bool``, ``str``; ``float | None`` keeps
    None). A missing field without default is refused; keys of ``params`` the class does not know
    are refused too, so a typo never silently falls back to a default.
    """
    allowed = sorted(f.name for f in fields(cls) if f.metadata.get("section", "params") == "params")
    unknown = sorted(set(entry.get("params") or {}) - set(allowed))
    if unknown:
        raise ParamsError(f"{where}.params: unknown key {', '.join(map(repr, unknown))} "
                          f"(allowed keys: {', '.join(allowed) or 'none'})")
    values: dict[str, Any] = {}
    for f in fields(cls):
        section = f.metadata.get("section", "params")
        source = entry.get(section) or {}
        if f.name not in source:
            if f.default is MISSING:
                raise ParamsError(f"{where}.{section}: missing key {f.name!r}")
            continue
        value = source[f.name]
        kind = str(f.type).replace(" | None", "")
        if value is None and "None" in str(f.type):
            values[f.name] = None
            continue
        try:
            values[f.name] = _CASTS[kind](value) if kind in _CASTS else value
        except (TypeError, ValueError):
            raise ParamsError(f"{where}.{section}.{f.name}: {value!r} is not a {kind}") from None
    try:
        return cls(**values)
    except ValueError as err:
        raise ParamsError(f"{where}: {err}") from None


@dataclass(frozen=True)
class PDE:
    """What the data stage needs to know about one PDE type.

    ``generate(rngs, n, cfg)`` returns ``{"a": (B, *grid), "u": (B, *grid)}`` on the fine grid of
    ``n`` points per axis (time-dependent outputs: ``u`` of shape ``(B, T, *grid)`` and a ``"t"``
    entry with the snapshot times). ``cfg`` is the PDE's config entry (``params``, ``grf``,
    ``solver`` sub-dicts). ``verify(rngs, n, cfg)`` returns the self-check's numbers.

    Capabilities: ``linear`` (the map a -> u is linear), ``time_dependent`` (the output is a
    trajectory of snapshots, learned as a rollout; otherwise one static map a -> u), ``periodic``
    (the grid is periodic, so inputs on it may be drawn, shifted and resampled freely) and
    ``residual_terms``: the 1D residual u_t + sum(sign * coefficient * term) as
    ``(term, parameter or None, sign)`` over the terms ``u_ux`` (u u_x) and ``u_xx``, for the PINN
    (empty: no PINN).
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
    params_type: type | None = None  # required: the frozen parameter dataclass
    solve_fn: SolveFn | None = None  # required: solve(a, params)
    linear: bool = False
    residual_terms: tuple[tuple[str, str | None, int], ...] = ()

    def __post_init__(self) -> None:
        if self.params_type is None or self.solve_fn is None:
            raise TypeError(f"PDE {self.name!r} must declare params_type and solve_fn (the solver contract)")
        for term, _, sign in self.residual_terms:
            if term not in ("u_ux", "u_xx") or sign not in (-1, 1):
                raise ValueError(f"PDE {self.name!r}: residual term {term!r} (sign {sign}) is not one of "
                                 "u_ux, u_xx with sign -1 or 1")

    @property
    def periodic(self) -> bool:
        return self.grid.kind == "periodic"

    @property
    def static_1d_periodic(self) -> bool:
        """A static map a -> u on the 1D periodic grid: what the claim experiments need."""
        return self.ndim == 1 and self.periodic and not self.time_dependent

    def parameters(self, entry: Mapping[str, Any], where: str | None = None) -> Any:
        """The typed parameters of a config entry (``params`` and ``solver`` sub-dicts)."""
        assert self.params_type is not None  # checked in __post_init__
        return build_params(self.params_type, entry, where or self.name)

    def solve(self, a: np.ndarray, params: Any) -> np.ndarray:
        """The solution operator on given inputs ``a`` (B, *grid) with typed ``params``."""
        assert self.params_type is not None and self.solve_fn is not None  # checked in __post_init__
        if not isinstance(params, self.params_type):
            raise TypeError(f"{self.name}.solve needs {self.params_type.__name__}, got {type(params).__name__}")
        return self.solve_fn(a, params)


def check_finite(u: np.ndarray, what: str, sample_ids: Sequence[int] | None = None) -> None:
    """Raise ``SolverInstabilityError`` naming the first sample whose values are not finite."""
    bad = ~np.isfinite(u.reshape(u.shape[0], -1)).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        label = sample_ids[i] if sample_ids is not None else i
        raise SolverInstabilityError(f"{what}: sample {label} became NaN/inf", sample=i)
