"""Peak memory of a data job for N and 16 N samples, and of training on a split 4x its memory budget.

Each measured job runs in a fresh child process; its peak is the largest sum over the job's
process tree (the job and its forked workers) of the proportional set size (PSS, so pages the
workers share with the job count once), sampled every 20 ms, and the job's own peak RSS from the
kernel (``wait4``). Printed:

1. heat at s = 8192 (ladder 1024, 8192; the workflow's default scheduler ``processes`` with 2
   workers, chunks of 32): peak memory for N and 16 N samples, and their ratio (target <= 1.3);
   the memory the data rule declares (opbench.memory) is shown beside it.
2. one training epoch (a small FNO) on a heat split whose in-memory size is 4x
   ``--budget-mb``: the split is read lazily, and its peak memory must stay under the budget.

    .venv/bin/python benchmarks/bench_memory.py            # N = 512, budget 512 MB: ~3-4 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HEAT = {"type": "heat", "params": {"alpha": 0.01, "T": 0.5}, "grf": {"alpha": 2.0, "tau": 5.0, "sigma": 25.0},
        "solver": {}, "fine_res": 8192, "ladder": [1024, 8192], "train_res": 8192}
MB = 2**20


def child_generate(out: str, samples: int, workers: int, chunk: int, scheduler: str, level: int) -> None:
    from opbench.data.generate import generate_dataset

    cfg = {**HEAT, "samples": {"train": samples, "val": 1, "test": 1}}
    outputs = {r: f"{out}_s{r}.nc" for r in cfg["ladder"]}
    generate_dataset(pde_name="heat", cfg=cfg, split="train", seed=0, outputs=outputs, workers=workers,
                     chunk_size=chunk, scheduler=scheduler, check_samples=1, compression_level=level,
                     progress=False)


def child_train(train: str, val: str, budget_mb: float) -> None:
    import torch

    from opbench.training import TrainConfig
    from opbench.training.datasets import NetCDFPairs, open_pairs
    from opbench.training.tasks import StaticTask
    from opbench.training.trainer import train_pairs

    torch.set_num_threads(1)
    task = StaticTask()
    train_set = open_pairs(train, task, budget_mb=budget_mb)
    val_set = open_pairs(val, task, budget_mb=budget_mb)
    out = Path(tempfile.mkdtemp())
    # A small FNO (its activations at s = 8192 stay well under the budget: this measures the data).
    model = {"modes": 8, "width": 4, "layers": 1, "projection_width": 8}
    info = train_pairs("fno", model, train_set, val_set, periodic=True,
                       cfg=TrainConfig(epochs=1, batch_size=16), seed=0, checkpoint_path=out / "m.pt",
                       history_path=out / "h.csv", device="cpu", progress=False)
    print(json.dumps({"lazy": isinstance(train_set, NetCDFPairs), "pairs": len(train_set),
                      "split_mb": train_set.nbytes / MB, "train_seconds": info["train_seconds"]}))


def _children(root: psutil.Process) -> list[psutil.Process]:
    try:
        return root.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def measure(args: list[str]) -> tuple[float, float, float, str]:
    """(peak tree PSS MB, the job's own peak RSS MB, seconds, stdout) of this script run with ``args``."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)  # reaps the job once it ends, with its rusage
        if pid:
            break
        total = 0
        for p in [root, *_children(root)]:
            try:
                total += p.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        peak = max(peak, total)
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise SystemExit(f"measured job {args} failed")
    return peak / MB, usage.ru_maxrss / 1024, time.perf_counter() - start, out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, rest = sys.argv[2], sys.argv[3:]
        if kind == "generate":
            child_generate(rest[0], int(rest[1]), int(rest[2]), int(rest[3]), rest[4], int(rest[5]))
        else:
            child_train(rest[0], rest[1], float(rest[2]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=512, help="N: the smaller data job")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=32)
    ap.add_argument("--scheduler", default="processes")
    ap.add_argument("--budget-mb", type=float, default=512.0, help="data.memory_budget_mb of the training job")
    ap.add_argument("--skip", choices=["generate", "train"], help="leave out one part")
    args = ap.parse_args()
    from opbench.memory import generate_mem_mb

    print(f"cpus={os.cpu_count()} load average at start {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        peaks = {}
        declared = generate_mem_mb(HEAT, {"chunk_size": args.chunk_size, "scheduler": args.scheduler},
                                   args.workers)
        for n in (args.samples, 16 * args.samples) if args.skip != "generate" else ():
            pss, rss, sec, _ = measure(["--child", "generate", f"{tmp}/gen{n}", str(n), str(args.workers),
                                        str(args.chunk_size), args.scheduler, "4"])
            peaks[n] = pss
            size = n * (8192 + 1024) * 2 * 4 / MB
            print(f"generate heat s=8192, {n:6d} samples ({size:7.0f} MB of data), {args.scheduler} x "
                  f"{args.workers}, chunks of {args.chunk_size}: peak {pss:6.0f} MB (tree PSS; the job's own "
                  f"RSS {rss:.0f} MB) in {sec:.0f} s; declared mem_mb {declared}", flush=True)
            for p in Path(tmp).glob(f"gen{n}_*.nc"):
                p.unlink()
        if peaks:
            ratio = peaks[16 * args.samples] / peaks[args.samples]
            print(f"  16x the samples: peak memory x {ratio:.2f} (target <= 1.3)", flush=True)
        if args.skip == "train":
            return

        # A training split 4x the budget (a + u as float32: 64 kB per sample at s = 8192).
        n_train = int(4 * args.budget_mb * MB // (2 * 8192 * 4))
        gen_seconds = 0.0
        for split, n in (("train", n_train), ("val", 64)):
            _, _, sec, _ = measure(["--child", "generate", f"{tmp}/{split}", str(n), str(args.workers), "256",
                                    args.scheduler, "1"])
            gen_seconds += sec
        print(f"training split: {n_train} samples (+ 64 for validation), generated in {gen_seconds:.0f} s",
              flush=True)
        pss, rss, sec, out = measure(["--child", "train", f"{tmp}/train_s8192.nc", f"{tmp}/val_s8192.nc",
                                      str(args.budget_mb)])
        info = json.loads(out.strip().splitlines()[-1])
        print(f"train 1 epoch, split {info['split_mb']:.0f} MB = {info['split_mb'] / args.budget_mb:.1f}x the "
              f"budget of {args.budget_mb:.0f} MB (read lazily: {info['lazy']}): peak {pss:.0f} MB (tree PSS; "
              f"RSS {rss:.0f} MB) in {sec:.0f} s -> {'under' if max(pss, rss) < args.budget_mb else 'OVER'} "
              f"the budget", flush=True)


if __name__ == "__main__":
    main()
