"""How generation of one Burgers split scales from 1 to 2 dask workers, threaded and distributed.

Generates the train split of config.yaml's Burgers setup (nu = 0.1, T = 1, s = 1024, dt = 1e-3;
``--samples`` of them in chunks of ``--chunk-size``) with the threaded scheduler and with a
local distributed cluster, each with 1 and 2 workers, and prints the solve time (the dask part
of generation; for the distributed scheduler it includes starting the worker processes) and the
speed-up of 2 workers over 1. Every run must write the same bytes, which is checked too.
Each setting is run ``--repeat`` times and the fastest is kept (the machine may be shared).

    .venv/bin/python benchmarks/bench_generate_scaling.py --samples 256 --chunk-size 16
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

from opbench.data.cluster import distributed_client
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


def run_once(tmp: Path, samples: int, chunk_size: int, workers: int, scheduler: str) -> tuple[float, str]:
    """Solve seconds and a digest of the files written."""
    cfg = {**BURGERS, "samples": {"train": samples, "val": 1, "test": 1}}
    outputs = {r: tmp / f"{scheduler}_{workers}_s{r}.nc" for r in cfg["ladder"]}
    info = generate_dataset(pde_name="burgers", cfg=cfg, split="train", seed=0, outputs=outputs,
                            workers=workers, chunk_size=chunk_size, check_samples=1, scheduler=scheduler,
                            cluster={"kind": "local"}, progress=False)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in outputs.values())).hexdigest()
    return float(info["solve_seconds"]), digest


def cluster_overhead(workers: int) -> float:
    """Seconds to start and stop a local distributed cluster with ``workers`` workers, doing nothing."""
    start = time.perf_counter()
    with distributed_client({"kind": "local"}, workers):
        pass
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=256, help="samples in the split")
    ap.add_argument("--chunk-size", type=int, default=16, help="samples per dask task")
    ap.add_argument("--repeat", type=int, default=2, help="runs per setting; the fastest is kept")
    args = ap.parse_args()
    print(f"burgers s={BURGERS['fine_res']} dt={BURGERS['solver']['dt']} T={BURGERS['params']['T']} "
          f"samples={args.samples} chunk_size={args.chunk_size} cpus={os.cpu_count()} "
          f"load average {os.getloadavg()[0]:.2f}")
    digests = set()
    with tempfile.TemporaryDirectory() as tmp:
        for scheduler in ("threads", "distributed"):
            best = {}
            for workers in (1, 2):
                times = []
                for _ in range(args.repeat):
                    seconds, digest = run_once(Path(tmp), args.samples, args.chunk_size, workers, scheduler)
                    times.append(seconds)
                    digests.add(digest)
                best[workers] = min(times)
                overhead = f"  (empty cluster start+stop: {cluster_overhead(workers):.2f} s)" \
                    if scheduler == "distributed" else ""
                print(f"  {scheduler:<11} {workers} worker(s): {best[workers]:7.2f} s "
                      f"({best[workers] / args.samples * 1e3:6.1f} ms/sample)  runs: "
                      + ", ".join(f"{t:.2f}" for t in times) + overhead)
            print(f"  {scheduler:<11} speed-up 1 -> 2 workers: {best[1] / best[2]:.2f}x")
    print(f"  identical bytes in every run: {len(digests) == 1}")
    if len(digests) != 1:
        raise SystemExit("the data depend on the scheduler or the number of workers")


if __name__ == "__main__":
    main()
