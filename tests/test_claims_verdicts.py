"""The claims table's verdicts: equivalence margin from the config, Holm across claims, and the
'not converged' flag read from real checkpoints and train_info files."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from opbench.experiments import claims as C
from opbench.experiments.claim_results import apply_margin_and_holm, compute_claims
from opbench.experiments.claims_fragment import claims_fragments
from opbench.experiments.convergence import run_epochs, unconverged_runs
from opbench.models import build_model
from opbench.training import Normalizer, save_checkpoint


def _discretization_table(growth: float, jitter=(0.99, 1.0, 1.01)) -> pd.DataFrame:
    """FNO flat, Transformer error times growth (times a per-seed jitter) at the finest rung."""
    rows = []
    for seed, j in enumerate(jitter):
        for model, g in (("fno", 1.0), ("transformer", growth * j)):
            for r in (32, 64, 128):
                for truth in ("restricted", "fresh"):
                    rows.append({"model": model, "seed": seed, "train_res": 32, "n_train": 8, "eval_res": r,
                                 "truth": truth, "rel_l2": 0.1 * (g if r == 128 else 1.0)})
    return pd.DataFrame(rows)


def _exp(**extra) -> dict:
    return {"train_res": 32, "n_train": 8,
            "claims": {"discretization": {"contender": "transformer", "reference": "fno"}}, **extra}


def test_an_effect_inside_the_margin_is_equivalent_and_the_margin_comes_from_the_config() -> None:
    """Growth 1.1x (effect log 1.1 = 0.095): 'holds' with no margin, 'equivalent' within the default
    log 1.3, 'holds' again with a claim-level margin of 0.05."""
    m = {"discretization": _discretization_table(1.1)}
    default = compute_claims(m, _exp(), [32, 64, 128])[0]
    assert default.verdict == "equivalent" and default.margin == pytest.approx(math.log(1.3))
    assert compute_claims(m, _exp(margin=0.0), [32, 64, 128])[0].verdict == "holds"
    exp = _exp()
    exp["claims"]["discretization"]["margin"] = 0.05
    assert compute_claims(m, exp, [32, 64, 128])[0].verdict == "holds"


def test_a_claim_beyond_the_margin_by_a_wide_interval_is_inconclusive() -> None:
    """Effects 0.4, 0.5, 0.6: mean 0.5, 95% interval [0.25, 0.75], above zero (holds without a margin)
    but reaching below log 1.3 = 0.262 (the old table's claim 1 was 0.45 [0.19, 0.71])."""
    m = {"discretization": _discretization_table(1.0, jitter=tuple(np.exp([0.4, 0.5, 0.6])))}
    assert compute_claims(m, _exp(), [32, 64, 128])[0].verdict == "inconclusive"
    assert compute_claims(m, _exp(margin=0.0), [32, 64, 128])[0].verdict == "holds"


def _result(key: str, number: int, values: list[float]) -> C.ClaimResult:
    r = C._result(number, key, "t", "e", "x", values, [])
    return r


def test_holm_across_the_claims_of_one_report() -> None:
    """A marginal claim (p about 0.013 alone) is 'holds' alone, 'inconclusive' beside four others;
    'not run' rows take no part."""
    marginal = [0.5, 0.7, 0.9, 1.1, 1.3]  # t = 4.24 against the margin 0.3: two-sided p = 0.013
    alone = [_result("discretization", 1, marginal)]
    apply_margin_and_holm(alone, {"margin": 0.3})
    assert alone[0].verdict == "holds" and 0.01 < alone[0].p_holm < 0.05
    many = [_result("discretization", 1, marginal)] + [
        _result(k, i, [0.0, 0.4, -0.4]) for i, k in ((2, "quadrature"), (3, "finite_vectors"), (4, "scale"),
                                                     (5, "input_families"))]
    many.append(C.not_run("multiscale", "not run: disabled"))
    apply_margin_and_holm(many, {"margin": 0.3})
    assert many[0].verdict == "inconclusive" and many[0].p_holm == pytest.approx(min(1, 5 * many[0].p))
    assert many[-1].verdict == "not run"
    assert all(r.verdict == "inconclusive" for r in many[1:5])


def _checkpoint(path, best: int, epochs: int) -> None:
    model = build_model("mlp", in_channels=1, out_channels=1, grid=(8,), hidden=4, layers=1)
    norm = Normalizer.fit(np.zeros((2, 1, 8)), np.zeros((2, 1, 8)))
    path.parent.mkdir(parents=True)
    save_checkpoint(path, "mlp", {"in_channels": 1, "out_channels": 1, "grid": [8], "hidden": 4, "layers": 1},
                    model, norm, {"epoch": best, "epochs": epochs})


def test_not_converged_runs_are_read_from_checkpoints_and_train_info(tmp_path) -> None:
    runs = tmp_path / "results" / "experiments" / "runs" / "heat" / "transformer" / "r32_n8"
    _checkpoint(runs / "seed0" / "model.pt", 20, 20)   # best at the last epoch: not converged
    _checkpoint(runs / "seed1" / "model.pt", 12, 20)   # converged
    info = tmp_path / "results" / "runs" / "navier_stokes" / "fno" / "seed2" / "train_info.json"
    info.parent.mkdir(parents=True)
    info.write_text(json.dumps({"best_epoch": 19, "recipe": {"epochs": 20}}))
    assert run_epochs(runs / "seed1" / "model.pt") == (12, 20)
    paths = [runs / "seed0" / "model.pt", runs / "seed1" / "model.pt", info]
    assert unconverged_runs(paths) == ["heat/transformer/r32_n8/seed0", "navier_stokes/fno/seed2"]
    # the flag reaches the claims table and the claim's section
    results = compute_claims({"discretization": _discretization_table(3.0)}, _exp(), [32, 64, 128],
                             unconverged={"discretization": unconverged_runs(paths)})
    row = results[0].row()
    assert row["n_unconverged"] == 2 and "navier_stokes/fno/seed2" in row["unconverged"]
    front, sections = claims_fragments({"claims": [r.row() | {"details": [], "figure": None} for r in results]})
    assert "<th>not converged</th>" in front and "<td>2 runs</td>" in front and "<th>p (Holm)</th>" in front
    assert "heat/transformer/r32_n8/seed0" in sections and "margin 0.262" in sections
    assert front.count("<td>none</td>") == 0  # the five 'not run' rows show a dash, not 'none'


def test_the_best_transformer_variant_is_judged_beside_the_plain_one() -> None:
    """Plain Transformer error grows 3x (holds); of two variants, the one that stays flat is chosen
    and its verdict is 'equivalent'; both appear side by side in the table."""
    plain = _discretization_table(3.0)
    flat = plain[plain["model"] == "fno"].assign(model="transformer_point")
    half = _discretization_table(1.5)
    half = half[half["model"] == "transformer"].assign(model="transformer_rms")
    m = {"discretization": pd.concat([plain, flat, half], ignore_index=True)}
    exp = _exp()
    exp["claims"]["discretization"]["variants"] = ["transformer_rms", "transformer_point"]
    r = compute_claims(m, exp, [32, 64, 128])[0]
    assert r.verdict == "holds" and r.interval.mean == pytest.approx(math.log(3.0), abs=1e-3)
    assert r.variant.contender == "transformer_point" and r.variant.verdict == "equivalent"
    row = r.row()
    assert row["best_variant"] == "transformer_point" and row["variant_verdict"] == "equivalent"
    front, _ = claims_fragments({"claims": [row | {"details": [], "figure": None}]})
    assert "<th>best Transformer variant</th>" in front and "transformer_point: 0 [" in front
    # without variants the column is not shown
    front, _ = claims_fragments({"claims": [compute_claims(m, _exp(), [32, 64, 128])[0].row() | {"details": []}]})
    assert "best Transformer variant" not in front


def test_variants_must_be_models_of_their_claim() -> None:
    from pathlib import Path

    import yaml

    from opbench.config import ConfigError, validate_config

    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / "smoke.yaml").read_text())
    cfg["experiments"]["claims"]["scale"]["variants"] = ["galerkin"] if "galerkin" not in \
        cfg["experiments"]["claims"]["scale"]["models"] else ["deeponet"]
    with pytest.raises(ConfigError, match=r"experiments.claims.scale.variants: '\w+' must be one of its models"):
        validate_config(cfg)
