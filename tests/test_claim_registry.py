"""One claim, one module: a toy claim defined here, registered, reaches the plan, the config check,
the measurement, the verdict and the claims table without touching any other file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from opbench.config import ConfigError, validate_config
from opbench.experiments import claims as C
from opbench.experiments.claim_results import compute_claims
from opbench.experiments.claims_fragment import claims_fragments
from opbench.experiments.plan import claim_cells, claim_titles, enabled_claims
from opbench.experiments.registry import ClaimSpec, MeasureContext, claim_specs, get_claim, register, unregister

SMOKE = Path(__file__).resolve().parents[1] / "configs" / "smoke.yaml"


class _Fake:
    """A 'trained model' whose error is fixed by its name and seed."""

    def __init__(self, model: str, seed: int) -> None:
        self.error = (0.3 if model == "transformer" else 0.1) * (1 + 0.01 * seed)


def _measure(ctx: MeasureContext) -> pd.DataFrame:
    res, n = int(ctx.exp["train_res"]), int(ctx.exp["n_train"])
    return pd.DataFrame([{"model": m, "seed": s, "err": ctx.load(m, res, n, s).error}
                         for m in ctx.claim["models"] for s in ctx.exp["seeds"]])


def _effect(m: pd.DataFrame, contender: str, reference: str, exp) -> C.ClaimResult:
    err = m.groupby(["model", "seed"])["err"].mean()
    diffs = [math.log(err[contender, s] / err[reference, s]) for s in sorted(m["seed"].unique())]
    return C.claim_result(7, "toy", "A toy claim", "a toy experiment", f"log(err {contender} / err {reference})",
                          diffs, [])


def _figure(m: pd.DataFrame, exp, path: Path) -> Path:
    path.write_text("toy figure")
    return path


@pytest.fixture
def toy():
    spec = register(ClaimSpec(
        "toy", 7, "A toy claim", effect=_effect, measure=_measure, figure=_figure,
        cells=lambda exp, c: [(exp["pde"], m, int(exp["train_res"]), int(exp["n_train"])) for m in c["models"]]))
    yield spec
    unregister("toy")


def _cfg() -> dict:
    cfg = yaml.safe_load(SMOKE.read_text())
    cfg["experiments"]["claims"]["toy"] = {"enabled": True, "models": ["fno", "transformer"],
                                           "contender": "transformer", "reference": "fno"}
    return cfg


def test_the_six_builtin_claims_are_registered_in_order() -> None:
    assert [(s.number, s.key) for s in claim_specs()] == [
        (1, "discretization"), (2, "quadrature"), (3, "finite_vectors"), (4, "scale"), (5, "input_families"),
        (6, "multiscale")]
    assert get_claim("quadrature").inputs == "antiderivative" and get_claim("multiscale").inputs == "base_runs"


def test_a_toy_claim_reaches_the_plan_the_config_check_and_the_table(toy, tmp_path) -> None:
    cfg = _cfg()
    validate_config(cfg)  # its config block is accepted because the claim is registered
    assert enabled_claims(cfg)[-1] == "toy" and claim_titles()["toy"] == (7, "A toy claim")
    exp = cfg["experiments"]
    cells = claim_cells(cfg, "toy")
    # on the PDE's test sets: on the main PDE and on each of experiments.also_pdes
    pdes = [exp["pde"], *exp.get("also_pdes", [])]
    assert cells == [(p, m, exp["train_res"], exp["n_train"]) for p in pdes for m in ("fno", "transformer")]
    ctx = MeasureContext(lambda m, r, n, s: _Fake(m, s), exp, exp["claims"]["toy"], [16, 32])
    table = toy.measure(ctx)
    assert len(table) == 2 * len(exp["seeds"])
    results = compute_claims({"toy": table}, exp, [16, 32], figures={"toy": tmp_path / "toy.png"})
    row = results[-1].row()
    assert (row["claim"], row["key"], row["verdict"]) == (7, "toy", "holds")
    assert row["mean"] == pytest.approx(np.log(3.0))
    assert (tmp_path / "toy.png").read_text() == "toy figure"
    assert [r.verdict for r in results[:6]] == ["not run"] * 6
    front, sections = claims_fragments({"claims": [r.row() | {"details": [], "figure": None} for r in results]})
    assert "7. A toy claim" in front and 'href="#claim-toy"' in front and 'id="claim-toy"' in sections


def test_unregistered_claims_and_clashing_numbers_are_refused(toy) -> None:
    cfg = _cfg()
    cfg["experiments"]["claims"]["toyy"] = cfg["experiments"]["claims"].pop("toy")
    with pytest.raises(ConfigError, match=r"experiments.claims.toyy: not a registered claim \(allowed: discr"):
        validate_config(cfg)
    with pytest.raises(ValueError, match="already registered"):
        register(toy)
    with pytest.raises(ValueError, match="number 7 is already taken by 'toy'"):
        register(ClaimSpec("other", 7, "t", effect=_effect, measure=_measure, cells=lambda e, c: []))
    with pytest.raises(ValueError, match="inputs 'disk' is not one of"):
        ClaimSpec("x", 8, "t", effect=_effect, measure=_measure, cells=lambda e, c: [], inputs="disk")


def test_without_the_toy_module_its_config_block_is_refused() -> None:
    with pytest.raises(ConfigError, match="experiments.claims.toy: not a registered claim"):
        validate_config(_cfg())
