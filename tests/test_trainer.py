"""The Trainer's parts: epoch, evaluate, the resume state, fit, and the step loop other loops share."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from opbench.evaluation import predict, rel_l2
from opbench.training import TrainConfig, Trainer, TrainingInterrupted, load_checkpoint
from opbench.training.datasets import ArrayPairs
from opbench.training.steps import step_loop

HYPER = {"modes": 4, "width": 8, "layers": 2}
CFG = {"epochs": 4, "batch_size": 5, "lr": 5e-3, "step_size": 2, "gamma": 0.5}  # 4 batches per epoch, the last short


def _pairs(n: int, seed: int) -> ArrayPairs:
    rng = np.random.default_rng(seed)
    k = np.fft.rfftfreq(16, 1.0 / 16)
    spec = (rng.standard_normal((n, k.size)) + 1j * rng.standard_normal((n, k.size))) / (1 + k) ** 2
    a = np.fft.irfft(spec, n=16)[:, None].astype(np.float32)
    u = np.fft.irfft(spec * np.exp(-0.1 * k**2) * 1j * k, n=16)[:, None].astype(np.float32)
    return ArrayPairs(a, u)


TRAIN, VAL = _pairs(17, 0), _pairs(6, 1)


def _trainer(out: Path, resume: bool = False, **cfg) -> Trainer:
    out.mkdir(parents=True, exist_ok=True)
    return Trainer("fno", HYPER, TRAIN, VAL, periodic=True, cfg=TrainConfig(**{**CFG, **cfg}), seed=3,
                   checkpoint_path=out / "model.pt", history_path=out / "history.csv", device="cpu",
                   progress=False, resume_path=out / "resume.pt" if resume else None)


def _assert_same_run(a: Path, b: Path) -> None:
    sa, sb = (torch.load(p / "model.pt", weights_only=True) for p in (a, b))
    assert sa["meta"] == sb["meta"] and sa["state_dict"].keys() == sb["state_dict"].keys()
    assert all(torch.equal(v, sb["state_dict"][k]) for k, v in sa["state_dict"].items())  # bit for bit
    cols = ["epoch", "train_loss", "val_loss", "lr"]  # "seconds" is a timing
    pd.testing.assert_frame_equal(pd.read_csv(a / "history.csv")[cols], pd.read_csv(b / "history.csv")[cols],
                                  check_exact=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted fit, on one intra-op thread as every test here (a module fixture is set up
    before conftest's per-test one-thread fixture, and a second thread reorders float sums)."""
    out = tmp_path_factory.mktemp("reference")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        info = _trainer(out).fit()
    finally:
        torch.set_num_threads(before)
    assert info["resumed_from_epoch"] == 0 and len(pd.read_csv(out / "history.csv")) == CFG["epochs"]
    return out


def test_epoch_trains_validates_keeps_the_best_and_evaluate_scores_the_current_weights(tmp_path) -> None:
    t = _trainer(tmp_path)
    before = t.evaluate()
    rows = [t.epoch() for _ in range(2)]
    assert [r["epoch"] for r in rows] == [1, 2] and t.next_epoch == 3
    assert rows[1]["val_loss"] < before  # it learns
    assert t.model.training  # evaluate leaves the model in training mode
    # evaluate() scores the weights as they are: just after epoch 2, its validation loss exactly
    assert t.evaluate() == rows[1]["val_loss"]
    # on other pairs, it is the mean relative L2 of the model's physical-unit predictions
    pred, _ = predict(t.model, t.normalizer, TRAIN.x)
    t.model.train()
    assert t.evaluate(TRAIN) == pytest.approx(float(np.mean(rel_l2(pred, TRAIN.y))), rel=1e-5)
    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history["epoch"]) == [1, 2]
    assert list(history["val_loss"]) == pytest.approx([r["val_loss"] for r in rows])
    model, _, meta = load_checkpoint(tmp_path / "model.pt")
    assert meta["epoch"] == t.best_epoch == 1 + int(np.argmin([r["val_loss"] for r in rows]))
    assert meta["val_rel_l2"] == t.best_val == min(r["val_loss"] for r in rows)


def test_epochs_run_one_by_one_then_fit_equal_one_fit(tmp_path, reference) -> None:
    t = _trainer(tmp_path)
    t.epoch()
    info = t.fit()  # continues at epoch 2
    assert info["resumed_from_epoch"] == 2 and info["best_epoch"] == t.best_epoch
    _assert_same_run(tmp_path, reference)
    with pytest.raises(ValueError, match="all 4 epochs"):
        t.epoch()


def test_a_resume_state_restored_in_another_trainer_continues_bit_for_bit(tmp_path, reference) -> None:
    first = _trainer(tmp_path / "first")
    first.epoch()
    state = first.resume_state()
    assert (state["epoch"], state["batch"], state["perm"]) == (2, 0, None)
    second = _trainer(tmp_path / "second")
    second.restore(state)
    assert second.next_epoch == 2 and second.history == first.history
    second.fit()
    first.fit()
    _assert_same_run(tmp_path / "first", reference)
    _assert_same_run(tmp_path / "second", reference)


def test_sigterm_inside_an_epoch_saves_the_position_and_a_new_fit_resumes_bit_for_bit(tmp_path, reference) -> None:
    """SIGTERM during the 7th training forward pass (epoch 2, batch 3 of 4): the state holds that
    position, and a fresh Trainer of the same setup finishes with the uninterrupted run's weights."""
    t = _trainer(tmp_path, resume=True, checkpoint_every=0)
    calls = []

    def spy(_module, _inputs) -> None:
        if torch.is_grad_enabled():  # training passes only, not validation
            calls.append(1)
            if len(calls) == 7:
                signal.raise_signal(signal.SIGTERM)

    t.model.register_forward_pre_hook(spy)
    with pytest.raises(TrainingInterrupted, match="at epoch 2, batch 3"):
        t.fit()
    state = torch.load(tmp_path / "resume.pt", weights_only=True)
    assert (state["epoch"], state["batch"]) == (2, 3) and state["perm"] is not None
    assert len(pd.read_csv(tmp_path / "history.csv")) == 1  # epoch 2 is not finished
    info = _trainer(tmp_path, resume=True, checkpoint_every=0).fit()
    assert info["resumed_from_epoch"] == 2
    _assert_same_run(tmp_path, reference)
    assert not (tmp_path / "resume.pt").exists()


def test_a_restored_state_of_another_run_differs(tmp_path, reference) -> None:
    """The comparisons above can fail: a run resumed from another seed's state ends elsewhere."""
    other = Trainer("fno", HYPER, TRAIN, VAL, periodic=True, cfg=TrainConfig(**CFG), seed=4,
                    checkpoint_path=tmp_path / "o.pt", history_path=tmp_path / "o.csv", device="cpu", progress=False)
    other.epoch()
    t = _trainer(tmp_path / "run")
    t.restore(other.resume_state())
    t.fit()
    with pytest.raises(AssertionError):
        _assert_same_run(tmp_path / "run", reference)


def test_step_loop_checks_before_stepping_and_steps_a_per_step_scheduler() -> None:
    w = torch.nn.Parameter(torch.tensor([2.0]))
    opt = torch.optim.SGD([w], lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    steps = step_loop(opt, lambda b: b * (w**2).sum(), [1.0, 1.0], scheduler=sched)
    seen = [(b, float(loss.detach())) for b, loss in steps]
    # w <- w - lr * 2w: 2 -> 1.6 (lr 0.1), then 1.6 -> 1.44 (lr 0.05); each loss is before its step
    assert seen == [(1.0, 4.0), (1.0, pytest.approx(2.56))] and float(w.detach()) == pytest.approx(1.44)

    def refuse(loss: torch.Tensor) -> None:
        if not torch.isfinite(loss):
            raise FloatingPointError("nan")

    with pytest.raises(FloatingPointError):
        list(step_loop(opt, lambda b: b * (w**2).sum(), [float("nan")], check=refuse))
    assert float(w.detach()) == pytest.approx(1.44)  # no step was taken on the refused loss
