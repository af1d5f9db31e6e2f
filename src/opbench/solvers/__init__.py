"""Numerical solvers (numpy/scipy only) and the registry of PDE types the config may name.

A PDE type is a module exposing ``PDE_SPEC`` (see ``opbench.solvers.base.PDE``). The built-in
types are listed below; a PDE outside this package registers the same way, by name and module,
either with ``register`` or, so that Snakemake's job processes see it too, as an entry point of
the group ``opbench.pdes`` (``name = package.module``) of any installed distribution.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

from opbench.solvers.base import PDE, Grid, ParamsError, SolverCheckError, SolverInstabilityError

ENTRY_POINT_GROUP = "opbench.pdes"
_MODULES = {
    "heat": "opbench.solvers.heat",
    "burgers": "opbench.solvers.burgers",
    "darcy": "opbench.solvers.darcy",
    "navier_stokes": "opbench.solvers.navier_stokes",
}
_plugins_loaded = False


def register(name: str, module: str) -> None:
    """Make the PDE module ``module`` (dotted path, exposing ``PDE_SPEC``) the type ``name``."""
    if _MODULES.get(name, module) != module:
        raise ValueError(f"PDE type {name!r} is already registered as {_MODULES[name]!r}")
    _MODULES[name] = module


def _load_plugins() -> None:
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            register(ep.name, ep.value)


def pde_types() -> list[str]:
    """The PDE types a config entry may name in ``type``."""
    _load_plugins()
    return sorted(_MODULES)


def get_pde(kind: str) -> PDE:
    """The ``PDE`` object of a type, imported on first use (2D solvers are heavier)."""
    if kind not in _MODULES:
        _load_plugins()
    if kind not in _MODULES:
        raise KeyError(f"unknown PDE type {kind!r}; allowed: {', '.join(pde_types())}")
    return import_module(_MODULES[kind]).PDE_SPEC


def pde_types_with(capability: str) -> list[str]:
    """The PDE types whose ``PDE`` object has the (truthy) capability, e.g. ``static_1d_periodic``."""
    return [k for k in pde_types() if getattr(get_pde(k), capability)]


__all__ = [
    "PDE", "Grid", "ParamsError", "SolverCheckError", "SolverInstabilityError",
    "get_pde", "pde_types", "pde_types_with", "register",
]
