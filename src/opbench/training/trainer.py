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
from opbench.training.normalization import Normalizer
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

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.step_size < 1 or self.checkpoint_every < 0:
            raise ValueError(f"epochs, batch_size and step_size must be positive, checkpoint_every >= 0: {self}")

    def recipe(self) -> dict[str, Any]:
        """The settings that change the result (``checkpoint_every`` does not)."""
        return {k: v for k, v in asdict(self).items() if k != "checkpoint_every"}


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


def _model_kwargs(model_kwargs: dict[str, Any], a: np.ndarray, u: np.ndarray, periodic: bool) -> dict:
    """Hyperparameters plus the data-derived arguments every model constructor takes."""
    derived = {
        "in_channels": int(a.shape[1]),
        "out_channels": int(u.shape[1]),
        "grid": [int(n) for n in a.shape[2:]],
        "periodic": bool(periodic),
    }
    for key, value in derived.items():
        given = model_kwargs.get(key)
        if given is not None and (list(given) if key == "grid" else given) != value:
            raise ValueError(f"model_kwargs[{key!r}] = {given!r} contradicts the data ({value!r})")
    return {**model_kwargs, **derived}


FLOAT32_SAFE = 1.0e18  # squares of larger values overflow float32 inside the norms of the loss


def data_fault(a: np.ndarray, u: np.ndarray) -> str | None:
    """Why (a, u) cannot train whatever the learning rate: zero-norm targets or overflowing values."""
    norms = np.sqrt(np.sum(np.square(u.reshape(u.shape[0], -1), dtype=np.float64), axis=1))
    if not norms.any():
        return "every training target is zero, and the relative L2 loss divides by its norm"
    if not norms.all():
        return f"training target {int(np.argmin(norms > 0))} is zero, and the relative L2 loss divides by its norm"
    for name, x in (("inputs", a), ("targets", u)):
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak > FLOAT32_SAFE:
            return f"training {name} reach {peak:.3g}, whose squares overflow float32 (rescale the data)"
    return None


def _divergence_cause(lr: float, fault: str | None, source: str | None = None) -> str:
    if fault:
        where = f" ({source})" if source else ""
        return f"the data{where} are degenerate: {fault}; a lower training.lr will not help"
    return f"training diverged with lr={lr:g}: lower training.lr"


@torch.inference_mode()
def _evaluate(model, normalizer, a: torch.Tensor, u: torch.Tensor, batch_size: int) -> float:
    model.eval()
    total = 0.0
    for i in range(0, a.shape[0], batch_size):
        pred = normalizer.decode(model(normalizer.encode(a[i : i + batch_size])))
        total += rel_l2_loss(pred, u[i : i + batch_size]).item() * pred.shape[0]
    model.train()
    return total / a.shape[0]


def train(
    model_name: str,
    model_kwargs: dict[str, Any],
    a_train: np.ndarray,
    u_train: np.ndarray,
    a_val: np.ndarray,
    u_val: np.ndarray,
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
    """Train ``model_name`` on (a_train -> u_train), arrays (N, C, *grid) float32.

    Writes the best-validation checkpoint to ``checkpoint_path`` and the per-epoch history CSV
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
    if a_train.shape[0] != u_train.shape[0] or a_val.shape[0] != u_val.shape[0]:
        raise ValueError("inputs and outputs must have the same number of samples")
    if a_train.shape[2:] != u_train.shape[2:]:
        raise ValueError(f"input grid {a_train.shape[2:]} differs from output grid {u_train.shape[2:]}")
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    kwargs = _model_kwargs(model_kwargs, a_train, u_train, periodic)
    train_src, val_src = sources or (None, None)
    torch.manual_seed(seed)
    model = build_model(model_name, **kwargs).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    normalizer = Normalizer.fit(a_train, u_train)

    def to_tensor(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32), device=device)

    a_tr, u_tr, a_va, u_va = (to_tensor(x) for x in (a_train, u_train, a_val, u_val))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
    shuffle = stream(seed, "train-shuffle")
    history: list[dict[str, float]] = []
    best_epoch, best_val, best_payload = 0, math.inf, None
    start_epoch, start_batch, perm, partial_total, elapsed_before = 1, 0, None, 0.0, 0.0
    n = a_tr.shape[0]
    batches = range(0, n, cfg.batch_size)
    finger = ""
    if resume_path is not None:
        finger = fingerprint(model_name, kwargs, cfg.recipe(), seed, [a_train, u_train, a_val, u_val])
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
            for b in range(start_batch, len(batches)):
                idx = perm[batches[b] : batches[b] + cfg.batch_size]
                pred = normalizer.decode(model(normalizer.encode(a_tr[idx])))
                loss = rel_l2_loss(pred, u_tr[idx])
                if not torch.isfinite(loss):
                    kept = f"the checkpoint holds epoch {best_epoch}" if best_epoch else "no checkpoint written"
                    raise diverged(f"training loss became {loss.item()} at epoch {epoch} of {model_name}; {kept} "
                                   f"({_divergence_cause(cfg.lr, data_fault(a_train, u_train), train_src)})")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item() * idx.shape[0]
                if guard.requested:
                    save_state(epoch, b + 1, perm, total)
                    raise TrainingInterrupted(
                        f"training of {model_name} interrupted by SIGTERM at epoch {epoch}, batch {b + 1}; "
                        f"resume state saved to {resume_path}"
                    )
            start_batch, partial_total, perm = 0, 0.0, None
            sched.step()
            train_loss = total / n
            val_loss = _evaluate(model, normalizer, a_va, u_va, cfg.batch_size)
            if not math.isfinite(val_loss):
                raise diverged(f"validation loss became {val_loss} at epoch {epoch} of {model_name} "
                               f"({_divergence_cause(cfg.lr, data_fault(a_val, u_val), val_src)})")
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
