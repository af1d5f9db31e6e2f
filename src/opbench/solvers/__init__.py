"""Numerical solvers (numpy/scipy only) and the registry of PDE types the config may name."""

from __future__ import annotations

from opbench.solvers.base import PDE, Grid, SolverCheckError, SolverInstabilityError

_MODULES = {
    "heat": "opbench.solvers.heat",
    "burgers": "opbench.solvers.burgers",
    "darcy": "opbench.solvers.darcy",
    "navier_stokes": "opbench.solvers.navier_stokes",
}


def pde_types() -> list[str]:
    """The PDE types a config entry may name in ``type``."""
    return sorted(_MODULES)


def get_pde(kind: str) -> PDE:
    """The ``PDE`` object of a type, imported on first use (2D solvers are heavier)."""
    from importlib import import_module

    if kind not in _MODULES:
        raise KeyError(f"unknown PDE type {kind!r}; allowed: {', '.join(pde_types())}")
    return import_module(_MODULES[kind]).PDE_SPEC


__all__ = ["PDE", "Grid", "SolverCheckError", "SolverInstabilityError", "get_pde", "pde_types"]
