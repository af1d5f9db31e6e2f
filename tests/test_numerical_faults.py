"""Numerical faults stop with a message naming what went wrong, and write nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from opbench.data.generate import generate_dataset, solve_chunk
from opbench.solvers import SolverInstabilityError
from opbench.training.resume import save_resume
from opbench.training.trainer import TrainConfig, TrainingDivergedError, train

ROOT = Path(__file__).resolve().parents[1]


def _unstable_burgers() -> dict:
    cfg = yaml.safe_load((ROOT / "tests/fixtures/tiny.yaml").read_text())["pdes"]["burgers"]
    cfg["params"].update(nu=1.0e-4, T=1.0)
    cfg["solver"]["dt"] = 0.05
    return cfg


def test_unstable_solve_names_the_sample_of_the_split_and_the_parameters() -> None:
    with pytest.raises(SolverInstabilityError) as err:
        solve_chunk("burgers", _unstable_burgers(), 3, "burgers", "val", 2, 4)
    msg = str(err.value)
    assert "sample 2 of the val split went unstable" in msg and "of the batch" not in msg
    assert all(s in msg for s in ("nu=0.0001", "dt=0.05", "n=64", "seed 3")) and "\n" not in msg
    assert err.value.sample == 2


def test_unstable_generation_writes_no_file(tmp_path: Path) -> None:
    outputs = {r: tmp_path / f"train_s{r}.nc" for r in (16, 32)}
    with pytest.raises(SolverInstabilityError, match=r"sample \d of the train split .*in the self-check"):
        generate_dataset(pde_name="burgers", cfg=_unstable_burgers(), split="train", seed=3, outputs=outputs,
                         progress=False)
    assert list(tmp_path.iterdir()) == []


def test_diverging_training_writes_no_model_and_drops_its_resume_state(tmp_path: Path) -> None:
    x = np.linspace(0, 1, 16, endpoint=False)
    a = np.stack([np.sin(2 * np.pi * (k + 1) * x) for k in range(8)])[:, None].astype(np.float32)
    resume = tmp_path / "resume.pt"
    save_resume(resume, {"fingerprint": "stale"})
    with pytest.raises(TrainingDivergedError, match="at epoch 1 of fno; no checkpoint written .*lr=1e\\+30"):
        train("fno", {"modes": 4, "width": 8, "layers": 2}, a, 2 * a, a, 2 * a, periodic=True,
              cfg=TrainConfig(epochs=3, batch_size=2, lr=1e30), seed=0, checkpoint_path=tmp_path / "m.pt",
              history_path=tmp_path / "h.csv", device="cpu", progress=False, resume_path=resume)
    assert list(tmp_path.iterdir()) == []
