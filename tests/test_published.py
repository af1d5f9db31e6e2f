"""Published FNO-paper numbers: matched only on the published setup, budget differences stated."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from opbench.config import validate_config
from opbench.report.published import comparison, find

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def _metrics(rows: list[tuple[str, str, int, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"pde": p, "model": m, "seed": 0, "train_res": tr, "eval_res": er, "rel_l2_mean": e}
         for p, m, tr, er, e in rows]
    )


def test_find_needs_the_published_physics_and_resolution() -> None:
    assert find("navier_stokes", "fno", 64, {"nu": 1e-3}).rel_l2 == 0.0128
    assert find("navier_stokes", "fno", 64, {"nu": 1e-4}).rel_l2 == 0.0973
    assert find("navier_stokes", "fno", 64, {"nu": 2e-3}) is None
    assert find("navier_stokes", "transformer", 64, {"nu": 1e-3}) is None
    assert find("darcy", "fno", 85, {}).rel_l2 == 0.0108  # solver defaults are the paper's 12/3
    assert find("darcy", "fno", 85, {"a_low": 4.0}) is None
    assert find("burgers", "fno", 1024, {"nu": 0.1, "T": 1.0}).rel_l2 == 0.0160
    assert find("burgers", "fno", 128, {"nu": 0.1, "T": 1.0}) is None


def test_paper_preset_compares_at_the_training_resolution_only() -> None:
    cfg = validate_config(yaml.safe_load((ROOT / "configs/paper.yaml").read_text()))
    metrics = _metrics([
        ("ns_nu1e3", "fno_ns", 64, 64, 0.0256), ("ns_nu1e3", "fno_ns", 64, 256, 0.03),
        ("ns_nu1e3", "transformer", 64, 64, 0.05), ("darcy", "fno_darcy", 85, 85, 0.0108),
        ("burgers", "fno_burgers", 1024, 1024, 0.008),
    ])
    table = comparison(metrics, cfg).set_index(["pde", "model"])
    assert sorted(table.index) == [("burgers", "fno_burgers"), ("darcy", "fno_darcy"), ("ns_nu1e3", "fno_ns")]
    assert table.loc[("ns_nu1e3", "fno_ns"), "ratio ours / published"] == pytest.approx(2.0)
    assert table.loc[("darcy", "fno_darcy"), "ratio ours / published"] == pytest.approx(1.0)
    assert (table["budget"] == "the paper's recipe").all()


def test_default_config_match_is_labelled_a_different_budget() -> None:
    cfg = validate_config(yaml.safe_load((ROOT / "config.yaml").read_text()))
    table = comparison(_metrics([("navier_stokes", "fno2d", 64, 64, 0.1)]), cfg)
    assert len(table) == 1 and table["published"].iloc[0] == 0.0128
    budget = table["budget"].iloc[0]
    assert budget.startswith("different training budget") and "paper 1000" in budget and "T=16" in budget
