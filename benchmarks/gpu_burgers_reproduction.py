"""The FNO paper's Burgers table at its own budget on one GPU, in one command (issue 12).

Runs what ``configs/fno_burgers.yaml`` describes through the library, without Snakemake or NetCDF, so
that it fits a bare GPU machine with only torch/numpy/scipy (plus neuraloperator's wheels for the
reference column):

1. the preset's data: every sample drawn from the same named random streams as the workflow's data
   jobs (seed, PDE, split, index), solved at the fine grid in a process pool, restricted to each rung
   and cast to the preset's dtype;
2. every (model, training resolution) run of the reproduction -- the FNOs and neuraloperator's FNO at
   each ``reproduction.train_res``, the FCN retrained at every rung -- through opbench's one training
   loop (``opbench.training.trainer.train``), several runs at once on the one GPU;
3. each best-validation checkpoint evaluated on the test split at every rung (mean relative L2).

Each finished run is appended to ``OUT/runs.jsonl`` at once. ``--stop-at`` caps the wall time: every
training still running then stops at its next safe point (SIGTERM, the trainer's resume machinery),
its best-validation checkpoint so far is scored, and its row says how many epochs it had ("cut"), so
a cut run is never mistaken for one at the paper's budget.

    python benchmarks/gpu_burgers_reproduction.py --out /tmp/repro --device cuda --jobs 12
    python benchmarks/gpu_burgers_reproduction.py --out /tmp/tiny --device cpu --epochs 2 \\
        --samples 20,10,10 --fine 1024 --ladder 256,512,1024     # a CPU smoke test of the same code
    python benchmarks/gpu_burgers_reproduction.py --config configs/paper.yaml --pde darcy \
        --models fno_darcy --train-res 85 --epochs 100 --out /tmp/darcy   # the paper's Darcy FNO
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from opbench.seeding import sample_streams  # noqa: E402
from opbench.solvers import get_pde  # noqa: E402

SPLITS = ("train", "val", "test")


def _solve(job: tuple[str, dict[str, Any], int, str, str, int, int]) -> tuple[str, int, np.ndarray, np.ndarray]:
    """One chunk of one split on the fine grid (a worker-process task)."""
    pde_type, cfg, seed, pde_name, split, start, stop = job
    spec = get_pde(pde_type)
    out = spec.generate(sample_streams(seed, pde_name, split, range(start, stop)), cfg["fine_res"], dict(cfg))
    return split, start, out["a"], out["u"]


def generate(cfg: dict[str, Any], pde: str, samples: dict[str, int], workers: int, folder: Path) -> dict[str, Path]:
    """Solve every split on the fine grid; one .npz per split of fine-grid (a, u) in sample order."""
    pcfg = cfg["pdes"][pde]
    chunk = 10
    jobs = [(pcfg["type"], pcfg, int(cfg["seed"]), pde, split, a, min(a + chunk, samples[split]))
            for split in SPLITS for a in range(0, samples[split], chunk)]
    parts: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]] = {s: {} for s in SPLITS}
    with mp.get_context("spawn").Pool(workers) as pool:
        for split, start, a, u in pool.imap_unordered(_solve, jobs):
            parts[split][start] = (a, u)
    paths = {}
    for split in SPLITS:
        keys = sorted(parts[split])
        a = np.concatenate([parts[split][k][0] for k in keys])
        u = np.concatenate([parts[split][k][1] for k in keys])
        paths[split] = folder / f"{split}_fine.npz"
        np.savez(paths[split], a=a, u=u)
    return paths


def _restricted(path: Path, spec, fine: int, res: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as z:
        a = spec.grid.restrict(z["a"], fine, res, spec.ndim).astype(dtype)
        u = spec.grid.restrict(z["u"], fine, res, spec.ndim).astype(dtype)
    return a[:, None], u[:, None]  # one channel, as the workflow's static tasks


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """Train one (model, resolution) and evaluate it on every rung (a worker-process task)."""
    import torch

    from opbench.evaluation.inference import predict
    from opbench.evaluation.metrics import rel_l2
    from opbench.seeding import stream
    from opbench.training.checkpoint import load_checkpoint
    from opbench.training.resume import TrainingInterrupted
    from opbench.training.trainer import TrainConfig, train

    torch.set_num_threads(1)
    # The time cap: SIGTERM makes the trainer stop at its next safe point (its resume machinery); the
    # best-validation checkpoint so far is then evaluated and the row says how many epochs it had.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a signal outside training must not kill the worker
    left = job["stop_at"] - time.time()
    timer = threading.Timer(max(left, 1.0), os.kill, (os.getpid(), signal.SIGTERM))
    timer.daemon = True
    timer.start()
    spec = get_pde(job["pde_type"])
    fine, res, dtype = job["fine"], job["train_res"], job["dtype"]
    x_tr, y_tr = _restricted(Path(job["data"]["train"]), spec, fine, res, dtype)
    x_va, y_va = _restricted(Path(job["data"]["val"]), spec, fine, res, dtype)
    run_seed = int(stream(job["root_seed"], "run", job["pde"], job["model"], 0).integers(2**31 - 1))
    folder = Path(job["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    cut = False
    try:
        info = train(job["model_type"], dict(job["hyper"]), x_tr, y_tr, x_va, y_va,
                     periodic=spec.grid.kind == "periodic", cfg=TrainConfig(**job["training"]), seed=run_seed,
                     checkpoint_path=folder / "model.pt", history_path=folder / "history.csv",
                     device=job["device"], progress=False, resume_path=folder / "resume.pt")
    except TrainingInterrupted:
        cut = True
        if not (folder / "history.csv").exists():
            raise RuntimeError("stopped by --stop-at before its first epoch ended") from None
        with open(folder / "history.csv") as fh:
            hist = list(csv.DictReader(fh))
        best = min(hist, key=lambda r: float(r["val_loss"]))
        # Every epoch's seconds, earlier segments of a continued run included.
        info = {"train_seconds": sum(float(r["seconds"]) for r in hist), "best_epoch": int(best["epoch"]),
                "n_params": None, "device": job["device"], "epochs_done": len(hist)}
    timer.cancel()
    model, normalizer, _ = load_checkpoint(folder / "model.pt", device=job["device"])
    if info["n_params"] is None:
        info["n_params"] = sum(p.numel() for p in model.parameters())
    done = info.get("epochs_done", job["training"]["epochs"])
    errors = {}
    for rung in job["eval_res"]:
        a, u = _restricted(Path(job["data"]["test"]), spec, fine, rung, dtype)
        pred, _ = predict(model, normalizer, a, batch_size=50, device=job["device"])
        errors[str(rung)] = float(np.mean(rel_l2(pred, u)))
    return {"label": job["label"], "model": job["model"], "model_type": job["model_type"], "train_res": res,
            "errors": errors, "train_seconds": info["train_seconds"], "best_epoch": info["best_epoch"],
            "epochs": done, "epochs_planned": job["training"]["epochs"], "cut": cut, "n_params": info["n_params"],
            "device": info["device"], "seconds_per_epoch": info["train_seconds"] / max(done, 1)}


def plan(cfg: dict[str, Any], pde: str, ladder: list[int], fine: int, data: dict[str, Path], epochs: int | None,
         device: str, out: Path, with_reference: bool, stop_at: float) -> list[dict[str, Any]]:
    """Every run of the reproduction: each model and reference at each training resolution; FCN at every rung."""
    rep = cfg["reproduction"]
    training = {k: cfg["training"][k] for k in ("epochs", "batch_size", "lr", "weight_decay", "step_size", "gamma")}
    if epochs is not None:
        training["epochs"] = epochs
        training["step_size"] = max(1, round(cfg["training"]["step_size"] * epochs / cfg["training"]["epochs"]))
    names = list(rep["models"]) + (list(rep.get("reference") or []) if with_reference else [])
    runs = []
    for name in names:
        mcfg = cfg["models"][name]
        resolutions = ladder if mcfg["type"] == "fcn" else [r for r in rep["train_res"] if r in ladder]
        for res in resolutions:
            runs.append({
                "label": f"{name}@{res}", "model": name, "model_type": mcfg["type"],
                "hyper": {k: v for k, v in mcfg.items() if k not in ("type", "training")},
                "train_res": res, "eval_res": ladder, "fine": fine, "dtype": cfg["data"]["dtype"],
                "pde": pde, "pde_type": cfg["pdes"][pde]["type"], "root_seed": int(cfg["seed"]),
                "training": training, "device": device, "data": {k: str(v) for k, v in data.items()},
                "folder": str(out / "runs" / f"{name}_s{res}"), "stop_at": stop_at,
            })
    # Longest first: the FNO-type runs at the finest training grid, the FCN at its finest rung.
    runs.sort(key=lambda r: (r["model_type"] == "fcn", -r["train_res"]))
    return runs


def _epochs_done(folder: str) -> int:
    path = Path(folder) / "history.csv"
    return max(0, len(path.read_text().splitlines()) - 1) if path.exists() else 0


def table(rows: list[dict[str, Any]], ladder: list[int], rep: dict[str, Any]) -> str:
    """Markdown: per run, the mean relative L2 at every rung, the epochs and the time."""
    head = "| run | params | epochs (best) | s/epoch | " + " | ".join(f"s={r}" for r in ladder) + " |"
    lines = [head, "|" + "---|" * (4 + len(ladder))]
    for row in sorted(rows, key=lambda r: (r["model"], r["train_res"])):
        errs = " | ".join(f"{row['errors'].get(str(r), float('nan')):.4f}" for r in ladder)
        epochs = f"{row['epochs']}{' of ' + str(row['epochs_planned']) + ', cut' if row['cut'] else ''}"
        lines.append(f"| {row['label']} | {row['n_params']:,} | {epochs} ({row['best_epoch']}) | "
                     f"{row['seconds_per_epoch']:.2f} | {errs} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "fno_burgers.yaml"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--jobs", type=int, default=8, help="training runs at once (on the one device)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="solver processes")
    ap.add_argument("--epochs", type=int, default=None, help="override (for smoke tests); default: the preset's")
    ap.add_argument("--samples", default=None, help="train,val,test override (smoke tests)")
    ap.add_argument("--fine", type=int, default=None, help="fine grid override (smoke tests)")
    ap.add_argument("--ladder", default=None, help="comma list override (smoke tests)")
    ap.add_argument("--stop-at", type=float, default=1e9,
                    help="seconds after the start at which every training stops and its best checkpoint is scored")
    ap.add_argument("--pde", default=None, help="reproduction.pde override (e.g. darcy with configs/paper.yaml)")
    ap.add_argument("--models", default=None, help="reproduction.models override, comma list")
    ap.add_argument("--train-res", default=None, help="reproduction.train_res override, comma list")
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--reuse-data", action="store_true",
                    help="keep OUT's data and continue the runs from their resume states")
    args = ap.parse_args()
    t_start = time.perf_counter()
    cfg = yaml.safe_load(Path(args.config).read_text())
    rep = cfg.setdefault("reproduction", {})
    if args.pde:
        rep["pde"] = args.pde
    if args.models:
        rep["models"], rep["reference"] = args.models.split(","), []
    if args.train_res:
        rep["train_res"] = [int(x) for x in args.train_res.split(",")]
    pde = rep["pde"]
    pcfg = cfg["pdes"][pde]
    if args.fine:
        pcfg["fine_res"] = args.fine
    fine = pcfg["fine_res"]
    ladder = [int(x) for x in args.ladder.split(",")] if args.ladder else list(pcfg["ladder"])
    samples = dict(pcfg["samples"])
    if args.samples:
        samples = dict(zip(SPLITS, (int(x) for x in args.samples.split(",")), strict=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with_reference = not args.no_reference
    if with_reference:
        try:
            import neuralop.models  # noqa: F401
        except Exception as exc:  # the column is then "not run", said once
            print(f"reference skipped: neuraloperator not importable ({exc})", flush=True)
            with_reference = False
    reuse = {split: out / f"{split}_fine.npz" for split in SPLITS}
    if args.reuse_data and all(path.exists() for path in reuse.values()):
        data = reuse  # a continued run (resume states in OUT/runs) on the data it was trained on
    else:
        data = generate(cfg, pde, samples, args.workers, out)
    t_data = time.perf_counter() - t_start
    print(f"data: {samples} at s={fine} in {t_data:.1f} s", flush=True)
    stop_at = time.time() - (time.perf_counter() - t_start) + args.stop_at
    runs = plan(cfg, pde, ladder, fine, data, args.epochs, args.device, out, with_reference, stop_at)
    rows: list[dict[str, Any]] = []
    log = out / "runs.jsonl"
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=mp.get_context("spawn")) as pool:
        pending = {pool.submit(run_one, job): job["label"] for job in runs}
        while pending:
            done, _ = wait(pending, timeout=30, return_when=FIRST_COMPLETED)
            if not done:
                print(f"t={time.perf_counter() - t_start:.0f} s: epochs so far "
                      f"{ {r['label']: _epochs_done(r['folder']) for r in runs} }", flush=True)
            for fut in done:
                label = pending.pop(fut)
                try:
                    row = fut.result()
                except Exception as exc:  # one failed run must not lose the others
                    print(f"{label}: failed: {type(exc).__name__}: {exc}", flush=True)
                    continue
                rows.append(row)
                with log.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(f"{label}: {row['errors']} ({row['seconds_per_epoch']:.2f} s/epoch, "
                      f"t={time.perf_counter() - t_start:.0f} s)", flush=True)
    text = table(rows, ladder, cfg["reproduction"])
    meta = {"data_seconds": t_data, "total_seconds": time.perf_counter() - t_start, "samples": samples,
            "fine": fine, "ladder": ladder, "device": args.device, "jobs": args.jobs}
    (out / "table.md").write_text(text + "\n" + json.dumps(meta) + "\n")
    print(text, flush=True)
    print(json.dumps(meta), flush=True)


if __name__ == "__main__":
    main()
