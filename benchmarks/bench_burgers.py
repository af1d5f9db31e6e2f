"""Burgers solver speed against its FFT floor, at the FNO-paper setting.

Generates N samples (nu = 0.1, T = 1, GRF sigma=25 tau=5 alpha=2) at s points with the given
dt, and in the same run times the floor: the real FFTs one ETDRK4 step must do (4 nonlinear
evaluations, each one irfft + one rfft, on the same batch shape) times the number of steps.

On a shared machine the load changes within seconds, so besides one plain end-to-end solve the
run is also timed in segments of ``--segment`` steps, each solver segment directly followed by
the floor's segment of the same length, ``--repeat`` times; the fastest time of every segment
is kept for both and summed. Solver and floor then see the same load, and the ratio is stable.

    .venv/bin/python benchmarks/bench_burgers.py --n 8192 --samples 8 --dt 1e-3
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import time

import numpy as np
import scipy.fft as sfft

from opbench.seeding import sample_streams
from opbench.solvers.burgers import solve_burgers, time_steps
from opbench.solvers.grf import periodic_grf

NU, T = 0.1, 1.0
GRF = {"alpha": 2.0, "tau": 5.0, "sigma": 25.0}


def steady_malloc() -> bool:
    """Stop glibc from returning freed FFT buffers to the OS (mmap/trim churn).

    Each scipy FFT allocates its ~0.5 MB result; with glibc's defaults a bare FFT loop page-faults
    ~450 times per step, so the floor would measure the kernel, not the FFTs (the solver, holding
    its buffers, faults ~6 times). Raising both thresholds makes every result reuse heap memory.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_trim_threshold, 1 << 30)) and bool(libc.mallopt(m_mmap_threshold, 1 << 29))


def fft_floor(a: np.ndarray, steps: int) -> float:
    """Seconds for ``steps`` x 4 x (irfft + rfft) on the batch shape of ``a``."""
    n = a.shape[-1]
    spec = sfft.rfft(a, axis=-1, workers=1)
    start = time.perf_counter()
    for _ in range(4 * steps):
        grid = sfft.irfft(spec, n, axis=-1, workers=1)
        sfft.rfft(grid, axis=-1, workers=1)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=8192, help="grid points s")
    ap.add_argument("--samples", type=int, default=8, help="samples N, solved as one batch")
    ap.add_argument("--dt", type=float, default=1e-3, help="time step")
    ap.add_argument("--repeat", type=int, default=3, help="segmented timings; each segment's fastest is kept")
    ap.add_argument("--segment", type=int, default=50, help="steps per interleaved timing segment")
    ap.add_argument("--plain-malloc", action="store_true", help="keep glibc's default malloc thresholds")
    args = ap.parse_args()
    tuned = False if args.plain_malloc else steady_malloc()

    steps, h = time_steps(T, args.dt)
    rngs = sample_streams(0, "burgers", "bench", range(args.samples))
    start = time.perf_counter()
    a = periodic_grf(rngs, args.n, **GRF)
    t_grf = time.perf_counter() - start
    start = time.perf_counter()
    u = solve_burgers(a, NU, T, args.dt)
    t_plain = time.perf_counter() - start
    seg_steps = [min(args.segment, steps - i) for i in range(0, steps, args.segment)]
    best_solve = [np.inf] * len(seg_steps)
    best_floor = [np.inf] * len(seg_steps)
    for _ in range(args.repeat):
        state = a
        for i, k in enumerate(seg_steps):
            start = time.perf_counter()
            state = solve_burgers(state, NU, k * h, h)
            best_solve[i] = min(best_solve[i], time.perf_counter() - start)
            best_floor[i] = min(best_floor[i], fft_floor(a, k))
    per, floor = sum(best_solve) / args.samples, sum(best_floor) / args.samples
    print(f"burgers s={args.n} samples={args.samples} dt={h:.6g} steps={steps} nu={NU} T={T} malloc tuned={tuned}")
    print(f"  max|u0| {np.abs(a).max():.3f}  max|u(T)| {np.abs(u).max():.3f}  GRF draw {t_grf:.3f} s")
    print(f"  end-to-end   {t_plain / args.samples:.4f} s/sample (one plain run, under whatever load)")
    print(f"  solver       {per:.4f} s/sample  ({per / steps * 1e3:.4f} ms/sample/step)")
    print(f"  FFT floor    {floor:.4f} s/sample  ({floor / steps * 1e3:.4f} ms/sample/step)")
    print(f"  ratio        {per / floor:.3f}")


if __name__ == "__main__":
    main()
