"""The one training loop every model goes through (the FNO paper's recipe, model-agnostic).

Adam with weight decay, StepLR, relative-L2 loss on physical (decoded) outputs, validation after
every epoch, and the best-validation weights kept: scoring the last epoch instead of the best one is
a harness bug users of the reference codes have reported.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from collections.abc import Iterator
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


def train_pairs(
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
) -> dict[str, Any]:
    """Train ``model_name`` on the pairs of ``train_set``, validating on ``val_set``.

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
    if train_set.x_shape[1:] != train_set.y_shape[1:]:
        raise ValueError(f"input grid {train_set.x_shape[1:]} differs from output grid {train_set.y_shape[1:]}")
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    kwargs = _model_kwargs(model_kwargs, train_set.x_shape, train_set.y_shape, periodic)
    resolutions = check_resolutions(cfg.resolutions, train_set.x_shape[1:], periodic) if cfg.resolutions else None
    train_src, val_src = sources or (None, None)
    torch.manual_seed(seed)
    model = build_model(model_name, **kwargs).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    # One pass over the data: normalizer statistics, and the data part of the resume fingerprint.
    digest = pairs_digest([train_set, val_set]) if resume_path is not None else None
    normalizer = fit_normalizer(train_set, digest=digest)
    if digest is not None:
        feed_digest(digest, val_set)
    feed_tr, feed_va = _Feed(train_set, device), _Feed(val_set, device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
    shuffle = stream(seed, "train-shuffle")
    history: list[dict[str, float]] = []
    best_epoch, best_val, best_payload = 0, math.inf, None
    start_epoch, start_batch, perm, partial_total, elapsed_before = 1, 0, None, 0.0, 0.0
    n = train_set.n
    batches = range(0, n, cfg.batch_size)
    finger = ""
    if resume_path is not None:
        finger = fingerprint(model_name, kwargs, cfg.recipe(), seed, [], data_digest=digest.hexdigest())
        state = load_resume(resume_path, finger)
        if state is not None:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            set_rng_state_text(shuffle, state["shuffle_rng"])
            torch.set_rng_state(state["torch_rng"])
            history = json.loads(state["history"])
            best_epoch, best_val, best_payload = int(state["best_epoch"]), float(state["best_val"]), state["best"]
            start_epoch, start_batch = int(state["epoch"]), int(state["batch"])
            perm = state["perm"].to(device) if state["perm"] is not None else None
            partial_total, elapsed_before = float(state["partial_total"]), float(state["elapsed"])
            # Snakemake deleted the outputs of the interrupted job: put back what the state knows.
            if best_payload is not None:
                atomic_torch_save(best_payload, checkpoint_path)
            if history:
                _write_history(Path(history_path), history)
            print(f"opbench: resumed {model_name} from {resume_path} at epoch {start_epoch}, "
                  f"batch {start_batch}", file=sys.stderr)
    resumed_from = start_epoch if start_epoch > 1 or start_batch > 0 else 0
    start = time.perf_counter()

    def save_state(epoch: int, batch: int, perm_now: torch.Tensor | None, total: float) -> None:
        save_resume(resume_path, {
            "fingerprint": finger,
            "epoch": epoch,
            "batch": batch,
            "perm": perm_now.cpu() if perm_now is not None else None,
            "partial_total": total,
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "shuffle_rng": rng_state_text(shuffle),
            "torch_rng": torch.get_rng_state(),
            "history": json.dumps(history),
            "best_epoch": best_epoch,
            "best_val": best_val,
            "best": best_payload,
            "elapsed": elapsed_before + time.perf_counter() - start,
        })

    def diverged(message: str) -> TrainingDivergedError:
        if resume_path is not None:
            Path(resume_path).unlink(missing_ok=True)  # resuming would only diverge again
        return TrainingDivergedError(message)

    bar = tqdm(range(start_epoch, cfg.epochs + 1), desc=f"train {model_name}", disable=not progress, leave=False)
    model.train()
    with SigtermGuard(enabled=resume_path is not None) as guard:
        for epoch in bar:
            t0 = time.perf_counter()
            lr = opt.param_groups[0]["lr"]
            if perm is None:
                perm = torch.as_tensor(shuffle.permutation(n), device=device)
            total = partial_total
            feed = feed_tr.batches(perm, batches[start_batch:], cfg.batch_size)
            for b, (xb, yb) in zip(range(start_batch, len(batches)), feed, strict=True):
                if resolutions:
                    r = batch_resolution(resolutions, epoch, b, len(batches))
                    xb, yb = restrict(xb, r, periodic), restrict(yb, r, periodic)
                pred = normalizer.decode(model(normalizer.encode(xb)))
                loss = rel_l2_loss(pred, yb)
                if not torch.isfinite(loss):
                    kept = f"the checkpoint holds epoch {best_epoch}" if best_epoch else "no checkpoint written"
                    raise diverged(f"training loss became {loss.item()} at epoch {epoch} of {model_name}; {kept} "
                                   f"({_divergence_cause(cfg.lr, data_fault(train_set), train_src)})")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item() * xb.shape[0]
                if guard.requested:
                    save_state(epoch, b + 1, perm, total)
                    raise TrainingInterrupted(
                        f"training of {model_name} interrupted by SIGTERM at epoch {epoch}, batch {b + 1}; "
                        f"resume state saved to {resume_path}"
                    )
            start_batch, partial_total, perm = 0, 0.0, None
            sched.step()
            train_loss = total / n
            val_loss = _evaluate(model, normalizer, feed_va.batches(None, range(0, val_set.n, cfg.batch_size),
                                                                    cfg.batch_size), val_set.n)
            if not math.isfinite(val_loss):
                raise diverged(f"validation loss became {val_loss} at epoch {epoch} of {model_name} "
                               f"({_divergence_cause(cfg.lr, data_fault(val_set), val_src)})")
            if val_loss < best_val:
                best_epoch, best_val = epoch, val_loss
                meta = {
                    "epoch": epoch,
                    "val_rel_l2": val_loss,
                    "train_loss": train_loss,
                    "seed": int(seed),
                    "periodic": int(periodic),
                    "epochs": cfg.epochs,
                }
                best_payload = checkpoint_payload(model_name, kwargs, model, normalizer, meta)
                atomic_torch_save(best_payload, checkpoint_path)
            row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "lr": lr}
            history.append({**row, "seconds": time.perf_counter() - t0})
            _write_history(Path(history_path), history)
            bar.set_postfix(train=f"{train_loss:.4g}", val=f"{val_loss:.4g}", best=best_epoch)
            if resume_path is not None and epoch < cfg.epochs:
                every = cfg.checkpoint_every
                if guard.requested or (every and epoch % every == 0):
                    save_state(epoch + 1, 0, None, 0.0)
                if guard.requested:
                    raise TrainingInterrupted(
                        f"training of {model_name} interrupted by SIGTERM after epoch {epoch}; "
                        f"resume state saved to {resume_path}"
                    )
    bar.close()
    if resume_path is not None:
        Path(resume_path).unlink(missing_ok=True)
    return {
        "train_seconds": elapsed_before + time.perf_counter() - start,
        "best_epoch": best_epoch,
        "best_val_rel_l2": best_val,
        "n_params": n_params,
        "device": str(device),
        "resumed_from_epoch": resumed_from,
    }
