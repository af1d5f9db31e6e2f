"""One inference job per PDE: its runs, evaluated in one process, write what a job per run would."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from opbench.data.generate import generate_dataset
from opbench.evaluation.ladder import MetricsError, evaluate_ladder
from opbench.evaluation.runs import RunToEvaluate, evaluate_runs
from opbench.training import TrainConfig
from opbench.training.checkpoint import CheckpointError
from opbench.training.datasets import open_pairs
from opbench.training.tasks import StaticTask
from opbench.training.trainer import train_pairs

HEAT = {
    "type": "heat",
    "params": {"alpha": 0.01, "T": 0.5},
    "grf": {"alpha": 2.0, "tau": 5.0, "sigma": 25.0},
    "solver": {},
    "fine_res": 32,
    "ladder": [16, 32],
    "train_res": 16,
    "samples": {"train": 8, "val": 4, "test": 5},
}
FILES = ("metrics.csv", "examples.nc", "steps.csv", "spectra.csv")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict[int, Path], list[dict]]:
    """Heat data at 16 and 32 points, and two tiny FNOs of different widths trained at 16."""
    tmp = tmp_path_factory.mktemp("runs")
    files = {}
    for split in ("train", "val", "test"):
        outs = {r: tmp / f"{split}_s{r}.nc" for r in HEAT["ladder"]}
        generate_dataset(pde_name="heat", cfg=HEAT, split=split, seed=3, outputs=outs, progress=False)
        files[split] = outs
    runs = []
    for width in (4, 6):
        hyper = {"modes": 4, "width": width, "layers": 1}
        ckpt = tmp / f"fno_w{width}.pt"
        info = train_pairs("fno", hyper, open_pairs(files["train"][16], StaticTask()),
                           open_pairs(files["val"][16], StaticTask()), periodic=True,
                           cfg=TrainConfig(epochs=1, batch_size=4), seed=width, checkpoint_path=ckpt,
                           history_path=tmp / f"h{width}.csv", device="cpu", progress=False)
        (tmp / f"info{width}.json").write_text(json.dumps(info))
        runs.append({"checkpoint": ckpt, "train_info": tmp / f"info{width}.json", "hyper": hyper,
                     "labels": {"pde": "heat", "model": f"fno_w{width}", "model_type": "fno", "seed": 0,
                                "train_res": 16, "fine_res": 32}})
    return tmp, files["test"], runs


def _run(spec: dict, out: Path, checkpoint: Path | None = None) -> RunToEvaluate:
    out.mkdir(parents=True, exist_ok=True)
    return RunToEvaluate(checkpoint=checkpoint or spec["checkpoint"], train_info=spec["train_info"],
                         labels=spec["labels"], expect_model="fno", expect_kwargs=spec["hyper"],
                         **{name.split(".")[0]: out / name for name in FILES})


def test_runs_evaluated_together_write_what_each_alone_writes(trained, tmp_path: Path) -> None:
    _, tests, specs = trained
    together = [_run(s, tmp_path / "together" / s["labels"]["model"]) for s in specs]
    evaluate_runs(together, test_files=tests, task=StaticTask(), n_examples=2, progress=False)
    for spec, run in zip(specs, together, strict=True):
        alone = tmp_path / "alone" / spec["labels"]["model"]
        alone.mkdir(parents=True)
        evaluate_ladder(checkpoint=spec["checkpoint"], test_files=tests,
                        train_info=json.loads(Path(spec["train_info"]).read_text()), labels=spec["labels"],
                        metrics_path=alone / "metrics.csv", examples_path=alone / "examples.nc", n_examples=2,
                        task=StaticTask(), steps_path=alone / "steps.csv", spectra_path=alone / "spectra.csv",
                        expect_model="fno", expect_kwargs=spec["hyper"])
        a = pd.read_csv(run.metrics).drop(columns="infer_seconds_per_sample")
        b = pd.read_csv(alone / "metrics.csv").drop(columns="infer_seconds_per_sample")
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert list(a["eval_res"]) == [16, 32] and set(a["model"]) == {spec["labels"]["model"]}
        for name in ("steps.csv", "spectra.csv"):
            assert Path(getattr(run, name.split(".")[0])).read_text() == (alone / name).read_text()
        with xr.open_dataset(run.examples) as x, xr.open_dataset(alone / "examples.nc") as y:
            assert x.identical(y) and x["pred_s32"].sizes["example"] == 2
    # the two runs are different models: their errors differ
    m0, m1 = (pd.read_csv(r.metrics)["rel_l2_mean"] for r in together)
    assert not m0.equals(m1)


def test_a_bad_checkpoint_of_any_run_stops_the_job_before_any_inference(trained, tmp_path: Path) -> None:
    tmp, tests, specs = trained
    bad = tmp_path / "bad.pt"
    bad.write_text("model weights: see the shared drive\n")
    runs = [_run(specs[0], tmp_path / "a"), _run(specs[1], tmp_path / "b", checkpoint=bad)]
    with pytest.raises(CheckpointError, match="bad.pt: not a readable opbench checkpoint"):
        evaluate_runs(runs, test_files=tests, task=StaticTask(), n_examples=2, progress=False)
    assert not any((tmp_path / d / name).exists() for d in ("a", "b") for name in FILES)


def test_a_non_finite_metric_names_the_run_checkpoint_and_the_file(trained, tmp_path: Path) -> None:
    _, tests, specs = trained
    payload = torch.load(specs[1]["checkpoint"], weights_only=True)
    payload["state_dict"] = {k: v * 1e30 if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    huge = tmp_path / "huge.pt"
    torch.save(payload, huge)
    runs = [_run(specs[0], tmp_path / "a"), _run(specs[1], tmp_path / "b", checkpoint=huge)]
    with pytest.raises(MetricsError, match=r"huge.pt: metric rel_l2_mean came out nan on .*test_s16.nc"):
        evaluate_runs(runs, test_files=tests, task=StaticTask(), n_examples=2, progress=False)
    assert not (tmp_path / "b" / "metrics.csv").exists()


def test_each_checkpoint_is_read_once_per_job_and_trained_predicts_through_the_one_path(trained, tmp_path: Path,
                                                                                          monkeypatch) -> None:
    from opbench.evaluation.inference import predict
    from opbench.experiments.apply import Trained

    _, tests, specs = trained
    reads: list[str] = []
    load = torch.load

    def counting(f, *args, **kwargs):
        reads.append(Path(f).name)
        return load(f, *args, **kwargs)

    monkeypatch.setattr(torch, "load", counting)
    evaluate_runs([_run(s, tmp_path / s["labels"]["model"]) for s in specs], test_files=tests, task=StaticTask(),
                  n_examples=2, progress=False)
    assert sorted(reads) == sorted(Path(s["checkpoint"]).name for s in specs)  # checked and evaluated: one read
    reads.clear()
    t = Trained(specs[0]["checkpoint"])
    assert reads == [Path(specs[0]["checkpoint"]).name] and (t.kind, t.grid, t.periodic) == ("fno", (16,), True)
    a = xr.open_dataset(tests[32])["a"].values
    direct, _ = predict(t.model, t.normalizer, a[:, None], batch_size=2)
    assert np.array_equal(t.predict(a, batch=2), direct[:, 0])
