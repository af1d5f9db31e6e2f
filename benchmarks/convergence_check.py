"""Discretization convergence of trained 1D models (ReNO / Lanthaler-Stuart-Trautner), from checkpoints.

Draws GRF inputs (the Burgers/heat distribution by default) on ``--finest`` points, then applies each
checkpoint to the same input functions on nested grids ``--coarsest``..``--finest`` in two settings:

- band-limited: the inputs truncated to frequencies <= ``--band`` (resolved on every grid), so any
  change with n is the model's own aliasing (its pointwise nonlinearities);
- full: the GRF samples themselves (frequencies up to finest/2), so coarse grids also alias the input,
  and the error is expected to decay like n^-(alpha - 1/2), the inputs' Sobolev regularity.

For each it prints the distance to the finest grid's output per n, the fitted algebraic rate, and the
aliasing of the output's resolved Fourier modes. Example:

    python benchmarks/convergence_check.py --checkpoint results/runs/burgers/*/seed0/model.pt
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from opbench.evaluation.convergence import (
    aliasing_table,
    band_limit,
    convergence_table,
    expected_rate,
    fit_rate,
    kept_mode_rate,
    outputs_on_grids,
)
from opbench.seeding import sample_streams
from opbench.solvers.grf import periodic_grf
from opbench.training.checkpoint import load_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", nargs="+", required=True)
    parser.add_argument("--alpha", type=float, default=2.0)
    parser.add_argument("--tau", type=float, default=5.0)
    parser.add_argument("--sigma", type=float, default=25.0)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--coarsest", type=int, default=32)
    parser.add_argument("--finest", type=int, default=8192)
    parser.add_argument("--band", type=int, default=8, help="band limit of the band-limited inputs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    a = periodic_grf(sample_streams(0, "convergence", "test", range(args.samples)), args.finest,
                     alpha=args.alpha, tau=args.tau, sigma=args.sigma)
    grids = [n for n in (args.coarsest * 2**j for j in range(20)) if n <= args.finest]
    settings = {f"band-limited (k <= {args.band})": band_limit(a, args.band),
                "full GRF": band_limit(a, args.finest // 2)}
    print(f"inputs: {args.samples} GRF samples (alpha {args.alpha}, tau {args.tau}, sigma {args.sigma}) on "
          f"{args.finest} points; grids {grids}; full inputs: regularity bound rate {expected_rate(args.alpha):.2f}, "
          f"kept-mode aliasing rate {kept_mode_rate(args.alpha):.2f}")
    for path in args.checkpoint:
        model, normalizer, meta = load_checkpoint(path)
        model = model.double()

        def apply(x: np.ndarray, model=model, normalizer=normalizer) -> np.ndarray:
            # A few samples at a time: a one-token-per-point Transformer attends over all n points.
            with torch.inference_mode():
                return np.concatenate([normalizer.decode(model(normalizer.encode(torch.from_numpy(x[i:i + 4]))))
                                       .numpy() for i in range(0, len(x), 4)])

        print(f"\n{path} ({type(model).__name__}, trained at {model.grid})")
        for name, coeffs in settings.items():
            outs = outputs_on_grids(apply, coeffs, grids)
            conv, alias = convergence_table(outs), aliasing_table(outs)
            fit = fit_rate(conv["n"], conv["err_to_finest"], floor=1e-12)  # float64 rounding
            print(f"  {name}: rate {fit['rate']:.2f} (R^2 {fit['r2']:.3f}, {fit['points']} grids above 1e-12)")
            table = conv.merge(alias, on="n")
            print("    " + table.to_string(index=False, float_format=lambda v: f"{v:.3e}").replace("\n", "\n    "))


if __name__ == "__main__":
    main()
