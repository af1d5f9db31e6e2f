"""How generation of one Burgers split scales from 1 to 2 workers, for each scheduler, measured side by side.

Generates the train split of config.yaml's Burgers setup (nu = 0.1, T = 1, s = 1024, dt = 1e-3;
``--samples`` of them in chunks of ``--chunk-size``) with 1 and 2 workers of each scheduler in
``--schedulers``. The runs are interleaved: each round runs every (scheduler, workers) setting
once, back to back, so a change of load on a shared machine hits all settings alike. Printed:
the time of the solve-and-write loop of each run (for the distributed scheduler it includes
starting the worker processes), the speed-up of 2 workers over 1 per round and from the fastest
runs, and the CPU seconds each setting used (process and pool workers; on a machine busy with other
work the wall-clock speed-up says little, the CPU seconds still show the overhead of a second
worker). Every run must write the same bytes, which is checked too.

    .venv/bin/python benchmarks/bench_generate_scaling.py --samples 256 --chunk-size 16 --rounds 3
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import tempfile
from pathlib import Path

from opbench.data.generate import generate_dataset

BURGERS = {
    "type": "burgers",
    "params": {"nu": 0.1, "T": 1.0},
    "grf": {"alpha": 2.0, "tau": 5.0, "sigma": 25.0},
    "solver": {"dt": 1.0e-3, "dealias": True},
    "fine_res": 1024,
    "ladder": [128, 1024],
    "train_res": 128,
}


def _cpu_seconds() -> float:
    """CPU seconds used so far by this process and its reaped children (the pool's workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_once(tmp: Path, samples: int, chunk_size: int, workers: int, scheduler: str) -> tuple[float, float, str]:
    """Seconds of the solve-and-write loop, CPU seconds of the whole run, and a digest of the files."""
    cpu0 = _cpu_seconds()
    cfg = {**BURGERS, "samples": {"train": samples, "val": 1, "test": 1}}
    outputs = {r: tmp / f"{scheduler}_{workers}_s{r}.nc" for r in cfg["ladder"]}
    info = generate_dataset(pde_name="burgers", cfg=cfg, split="train", seed=0, outputs=outputs,
                            workers=workers, chunk_size=chunk_size, check_samples=1, scheduler=scheduler,
                            cluster={"kind": "local"}, progress=False)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in outputs.values())).hexdigest()
    for p in outputs.values():
        p.unlink()
    return float(info["solve_seconds"]), _cpu_seconds() - cpu0, digest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=256, help="samples in the split")
    ap.add_argument("--chunk-size", type=int, default=16, help="samples per task")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds over all settings")
    ap.add_argument("--schedulers", default="processes,threads",
                    help="comma-separated, of threads, processes, distributed")
    args = ap.parse_args()
    schedulers = args.schedulers.split(",")
    print(f"burgers s={BURGERS['fine_res']} dt={BURGERS['solver']['dt']} T={BURGERS['params']['T']} "
          f"samples={args.samples} chunk_size={args.chunk_size} cpus={os.cpu_count()} "
          f"load average at start {os.getloadavg()[0]:.2f}", flush=True)
    times: dict[tuple[str, int], list[float]] = {(s, w): [] for s in schedulers for w in (1, 2)}
    cpu: dict[tuple[str, int], list[float]] = {(s, w): [] for s in schedulers for w in (1, 2)}
    digests = set()
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            line = []
            for scheduler in schedulers:
                # Alternate which worker count goes first, so neither always follows the other.
                for workers in ((1, 2) if r % 2 == 0 else (2, 1)):
                    seconds, cpu_s, digest = run_once(Path(tmp), args.samples, args.chunk_size, workers, scheduler)
                    times[scheduler, workers].append(seconds)
                    cpu[scheduler, workers].append(cpu_s)
                    digests.add(digest)
                one, two = times[scheduler, 1][-1], times[scheduler, 2][-1]
                line.append(f"{scheduler} {one:.2f} s / {two:.2f} s = {one / two:.2f}x")
            print(f"  round {r + 1} (load {os.getloadavg()[0]:.2f}): " + "; ".join(line), flush=True)
    print("speed-up of 2 workers over 1 (fastest runs; median of the per-round ratios):")
    for scheduler in schedulers:
        one, two = times[scheduler, 1], times[scheduler, 2]
        ratios = [a / b for a, b in zip(one, two, strict=True)]
        print(f"  {scheduler:<11} 1 worker {min(one):6.2f} s, 2 workers {min(two):6.2f} s: "
              f"{min(one) / min(two):.2f}x (median per round {statistics.median(ratios):.2f}x); CPU seconds "
              f"{statistics.median(cpu[scheduler, 1]):.2f} vs {statistics.median(cpu[scheduler, 2]):.2f} (the "
              f"second worker's overhead, which a loaded machine does not hide)")
    print(f"  identical bytes in every run: {len(digests) == 1}")
    if len(digests) != 1:
        raise SystemExit("the data depend on the scheduler or the number of workers")


if __name__ == "__main__":
    main()
