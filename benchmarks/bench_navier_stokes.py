"""Navier-Stokes step cost against its floor, the 10 FFTs a Heun/Crank-Nicolson step must do.

One step evaluates the advection term twice; each evaluation does 4 inverse real FFTs (u, v, w_x,
w_y) and 1 forward (the product): 8 ``irfft2`` + 2 ``rfft2`` on the same (batch, n, n) shape,
timed alone as the floor. The per-sample cost is extrapolated to the FNO setup (dt = 1e-4, T = 50:
500,000 steps) and to a larger dt if given.

    .venv/bin/python benchmarks/bench_navier_stokes.py [--n 256] [--batch 1] [--steps 200]
        [--backend numpy|torch] [--device cpu|cuda] [--dt-alt 1e-3]
"""

from __future__ import annotations

import argparse
import time

from opbench.seeding import sample_streams
from opbench.solvers import navier_stokes as ns
from opbench.solvers.backend import Backend


def _timed(fn, steps: int, be: Backend) -> float:  # noqa: ANN001 - any zero-argument callable
    fn()  # warm-up (plans, allocations)
    be.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    be.synchronize()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--backend", default="numpy", choices=["numpy", "torch"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=1, help="scipy.fft threads (numpy backend)")
    parser.add_argument("--nu", type=float, default=1e-3)
    parser.add_argument("--dt", type=float, default=1e-4, help="the FNO anchor's dt")
    parser.add_argument("--T", type=float, default=50.0)
    parser.add_argument("--dt-alt", type=float, default=1e-3, help="a larger stable dt to extrapolate to")
    args = parser.parse_args()

    be = Backend(args.backend, args.device, args.workers)
    n = args.n
    w0 = ns.initial_vorticity(sample_streams(0, "bench_ns", "x", range(args.batch)), n, {})
    stepper = ns.Stepper(n, args.nu, args.dt, 0.1, be)
    state = {"w": be.rfft2(be.asarray(w0))}

    def one_step() -> None:
        state["w"], _ = stepper.step(state["w"])

    w_hat, w_phys = state["w"], be.irfft2(state["w"], n)

    def ten_ffts() -> None:
        for _ in range(8):
            be.irfft2(w_hat, n)
        for _ in range(2):
            be.rfft2(w_phys)

    t_step = _timed(one_step, args.steps, be)
    t_floor = _timed(ten_ffts, args.steps, be)
    per_sample = t_step / args.batch
    print(f"backend={args.backend} device={args.device} n={n} batch={args.batch} steps={args.steps}")
    print(f"step (batch):          {t_step * 1e3:9.3f} ms")
    print(f"10 FFTs floor (batch): {t_floor * 1e3:9.3f} ms")
    print(f"ratio step / floor:    {t_step / t_floor:9.2f}")
    print(f"per sample per step:   {per_sample * 1e3:9.3f} ms")
    for dt in (args.dt, args.dt_alt):
        steps = args.T / dt
        print(f"per sample, dt={dt:g} T={args.T:g} ({steps:,.0f} steps): {per_sample * steps:9.1f} s")


if __name__ == "__main__":
    main()
