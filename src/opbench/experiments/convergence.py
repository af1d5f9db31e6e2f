"""Which of a claim's training runs had not converged: best validation epoch in the last 10%.

A run's best epoch and epoch budget are read from what its training wrote: the checkpoint's meta
(``epoch``, ``epochs``) for claim-experiment runs, ``train_info.json`` (``best_epoch``,
``recipe.epochs``) for base-pipeline runs (claim 6). The flag itself is ``stats.not_converged``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

from opbench.experiments.stats import not_converged


def run_epochs(path: str | os.PathLike) -> tuple[int, int]:
    """(best epoch, epochs) of the run that wrote ``path`` (a model.pt or a train_info.json)."""
    path = Path(path)
    if path.suffix == ".json":
        info = json.loads(path.read_text())
        return int(info["best_epoch"]), int(info["recipe"]["epochs"])
    meta = torch.load(path, map_location="cpu", weights_only=True).get("meta", {})
    if "epoch" not in meta or "epochs" not in meta:
        raise ValueError(f"{path}: checkpoint meta lacks epoch/epochs (written by an older opbench?)")
    return int(meta["epoch"]), int(meta["epochs"])


def run_label(path: str | os.PathLike) -> str:
    """A run's name from its directory below ``runs/`` (or ``runs_x<budget>/``), e.g.
    'heat/transformer/r64_n256/seed0' or 'x4/heat/transformer/r64_n256/seed0'."""
    parts = Path(path).parent.parts
    top = [i for i, p in enumerate(parts) if p == "runs" or p.startswith("runs_x")]
    if not top:
        return str(Path(path).parent)
    i = top[-1]
    prefix = [parts[i][len("runs_"):]] if parts[i] != "runs" else []
    return "/".join(prefix + list(parts[i + 1:]))


def unconverged_runs(paths: Sequence[str | os.PathLike], tail: float = 0.1) -> list[str]:
    """Labels of the runs among ``paths`` whose best validation epoch lies in the last ``tail`` of
    their epochs."""
    return [run_label(p) for p in paths if not_converged(*run_epochs(p), tail=tail)]


def run_costs(paths: Sequence[str | os.PathLike]) -> dict[str, dict[str, float]]:
    """Per model (the directory above ``r<res>_n<n>``): mean parameter count and mean training time
    in seconds (sum of its history's epoch times) over the runs among ``paths`` (checkpoints), so
    the table can show whether two models it compares were matched in size and compute."""
    acc: dict[str, list[tuple[float, float]]] = {}
    for p in map(Path, paths):
        if p.suffix != ".pt":
            continue
        state = torch.load(p, map_location="cpu", weights_only=True)["state_dict"]
        n_params = float(sum(v.numel() for v in state.values()))
        hist = p.with_name("history.csv")
        seconds = float(pd.read_csv(hist)["seconds"].sum()) if hist.is_file() else float("nan")
        acc.setdefault(p.parent.parent.parent.name, []).append((n_params, seconds))
    return {m: {"n_params": sum(v[0] for v in vals) / len(vals), "train_seconds": sum(v[1] for v in vals) / len(vals)}
            for m, vals in acc.items()}
