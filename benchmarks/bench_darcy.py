"""Darcy generation cost per sample against its floor, the sparse factorisation + solve alone.

The floor factorises and solves the very matrices the generation builds (assembled outside the
timer), so the ratio is what the GRF, thresholding, assembly and copying add. The same floor is
also timed with SciPy's default ``COLAMD`` ordering, to show what ``MMD_AT_PLUS_A`` buys.

    .venv/bin/python benchmarks/bench_darcy.py [--sizes 85 141 211 421] [--samples 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse.linalg as spla

from opbench.seeding import sample_streams
from opbench.solvers import darcy


def _floor(mats: list, rhs: np.ndarray, permc_spec: str) -> float:
    start = time.perf_counter()
    for mat in mats:
        spla.splu(mat, permc_spec=permc_spec).solve(rhs)
    return (time.perf_counter() - start) / len(mats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[85, 141, 211, 421])
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="best of this many timings")
    args = parser.parse_args()
    print(
        f"{'n':>5} {'generate/sample':>16} {'floor (splu MMD_AT_PLUS_A)':>27} {'ratio':>6} "
        f"{'splu COLAMD':>12} {'COLAMD/MMD':>10}"
    )
    for n in args.sizes:
        gen, floor, colamd = [], [], []
        for rep in range(args.repeats):
            rngs = sample_streams(0, "bench_darcy", str(rep), range(args.samples))
            start = time.perf_counter()
            out = darcy.generate(rngs, n, {})
            gen.append((time.perf_counter() - start) / args.samples)
            mats = [darcy.assemble(a) for a in out["a"]]
            rhs = np.ones((n - 2) ** 2)
            floor.append(_floor(mats, rhs, "MMD_AT_PLUS_A"))
            colamd.append(_floor(mats, rhs, "COLAMD"))
        g, f, c = min(gen), min(floor), min(colamd)
        row = f"{n:>5} {g * 1e3:>13.1f} ms {f * 1e3:>24.1f} ms {g / f:>6.2f} {c * 1e3:>9.1f} ms {c / f:>10.2f}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
