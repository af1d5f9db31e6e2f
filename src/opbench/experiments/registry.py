"""The claim registry: one entry per claim holds what the workflow and the report need of it.

A ``ClaimSpec`` gathers a claim's number and title, the training cells it needs, how it is
measured, its effect (per-seed values and interval, ``claims.ClaimResult``) and its figure. The
workflow (``plan``, ``exp_eval``), the config check and the report (``report.compute_claims``) read
only the registry, so a new claim is one module that calls ``register`` plus its config block
``experiments.claims.<key>`` (issue 11: "one claim, one module"). The six built-in claims are
registered by ``opbench.experiments.builtin_claims``, imported on first use.

Light on purpose: no torch or matplotlib at import, since Snakemake imports it to plan the jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Cell = tuple[str, str, int, int]  # (task, model, train_res, n_train)
INPUTS = ("pde_sets", "antiderivative", "base_runs")


@dataclass
class MeasureContext:
    """What a claim's measurement may read: trained models through ``load(model, res, n, seed)``,
    the experiments config and the claim's block, the ladder, and the evaluation inputs."""

    load: Callable[[str, int, int, int], Any]
    exp: Mapping[str, Any]
    claim: Mapping[str, Any]
    ladder: Sequence[int]
    set_dir: Path | None = None
    anti_tests: Mapping[str, Path] | None = None
    base_tau: float = 0.0
    nu: Mapping[str, float] | None = None
    metrics: Sequence[Any] = ()  # claim 6: base runs' metrics and spectra tables
    spectra: Sequence[Any] = ()
    train_file: Callable[[int], Path] | None = None  # the PDE's training data at a resolution (``train_data``)


@dataclass(frozen=True)
class ClaimSpec:
    """One claim. ``effect(measurements, contender, reference, exp)`` returns its ClaimResult;
    ``cells(exp, claim_cfg)`` the training cells; ``measure(ctx)`` its measurement table;
    ``figure(measurements, exp, path)`` writes its figure; ``inputs`` names the evaluation data it
    reads (the PDE's test sets, the antiderivative task's, or the base pipeline's runs);
    ``train_data(exp, claim_cfg)`` the resolutions of the PDE's training data it reads itself (to fit
    a baseline such as the least-squares map)."""

    key: str
    number: int
    title: str
    effect: Callable[..., Any]
    cells: Callable[[Mapping[str, Any], Mapping[str, Any]], list[Cell]]
    measure: Callable[[MeasureContext], Any]
    figure: Callable[..., Any] | None = None
    inputs: str = "pde_sets"
    train_data: Callable[[Mapping[str, Any], Mapping[str, Any]], list[int]] | None = None

    def __post_init__(self) -> None:
        if self.inputs not in INPUTS:
            raise ValueError(f"claim {self.key}: inputs {self.inputs!r} is not one of {', '.join(INPUTS)}")


_REGISTRY: dict[str, ClaimSpec] = {}
_builtins_loaded = False


def register(spec: ClaimSpec) -> ClaimSpec:
    """Add a claim; refuses a key or number already taken by another claim."""
    _load_builtins()
    if spec.key in _REGISTRY:
        raise ValueError(f"claim {spec.key!r} is already registered")
    taken = {s.number: s.key for s in _REGISTRY.values()}
    if spec.number in taken:
        raise ValueError(f"claim number {spec.number} is already taken by {taken[spec.number]!r}")
    _REGISTRY[spec.key] = spec
    return spec


def unregister(key: str) -> None:
    """Remove a claim (tests register toy claims and take them out again)."""
    _REGISTRY.pop(key, None)


def claim_specs() -> list[ClaimSpec]:
    """Every registered claim, in claim-number order."""
    _load_builtins()
    return sorted(_REGISTRY.values(), key=lambda s: s.number)


def get_claim(key: str) -> ClaimSpec:
    _load_builtins()
    try:
        return _REGISTRY[key]
    except KeyError:
        raise ValueError(f"unknown claim {key!r} (registered: {', '.join(s.key for s in claim_specs())})") from None


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        import opbench.experiments.builtin_claims  # noqa: F401  (registers the six claims)
