"""Multi-resolution training (issue 11, variant e): nested restriction, the batch schedule, and that
a model trained on several grids is better off the training grid than one trained on one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from opbench.evaluation import rel_l2
from opbench.training import TrainConfig, load_checkpoint, train
from opbench.training import trainer as trainer_module
from opbench.training.multires import batch_resolution, check_resolutions, restrict


def test_restriction_keeps_the_nested_grid_points() -> None:
    x = torch.arange(64.0).reshape(1, 1, 64)
    assert restrict(x, 16, True).flatten().tolist() == list(range(0, 64, 4))
    v = torch.arange(33.0).reshape(1, 1, 33)  # vertex grid: both ends stay
    assert restrict(v, 9, False).flatten().tolist() == list(range(0, 33, 4))
    x2 = torch.arange(36.0).reshape(1, 1, 6, 6)
    assert restrict(x2, 3, True)[0, 0].tolist() == [[0, 2, 4], [12, 14, 16], [24, 26, 28]]


def test_resolutions_not_nested_in_the_data_grid_are_refused() -> None:
    assert check_resolutions([16, 32, 64], (64,), True) == [16, 32, 64]
    with pytest.raises(ValueError, match=r"training.resolutions: \[24, 128\] not usable on the data grid \(64,\)"):
        check_resolutions([16, 24, 128], (64,), True)
    with pytest.raises(ValueError, match="r - 1 dividing n - 1"):
        check_resolutions([16], (33,), False)


def test_batches_cycle_through_the_resolutions_across_epochs() -> None:
    got = [batch_resolution([8, 16, 32], e, b, 2) for e in (1, 2) for b in range(2)]
    assert got == [8, 16, 32, 8]


def _problem(samples: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    spec = np.zeros((samples, n // 2 + 1), dtype=complex)
    spec[:, 1:5] = rng.standard_normal((samples, 4)) + 1j * rng.standard_normal((samples, 4))
    a = np.fft.irfft(spec, n=n, norm="forward")[:, None]
    k = np.fft.rfftfreq(n, 1.0 / n)
    u = np.fft.irfft(np.fft.rfft(a) * np.exp(-((k / 2) ** 2)) * np.exp(-2j * np.pi * k * 0.1), n=n)
    return a.astype(np.float32), u.astype(np.float32)


def test_multires_training_sees_every_grid_and_generalises_off_the_training_grid(tmp_path, monkeypatch) -> None:
    """Same model, data, seed and epochs: trained on 8/16/32 points it is better at 8 points than the
    one trained on 32 points only (a plain patch Transformer: its tokens shrink on coarser grids)."""
    a, u = _problem(64, 32, 0)
    a_va, u_va = _problem(16, 32, 1)
    seen: set[int] = set()
    build = trainer_module.build_model

    def spy(name, **kw):
        model = build(name, **kw)
        model.register_forward_pre_hook(lambda _m, args: seen.add(args[0].shape[-1]))
        return model

    monkeypatch.setattr(trainer_module, "build_model", spy)
    hyper = {"d_model": 32, "heads": 2, "layers": 1, "mlp_ratio": 2, "patch": 2}
    errors = {}
    for label, res in (("single", None), ("multi", [8, 16, 32])):
        seen.clear()
        cfg = TrainConfig(epochs=40, batch_size=16, lr=3e-3, resolutions=res)
        train("transformer", hyper, a, u, a_va, u_va, periodic=True, cfg=cfg, seed=0, progress=False,
              checkpoint_path=tmp_path / f"{label}.pt", history_path=tmp_path / f"{label}.csv")
        assert seen == ({8, 16, 32} if res else {32})
        model, norm, _ = load_checkpoint(tmp_path / f"{label}.pt")
        with torch.no_grad():
            coarse = torch.as_tensor(a_va[..., ::4])
            pred = norm.decode(model(norm.encode(coarse))).numpy()
        errors[label] = float(rel_l2(pred, u_va[..., ::4]).mean())
    assert errors["multi"] < 0.5 * errors["single"], errors
