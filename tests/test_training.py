"""Training layer: normalizer, checkpoints, and the training loop's promises."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from opbench.evaluation import predict, rel_l2
from opbench.models import build_model
from opbench.training import Normalizer, TrainConfig, load_checkpoint, save_checkpoint, train


def _smooth_inputs(samples: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spec = np.zeros((samples, n // 2 + 1), dtype=complex)
    spec[:, 1:5] = rng.standard_normal((samples, 4)) + 1j * rng.standard_normal((samples, 4))
    return np.fft.irfft(spec, n=n, norm="forward")[:, None].astype(np.float32)


def _smooth(a: np.ndarray) -> np.ndarray:
    k = np.fft.rfftfreq(a.shape[-1], 1.0 / a.shape[-1])
    return np.fft.irfft(np.fft.rfft(a) * np.exp(-((k / 2) ** 2)), n=a.shape[-1]).astype(np.float32) + 1.0


# ---------------------------------------------------------------- normalizer


def test_normalizer_uses_per_channel_scalars_and_round_trips() -> None:
    rng = np.random.default_rng(0)
    a = np.stack([rng.normal(5, 2, (40, 16)), rng.normal(-1, 0.1, (40, 16))], axis=1)
    u = rng.normal(3, 4, (40, 1, 16))
    norm = Normalizer.fit(a, u)
    assert norm.in_mean.shape == (2,) and norm.out_std.shape == (1,)
    enc = norm.encode(torch.tensor(a, dtype=torch.float32))
    assert torch.allclose(enc.mean(dim=(0, 2)), torch.zeros(2), atol=1e-5)
    assert torch.allclose(enc.std(dim=(0, 2), unbiased=False), torch.ones(2), atol=1e-5)
    ut = torch.tensor(u, dtype=torch.float32)
    assert torch.allclose(norm.decode(norm.encode_output(ut)), ut, atol=1e-5)
    # Scalar statistics apply unchanged to any resolution.
    assert norm.encode(torch.zeros(1, 2, 7)).shape == (1, 2, 7)
    again = Normalizer.from_state(norm.state())
    assert all(torch.equal(again.state()[k], v) for k, v in norm.state().items())
    with pytest.raises(ValueError, match="lacks in_std"):
        Normalizer.from_state({"in_mean": norm.in_mean, "out_mean": norm.out_mean, "out_std": norm.out_std})


def test_normalizer_survives_constant_channel() -> None:
    a = np.ones((4, 1, 8))
    norm = Normalizer.fit(a, a)
    assert torch.isfinite(norm.encode(torch.ones(1, 1, 8))).all()


# ---------------------------------------------------------------- checkpoints


@pytest.mark.parametrize(
    ("name", "hyper"),
    [("fno", {"modes": 4, "width": 8}), ("transformer", {"d_model": 16, "heads": 2, "layers": 1})],
)
def test_checkpoint_round_trip_gives_identical_outputs(tmp_path, name: str, hyper: dict) -> None:
    torch.manual_seed(0)
    kwargs = {"in_channels": 1, "out_channels": 1, "grid": (16,), "periodic": True, **hyper}
    model = build_model(name, **kwargs)
    norm = Normalizer(torch.tensor([0.5]), torch.tensor([2.0]), torch.tensor([-1.0]), torch.tensor([3.0]))
    path = tmp_path / "sub" / "model.pt"
    save_checkpoint(path, name, kwargs, model, norm, {"epoch": 3, "val_rel_l2": 0.25, "note": "x"})
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temporary file left behind
    model2, norm2, meta = load_checkpoint(path)
    assert meta == {"epoch": 3, "val_rel_l2": 0.25, "note": "x"}
    a = np.random.default_rng(1).standard_normal((5, 1, 16)).astype(np.float32)
    p1, _ = predict(model, norm, a)
    p2, _ = predict(model2, norm2, a)
    assert np.array_equal(p1, p2)


def test_checkpoint_refuses_bad_meta(tmp_path) -> None:
    model = build_model("mlp", in_channels=1, out_channels=1, grid=(8,), hidden=4, layers=1)
    norm = Normalizer.fit(np.ones((2, 1, 8)), np.ones((2, 1, 8)))
    with pytest.raises(TypeError, match="str/int/float"):
        save_checkpoint(tmp_path / "m.pt", "mlp", {}, model, norm, {"bad": [1, 2]})


def test_load_refuses_files_that_are_not_checkpoints(tmp_path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a checkpoint\n")
    with pytest.raises(ValueError, match="not a readable opbench checkpoint") as err:
        load_checkpoint(text)
    assert "\n" not in str(err.value)
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(ValueError, match="not an opbench checkpoint.*format None"):
        load_checkpoint(other)
    torch.save({"format": "opbench-checkpoint-v1", "model": "resnet"}, other)
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        load_checkpoint(other)


# ---------------------------------------------------------------- training loop


def _run(tmp_path, tag: str, seed: int = 7, epochs: int = 6) -> tuple[dict, object]:
    a_tr = _smooth_inputs(24, 16, 0)
    u_tr = _smooth(a_tr)
    # Validation targets are the NEGATED operator: the better the model fits the training task,
    # the worse it does here, so validation loss rises and the best epoch is not the last.
    a_va = _smooth_inputs(8, 16, 1)
    u_va = -_smooth(a_va)
    cfg = TrainConfig(**{"epochs": epochs, "batch_size": 8, "lr": 5e-3, "step_size": 2, "gamma": 0.5})
    out = train(
        "fno",
        {"modes": 4, "width": 8, "layers": 2},
        a_tr,
        u_tr,
        a_va,
        u_va,
        periodic=True,
        cfg=cfg,
        seed=seed,
        checkpoint_path=tmp_path / f"{tag}.pt",
        history_path=tmp_path / f"{tag}.csv",
        device="cpu",
        progress=False,
    )
    return out, (a_va, u_va)


def test_train_keeps_best_validation_checkpoint_and_writes_history(tmp_path) -> None:
    out, (a_va, u_va) = _run(tmp_path, "run")
    with open(tmp_path / "run.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["epoch", "train_loss", "val_loss", "lr", "seconds"]
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [float(r["lr"]) for r in rows] == pytest.approx([5e-3, 5e-3, 2.5e-3, 2.5e-3, 1.25e-3, 1.25e-3])
    val = np.array([float(r["val_loss"]) for r in rows])
    best = int(np.argmin(val)) + 1
    assert val[-1] > val.min()  # validation did get worse later, so "best" differs from "last"
    model, norm, meta = load_checkpoint(tmp_path / "run.pt")
    assert out["best_epoch"] == meta["epoch"] == best
    assert out["best_val_rel_l2"] == pytest.approx(val.min(), rel=1e-6)
    # The stored weights really are that epoch's: they reproduce its validation loss.
    pred, _ = predict(model, norm, a_va)
    assert rel_l2(pred, u_va).mean() == pytest.approx(val.min(), rel=1e-5)
    assert out["n_params"] == sum(p.numel() for p in model.parameters())
    assert out["device"] == "cpu" and out["train_seconds"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.csv", "run.pt"]


def test_train_is_bitwise_reproducible_for_a_seed(tmp_path) -> None:
    _run(tmp_path, "a", epochs=2)
    _run(tmp_path, "b", epochs=2)
    _run(tmp_path, "c", seed=8, epochs=2)
    sa, sb, sc = (torch.load(tmp_path / f"{t}.pt", weights_only=True)["state_dict"] for t in "abc")
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_train_fails_loudly_on_nan_loss(tmp_path) -> None:
    a = _smooth_inputs(8, 16, 0)
    u = _smooth(a)
    u[3, 0, 5] = np.nan
    with pytest.raises(RuntimeError, match="at epoch 1 of fno; no checkpoint written"):
        train(
            "fno",
            {"modes": 4, "width": 8, "layers": 1},
            a,
            u,
            a,
            u,
            periodic=True,
            cfg=TrainConfig(epochs=2, batch_size=4),
            seed=0,
            checkpoint_path=tmp_path / "m.pt",
            history_path=tmp_path / "h.csv",
            device="cpu",
            progress=False,
        )
    assert not (tmp_path / "m.pt").exists()


def test_train_rejects_kwargs_that_contradict_the_data(tmp_path) -> None:
    a = _smooth_inputs(4, 16, 0)
    with pytest.raises(ValueError, match="grid"):
        train(
            "mlp",
            {"grid": [32], "hidden": 4, "layers": 1},
            a,
            a,
            a,
            a,
            periodic=True,
            cfg=TrainConfig(epochs=1, batch_size=2),
            seed=0,
            checkpoint_path=tmp_path / "m.pt",
            history_path=tmp_path / "h.csv",
            progress=False,
        )
