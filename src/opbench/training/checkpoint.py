"""Self-describing model checkpoints: registry name + constructor kwargs + weights + normalizer."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from opbench.errors import OpbenchError, raise_storage
from opbench.models import MODELS, build_model
from opbench.training.normalization import Normalizer

FORMAT = "opbench-checkpoint-v1"


class CheckpointError(OpbenchError, ValueError):
    """A file that is not a usable opbench checkpoint (or holds another model than expected)."""


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary sibling, then ``os.replace``: never a truncated file under ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise_storage(exc, path)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, Exception):
            raise_storage(exc, path)
        raise


def checkpoint_payload(
    model_name: str,
    model_kwargs: dict[str, Any],
    model: nn.Module,
    normalizer: Normalizer,
    meta: dict[str, str | int | float],
) -> dict[str, Any]:
    """What a checkpoint file holds (weights copied, so later training does not change them)."""
    bad = {k: type(v).__name__ for k, v in meta.items() if not isinstance(v, str | int | float)}
    if bad:
        raise TypeError(f"checkpoint meta values must be str/int/float, got {bad}")
    return {
        "format": FORMAT,
        "model": model_name,
        "kwargs": dict(model_kwargs),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "normalizer": normalizer.state(),
        "meta": dict(meta),
    }


def save_checkpoint(
    path: str | os.PathLike,
    model_name: str,
    model_kwargs: dict[str, Any],
    model: nn.Module,
    normalizer: Normalizer,
    meta: dict[str, str | int | float],
) -> None:
    """Write the checkpoint atomically (temporary file in the same folder, then ``os.replace``)."""
    atomic_torch_save(checkpoint_payload(model_name, model_kwargs, model, normalizer, meta), path)


def _same(a: Any, b: Any) -> bool:
    """Constructor arguments equal up to list/tuple and int/float spelling (modes 8 vs (8,))."""
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        a_seq = list(a) if isinstance(a, list | tuple) else [a]
        b_seq = list(b) if isinstance(b, list | tuple) else [b]
        return len(a_seq) == len(b_seq) and all(_same(x, y) for x, y in zip(a_seq, b_seq, strict=True))
    return a == b


def check_contents(path: str | os.PathLike, payload: dict[str, Any], expect_kwargs: dict[str, Any] | None) -> None:
    """Constructor arguments as the config says, finite weights, a finite normalizer with std > 0."""
    kwargs = payload.get("kwargs")
    if not isinstance(kwargs, dict):
        raise CheckpointError(f"{path}: damaged opbench checkpoint (no constructor arguments)")
    for key, want in (expect_kwargs or {}).items():
        if not _same(kwargs.get(key), want):
            raise CheckpointError(f"{path}: checkpoint was built with {key}={kwargs.get(key)!r}, the config says "
                                  f"{key}={want!r} (retrain it: delete the file or run with --forcerun train)")
    for name, tensor in (payload.get("state_dict") or {}).items():
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{path}: weight {name} holds NaN/inf values (allowed: finite weights)")
    for name, tensor in (payload.get("normalizer") or {}).items():
        t = torch.as_tensor(tensor, dtype=torch.float64)
        if not torch.isfinite(t).all() or (name.endswith("_std") and not (t > 0).all()):
            raise CheckpointError(f"{path}: normalizer {name} = {t.flatten().tolist()[:4]} is unusable "
                                  "(allowed: finite means, standard deviations > 0)")


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint read and checked once: the rebuilt model (eval mode), its normalizer and meta, with
    the registry name and constructor arguments it was built from and the file it came from."""

    path: Path
    model_name: str
    kwargs: dict[str, Any]
    model: nn.Module
    normalizer: Normalizer
    meta: dict[str, Any]


def read_checkpoint(
    path: str | os.PathLike, device: str = "cpu", expect_model: str | None = None,
    expect_kwargs: dict[str, Any] | None = None,
) -> Checkpoint:
    """Rebuild a checkpoint written by ``save_checkpoint``, reading the file once.

    The file is read with ``weights_only=True``: a pickle that would run code is refused, never run.
    Raises ``CheckpointError`` (a ValueError) with a one-line reason when the file is not an opbench
    checkpoint, holds another model type than ``expect_model`` or constructor arguments other than
    ``expect_kwargs`` (the config's hyperparameters), or NaN/inf weights or normalizer statistics.
    """
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # pickle/zip errors of many kinds: all mean "not a checkpoint"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable opbench checkpoint ({first})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: not an opbench checkpoint (format {found!r}, expected {FORMAT!r})")
    name = payload.get("model")
    if name not in MODELS:
        raise CheckpointError(f"{path}: checkpoint names unknown model {name!r}")
    if expect_model is not None and name != expect_model:
        raise CheckpointError(f"{path}: checkpoint holds a {name!r} model, expected {expect_model!r}")
    check_contents(path, payload, expect_kwargs)
    try:
        model = build_model(name, **payload["kwargs"])
        model.load_state_dict(payload["state_dict"])
        normalizer = Normalizer.from_state(payload["normalizer"])
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: damaged opbench checkpoint ({first})") from exc
    return Checkpoint(Path(path), name, dict(payload["kwargs"]), model.to(device).eval(), normalizer,
                      dict(payload.get("meta", {})))


def load_checkpoint(
    path: str | os.PathLike, device: str = "cpu", expect_model: str | None = None,
    expect_kwargs: dict[str, Any] | None = None,
) -> tuple[nn.Module, Normalizer, dict]:
    """(model in eval mode, normalizer, meta) of ``read_checkpoint`` (same checks, same errors)."""
    ckpt = read_checkpoint(path, device=device, expect_model=expect_model, expect_kwargs=expect_kwargs)
    return ckpt.model, ckpt.normalizer, ckpt.meta
