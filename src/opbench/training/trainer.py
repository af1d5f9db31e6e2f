"""The one training loop every model goes through (the FNO paper's recipe, model-agnostic).

Adam with weight decay, StepLR, relative-L2 loss on physical (decoded) outputs, validation after
every epoch, and the best-validation weights kept: scoring the last epoch instead of the best one is
a harness bug users of the reference codes have reported. ``Trainer`` is one run: ``fit`` (every
epoch, resuming a saved state), ``epoch``, ``evaluate`` and its resume state; ``train`` and
``train_pairs`` are the one-call forms the scripts use.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from opbench.atomic import atomic_write_text
from opbench.errors import OpbenchError
from opbench.models import build_model
from opbench.seeding import stream
from opbench.training.checkpoint import atomic_torch_save, checkpoint_payload
from opbench.training.datasets import ArrayPairs, Pairs, feed_digest, fit_normalizer, pairs_digest, prefetched
from opbench.training.multires import batch_resolution, check_resolutions, restrict
from opbench.training.resume import (
    SigtermGuard,
    TrainingInterrupted,
    fingerprint,
    load_resume,
    rng_state_text,
    save_resume,
    set_rng_state_text,
)
from opbench.training.steps import step_loop

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "lr", "seconds")


@dataclass
class TrainConfig:
    """Optimiser settings; ``TrainConfig(**cfg)`` builds one from a config dict."""

    epochs: int
    batch_size: int
    lr: float = 1e-3
    weight_decay: float = 1e-4
    step_size: int = 100  # epochs between learning-rate decays
    gamma: float = 0.5
    checkpoint_every: int = 1  # epochs between resume states (0: only on SIGTERM); results do not depend on it
    resolutions: list[int] | None = None  # train on these nested grids in turn (``training.multires``)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.step_size < 1 or self.checkpoint_every < 0:
            raise ValueError(f"epochs, batch_size and step_size must be positive, checkpoint_every >= 0: {self}")

    def recipe(self) -> dict[str, Any]:
        """The settings that change the result (``checkpoint_every`` does not; ``resolutions`` only
        when set, so single-resolution recipes keep their former fingerprint)."""
        return {k: v for k, v in asdict(self).items()
                if k != "checkpoint_every" and not (k == "resolutions" and v is None)}


class TrainingDivergedError(OpbenchError, RuntimeError):
    """The loss became NaN/inf: training stops and no model of that state is written."""


def rel_l2_loss(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ||pred - true|| / ||true|| (norms over all non-batch axes)."""
    diff = (pred - true).flatten(1).norm(dim=1)
    return (diff / true.flatten(1).norm(dim=1)).mean()


def _write_history(path: Path, rows: list[dict[str, float]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def _model_kwargs(model_kwargs: dict[str, Any], x_shape: tuple[int, ...], y_shape: tuple[int, ...],
                  periodic: bool) -> dict:
    """Hyperparameters plus the data-derived arguments every model constructor takes (shapes (C, *grid))."""
    derived = {
        "in_channels": int(x_shape[0]),
        "out_channels": int(y_shape[0]),
        "grid": [int(n) for n in x_shape[1:]],
        "periodic": bool(periodic),
    }
    for key, value in derived.items():
        given = model_kwargs.get(key)
        if given is not None and (list(given) if key == "grid" else given) != value:
            raise ValueError(f"model_kwargs[{key!r}] = {given!r} contradicts the data ({value!r})")
    return {**model_kwargs, **derived}


FLOAT32_SAFE = 1.0e18  # squares of larger values overflow float32 inside the norms of the loss


def data_fault(pairs: Pairs) -> str | None:
    """Why the pairs cannot train whatever the learning rate: zero-norm targets or overflowing values.

    Read chunk by chunk (only after a divergence), so a split held lazily is never loaded whole."""
    norms, peaks = [], {"inputs": 0.0, "targets": 0.0}
    for _, x, y in pairs.chunks(pairs.stats_chunk()):
        norms.append(np.sqrt(np.sum(np.square(y.reshape(y.shape[0], -1), dtype=np.float64), axis=1)))
        for name, arr in (("inputs", x), ("targets", y)):
            peaks[name] = max(peaks[name], float(np.max(np.abs(arr))) if arr.size else 0.0)
    norm = np.concatenate(norms) if norms else np.zeros(0)
    if not norm.any():
        return "every training target is zero, and the relative L2 loss divides by its norm"
    if not norm.all():
        return f"training target {int(np.argmin(norm > 0))} is zero, and the relative L2 loss divides by its norm"
    for name, peak in peaks.items():
        if peak > FLOAT32_SAFE:
            return f"training {name} reach {peak:.3g}, whose squares overflow float32 (rescale the data)"
    return None


def _divergence_cause(lr: float, fault: str | None, source: str | None = None) -> str:
    if fault:
        where = f" ({source})" if source else ""
        return f"the data{where} are degenerate: {fault}; a lower training.lr will not help"
    return f"training diverged with lr={lr:g}: lower training.lr"


@torch.inference_mode()
def _evaluate(model, normalizer, batches: Iterator[tuple[torch.Tensor, torch.Tensor]], n: int) -> float:
    model.eval()
    total = 0.0
    for a, u in batches:
        pred = normalizer.decode(model(normalizer.encode(a)))
        total += rel_l2_loss(pred, u).item() * pred.shape[0]
    model.train()
    return total / n


class _Feed:
    """Batches of a split as tensors on the device: indexed on the device when the split is in
    memory, read through ``prefetched`` when it is a lazily read file. Same values either way."""

    def __init__(self, pairs: Pairs, device: str) -> None:
        self.pairs, self.device = pairs, device
        self.tensors = None
        if isinstance(pairs, ArrayPairs):
            self.tensors = tuple(torch.as_tensor(np.ascontiguousarray(v, dtype=np.float32), device=device)
                                 for v in (pairs.x, pairs.y))

    def batches(self, order: torch.Tensor | None, starts: range | list[int],
                batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``order[s : s + batch_size]`` for each start (``order`` None: the pairs in order)."""
        if self.tensors is not None:
            x, y = self.tensors
            for s in starts:
                idx = order[s : s + batch_size] if order is not None else slice(s, s + batch_size)
                yield x[idx], y[idx]
            return
        idx_np = order.cpu().numpy() if order is not None else np.arange(self.pairs.n)
        for xb, yb in prefetched(self.pairs, idx_np, list(starts), batch_size):
            yield torch.from_numpy(xb).to(self.device), torch.from_numpy(yb).to(self.device)


class Trainer:
    """One training run of ``model_name`` on ``train_set``, validated on ``val_set`` after every epoch.

    ``fit()`` continues from a saved resume state if there is one, runs every epoch still to run
    and returns the run's summary; ``epoch()`` runs one epoch; ``evaluate()`` scores the current
    weights; ``resume_state()`` / ``restore()`` are the mid-training state that ``save_resume()``
    writes to ``resume_path`` and a restarted run reads back. Construction draws nothing but the
    model's initial weights (after ``torch.manual_seed(seed)``); each epoch draws its shuffle from
    the ``train-shuffle`` stream of ``seed``. See ``train_pairs`` for the arguments.
    """

    def __init__(
        self,
        model_name: str,
        model_kwargs: dict[str, Any],
        train_set: Pairs,
        val_set: Pairs,
        *,
        periodic: bool,
        cfg: TrainConfig,
        seed: int,
        checkpoint_path: str | os.PathLike,
        history_path: str | os.PathLike,
        device: str | None = None,
        progress: bool = True,
        resume_path: str | os.PathLike | None = None,
        sources: tuple[str, str] | None = None,
    ) -> None:
        if train_set.x_shape[1:] != train_set.y_shape[1:]:
            raise ValueError(f"input grid {train_set.x_shape[1:]} differs from output grid {train_set.y_shape[1:]}")
        self.device = device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")
        self.model_name, self.cfg, self.seed, self.periodic = model_name, cfg, seed, periodic
        self.kwargs = _model_kwargs(model_kwargs, train_set.x_shape, train_set.y_shape, periodic)
        self.resolutions = (check_resolutions(cfg.resolutions, train_set.x_shape[1:], periodic)
                            if cfg.resolutions else None)
        self.train_set, self.val_set = train_set, val_set
        self.sources = sources or (None, None)
        self.checkpoint_path, self.history_path = Path(checkpoint_path), Path(history_path)
        self.resume_path = Path(resume_path) if resume_path is not None else None
        self.progress = progress
        torch.manual_seed(seed)
        self.model = build_model(model_name, **self.kwargs).to(self.device)
        self.n_params = sum(p.numel() for p in self.model.parameters())
        # One pass over the data: normalizer statistics, and the data part of the resume fingerprint.
        digest = pairs_digest([train_set, val_set]) if resume_path is not None else None
        self.normalizer = fit_normalizer(train_set, digest=digest)
        if digest is not None:
            feed_digest(digest, val_set)
        self._feed_train, self._feed_val = _Feed(train_set, self.device), _Feed(val_set, self.device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.sched = torch.optim.lr_scheduler.StepLR(self.opt, step_size=cfg.step_size, gamma=cfg.gamma)
        self.shuffle = stream(seed, "train-shuffle")
        self.fingerprint = (fingerprint(model_name, self.kwargs, cfg.recipe(), seed, [], data_digest=digest.hexdigest())
                            if digest is not None else "")
        # Where the run stands: the next epoch and batch (with the epoch's order and partial loss sum
        # when stopped inside it), the history so far and the best checkpoint so far.
        self.next_epoch, self.next_batch, self.perm, self.partial_total = 1, 0, None, 0.0
        self.history: list[dict[str, float]] = []
        self.best_epoch, self.best_val, self.best_payload = 0, math.inf, None
        self.elapsed_before = 0.0
        self._start = time.perf_counter()
        self._guard = SigtermGuard(enabled=False)

    # -- resume state ---------------------------------------------------------------------------

    def resume_state(self) -> dict[str, Any]:
        """Everything needed to continue exactly where the run stands (tensors, numbers and strings only):
        a copy, which further training does not change."""
        return {
            "fingerprint": self.fingerprint,
            "epoch": self.next_epoch,
            "batch": self.next_batch,
            "perm": self.perm.cpu().clone() if self.perm is not None else None,
            "partial_total": self.partial_total,
            "model": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()},
            "optimizer": copy.deepcopy(self.opt.state_dict()),
            "scheduler": self.sched.state_dict(),
            "shuffle_rng": rng_state_text(self.shuffle),
            "torch_rng": torch.get_rng_state(),
            "history": json.dumps(self.history),
            "best_epoch": self.best_epoch,
            "best_val": self.best_val,
            "best": self.best_payload,
            "elapsed": self.elapsed_before + time.perf_counter() - self._start,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a ``resume_state()`` (of a run with the same fingerprint)."""
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        set_rng_state_text(self.shuffle, state["shuffle_rng"])
        torch.set_rng_state(state["torch_rng"])
        self.history = json.loads(state["history"])
        self.best_epoch, self.best_val = int(state["best_epoch"]), float(state["best_val"])
        self.best_payload = state["best"]
        self.next_epoch, self.next_batch = int(state["epoch"]), int(state["batch"])
        self.perm = state["perm"].to(self.device) if state["perm"] is not None else None
        self.partial_total, self.elapsed_before = float(state["partial_total"]), float(state["elapsed"])

    def save_resume(self) -> None:
        """Write ``resume_state()`` atomically to ``resume_path``."""
        if self.resume_path is None:
            raise ValueError("this Trainer has no resume_path to save its state to")
        save_resume(self.resume_path, self.resume_state())

    def _resume_if_saved(self) -> None:
        """Restore the state at ``resume_path`` if it is this run's, and put back the outputs it knows
        (Snakemake deleted those of the interrupted job)."""
        state = load_resume(self.resume_path, self.fingerprint)
        if state is None:
            return
        self.restore(state)
        if self.best_payload is not None:
            atomic_torch_save(self.best_payload, self.checkpoint_path)
        if self.history:
            _write_history(self.history_path, self.history)
        print(f"opbench: resumed {self.model_name} from {self.resume_path} at epoch {self.next_epoch}, "
              f"batch {self.next_batch}", file=sys.stderr)

    def _diverged(self, message: str) -> TrainingDivergedError:
        if self.resume_path is not None:
            self.resume_path.unlink(missing_ok=True)  # resuming would only diverge again
        return TrainingDivergedError(message)

    # -- training -------------------------------------------------------------------------------

    def evaluate(self, pairs: Pairs | None = None) -> float:
        """Mean relative L2 error of the current weights on ``pairs`` (default: the validation set),
        in batches of ``cfg.batch_size`` without gradients; the model is left in training mode."""
        feed = self._feed_val if pairs is None else _Feed(pairs, self.device)
        n = self.val_set.n if pairs is None else pairs.n
        size = self.cfg.batch_size
        return _evaluate(self.model, self.normalizer, feed.batches(None, range(0, n, size), size), n)

    def _batch_loss(self, epoch: int, batches: int) -> Callable[[tuple[int, tuple[torch.Tensor, torch.Tensor]]],
                                                               torch.Tensor]:
        """The loss of numbered batch ``(b, (x, y))`` of ``epoch``: relative L2 in physical units."""
        def loss(item: tuple[int, tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
            b, (xb, yb) = item
            if self.resolutions:
                r = batch_resolution(self.resolutions, epoch, b, batches)
                xb, yb = restrict(xb, r, self.periodic), restrict(yb, r, self.periodic)
            return rel_l2_loss(self.normalizer.decode(self.model(self.normalizer.encode(xb))), yb)

        return loss

    def _check_loss(self, epoch: int) -> Callable[[torch.Tensor], None]:
        def check(loss: torch.Tensor) -> None:
            if not torch.isfinite(loss):
                kept = f"the checkpoint holds epoch {self.best_epoch}" if self.best_epoch else "no checkpoint written"
                fault = _divergence_cause(self.cfg.lr, data_fault(self.train_set), self.sources[0])
                raise self._diverged(f"training loss became {loss.item()} at epoch {epoch} of {self.model_name}; "
                                     f"{kept} ({fault})")

        return check

    def epoch(self) -> dict[str, float]:
        """Run epoch ``next_epoch`` (from batch ``next_batch`` if the run stopped inside it), validate,
        write the checkpoint if the validation loss is the best so far, append the epoch's row to the
        history (written to ``history_path``) and return the row.

        Raises ``TrainingDivergedError`` on a NaN/inf loss, and ``TrainingInterrupted`` after saving
        the resume state when SIGTERM arrived during ``fit()``.
        """
        epoch, cfg, n = self.next_epoch, self.cfg, self.train_set.n
        if epoch > cfg.epochs:
            raise ValueError(f"all {cfg.epochs} epochs of training.epochs are done")
        t0 = time.perf_counter()
        self.model.train()
        lr = self.opt.param_groups[0]["lr"]
        if self.perm is None:
            self.perm = torch.as_tensor(self.shuffle.permutation(n), device=self.device)
        starts = range(0, n, cfg.batch_size)
        first, total = self.next_batch, self.partial_total
        numbered = zip(range(first, len(starts)), self._feed_train.batches(self.perm, starts[first:], cfg.batch_size),
                       strict=True)
        steps = step_loop(self.opt, self._batch_loss(epoch, len(starts)), numbered, check=self._check_loss(epoch))
        for (b, (xb, _)), loss in steps:
            total += loss.item() * xb.shape[0]
            self.next_batch, self.partial_total = b + 1, total
            if self._guard.requested:
                self.save_resume()
                raise TrainingInterrupted(
                    f"training of {self.model_name} interrupted by SIGTERM at epoch {epoch}, batch {b + 1}; "
                    f"resume state saved to {self.resume_path}"
                )
        self.next_batch, self.partial_total, self.perm = 0, 0.0, None
        self.sched.step()
        train_loss = total / n
        val_loss = self.evaluate()
        if not math.isfinite(val_loss):
            fault = _divergence_cause(cfg.lr, data_fault(self.val_set), self.sources[1])
            raise self._diverged(f"validation loss became {val_loss} at epoch {epoch} of {self.model_name} ({fault})")
        if val_loss < self.best_val:
            self.best_epoch, self.best_val = epoch, val_loss
            meta = {
                "epoch": epoch,
                "val_rel_l2": val_loss,
                "train_loss": train_loss,
                "seed": int(self.seed),
                "periodic": int(self.periodic),
                "epochs": cfg.epochs,
            }
            self.best_payload = checkpoint_payload(self.model_name, self.kwargs, self.model, self.normalizer, meta)
            atomic_torch_save(self.best_payload, self.checkpoint_path)
        row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "lr": lr}
        self.history.append({**row, "seconds": time.perf_counter() - t0})
        _write_history(self.history_path, self.history)
        self.next_epoch = epoch + 1
        return self.history[-1]

    def fit(self) -> dict[str, Any]:
        """Train to ``cfg.epochs``, first continuing from the resume state at ``resume_path`` if it is
        this run's; returns {train_seconds, best_epoch, best_val_rel_l2, n_params, device,
        resumed_from_epoch}. With ``resume_path``, the state is saved every ``cfg.checkpoint_every``
        epochs, and at the next safe point once SIGTERM arrives (then ``TrainingInterrupted``); it is
        deleted when training ends."""
        cfg = self.cfg
        if self.resume_path is not None and self.next_epoch == 1 and self.next_batch == 0:
            self._resume_if_saved()
        resumed_from = self.next_epoch if self.next_epoch > 1 or self.next_batch > 0 else 0
        self._start = time.perf_counter()
        bar = tqdm(range(self.next_epoch, cfg.epochs + 1), desc=f"train {self.model_name}",
                   disable=not self.progress, leave=False)
        try:
            with SigtermGuard(enabled=self.resume_path is not None) as self._guard:
                for epoch in bar:
                    row = self.epoch()
                    bar.set_postfix(train=f"{row['train_loss']:.4g}", val=f"{row['val_loss']:.4g}",
                                    best=self.best_epoch)
                    if self.resume_path is not None and epoch < cfg.epochs:
                        every = cfg.checkpoint_every
                        if self._guard.requested or (every and epoch % every == 0):
                            self.save_resume()
                        if self._guard.requested:
                            raise TrainingInterrupted(
                                f"training of {self.model_name} interrupted by SIGTERM after epoch {epoch}; "
                                f"resume state saved to {self.resume_path}"
                            )
        finally:
            self._guard = SigtermGuard(enabled=False)
        bar.close()
        if self.resume_path is not None:
            self.resume_path.unlink(missing_ok=True)
        return {
            "train_seconds": self.elapsed_before + time.perf_counter() - self._start,
            "best_epoch": self.best_epoch,
            "best_val_rel_l2": self.best_val,
            "n_params": self.n_params,
            "device": str(self.device),
            "resumed_from_epoch": resumed_from,
        }


def train(
    model_name: str,
    model_kwargs: dict[str, Any],
    a_train: np.ndarray,
    u_train: np.ndarray,
    a_val: np.ndarray,
    u_val: np.ndarray,
    **options: Any,
) -> dict[str, Any]:
    """Train ``model_name`` on (a_train -> u_train), arrays (N, C, *grid) float32 (see ``train_pairs``)."""
    if a_train.shape[0] != u_train.shape[0] or a_val.shape[0] != u_val.shape[0]:
        raise ValueError("inputs and outputs must have the same number of samples")
    return train_pairs(model_name, model_kwargs, ArrayPairs(a_train, u_train), ArrayPairs(a_val, u_val), **options)


def train_pairs(model_name: str, model_kwargs: dict[str, Any], train_set: Pairs, val_set: Pairs,
                **options: Any) -> dict[str, Any]:
    """Train ``model_name`` on the pairs of ``train_set``, validating on ``val_set``: ``Trainer(...).fit()``
    with the keyword-only ``options`` of ``Trainer`` (periodic, cfg, seed, checkpoint_path,
    history_path, device, progress, resume_path, sources).

    The sets are held in memory or read lazily from their files (``opbench.training.datasets``);
    the result is the same bit for bit on CPU. Writes the best-validation checkpoint to
    ``checkpoint_path`` and the per-epoch history CSV
    (epoch, train_loss, val_loss, lr, seconds) to ``history_path``, both atomically. Returns
    {train_seconds, best_epoch, best_val_rel_l2, n_params, device, resumed_from_epoch}. Raises
    ``TrainingDivergedError`` naming the epoch if the loss becomes NaN/inf, so no broken model is
    ever written; it names the data instead of the learning rate when they are degenerate
    (``sources``: the train and validation file names for that message).

    With ``resume_path``, a resume state is saved there every ``cfg.checkpoint_every`` epochs and at
    the first safe point (after the current optimizer step) once SIGTERM arrives, which then raises
    ``TrainingInterrupted``. A call that finds a resume state of the same setup continues from it
    (the result is bit for bit that of an uninterrupted run on CPU) and deletes it when done.
    """
    return Trainer(model_name, model_kwargs, train_set, val_set, **options).fit()
