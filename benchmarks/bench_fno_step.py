"""Time one Adam training step of opbench's FNO against the reference ``neuraloperator`` FNO.

FNO-paper setups: ``--dim 1`` Burgers (s = 1024, width 64, 16 modes, 4 layers, batch 20) and
``--dim 2`` Darcy (85 x 85, width 32, 12 modes, 4 layers, batch 20). A step is forward +
relative-L2 loss + backward + Adam step. The two models are timed interleaved (ours, theirs, ours,
...) after a warm-up, so drifts in machine load hit both alike; medians are reported.

The reference needs ``neuraloperator`` (benchmark-only dependency, the ``bench`` extra). It is
configured like the paper's FNO: linear lifting, no channel MLP, two-layer projection, and
n_modes chosen so it keeps the same Fourier modes (neuraloperator counts the rfft axis as n//2+1).
Parameter counts are real numbers (a complex weight counts twice).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch
from torch import nn

from opbench.models import build_model

SETUPS = {
    1: {"grid": (1024,), "width": 64, "modes": 16, "layers": 4, "batch": 20},
    2: {"grid": (85, 85), "width": 32, "modes": 12, "layers": 4, "batch": 20},
}


def real_param_count(model: nn.Module) -> int:
    """Trainable real numbers (complex parameters count twice)."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())


def rel_l2(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Batch mean of per-sample relative L2 error."""
    return ((pred - true).flatten(1).norm(dim=1) / true.flatten(1).norm(dim=1)).mean()


def reference_fno(setup: dict) -> nn.Module:
    """The neuraloperator FNO in the FNO paper's configuration, keeping the same modes as ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from neuralop.models import FNO as RefFNO

    m, ndim = setup["modes"], len(setup["grid"])
    # Full axes keep -m..m-1 (2m modes); the last axis keeps 0..m-1, i.e. n_modes//2 + 1 = m.
    n_modes = (*(2 * m for _ in range(ndim - 1)), 2 * (m - 1))
    return RefFNO(
        n_modes=n_modes,
        in_channels=1,
        out_channels=1,
        hidden_channels=setup["width"],
        n_layers=setup["layers"],
        lifting_channel_ratio=0,
        projection_channel_ratio=128 / setup["width"],  # the paper projects through 128 channels
        use_channel_mlp=False,
        positional_embedding="grid",
    )


def make_step(model: nn.Module, a: torch.Tensor, u: torch.Tensor):
    """A closure running one full Adam training step on (a, u)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = rel_l2(model(a), u)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def timed(step) -> float:
    t0 = time.perf_counter()
    step()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, choices=(1, 2), default=1)
    parser.add_argument("--repeats", type=int, default=15, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    setup = SETUPS[args.dim]
    torch.manual_seed(0)
    grid = setup["grid"]
    ours = build_model(
        "fno",
        in_channels=1,
        out_channels=1,
        grid=grid,
        periodic=args.dim == 1,
        modes=setup["modes"],
        width=setup["width"],
        layers=setup["layers"],
    )
    a = torch.randn(setup["batch"], 1, *grid)
    u = torch.randn(setup["batch"], 1, *grid)
    steps = {"opbench": make_step(ours, a, u)}
    counts = {"opbench": real_param_count(ours)}
    try:
        ref = reference_fno(setup)
    except ImportError as exc:
        print(f"neuraloperator not importable ({exc}); timing opbench only")
    else:
        steps["neuraloperator"] = make_step(ref, a, u)
        counts["neuraloperator"] = real_param_count(ref)
    print(
        f"FNO {args.dim}D step: grid {'x'.join(map(str, grid))}, width {setup['width']}, "
        f"modes {setup['modes']}, layers {setup['layers']}, batch {setup['batch']}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    for name, n in counts.items():
        print(f"  {name:15s} parameters: {n:,}")
    for step in steps.values():
        for _ in range(args.warmup):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            times[name].append(timed(step))
    med = {name: statistics.median(t) for name, t in times.items()}
    for name, t in times.items():
        print(f"  {name:15s} median {med[name] * 1e3:8.1f} ms  (min {min(t) * 1e3:.1f}, max {max(t) * 1e3:.1f})")
    if "neuraloperator" in med:
        print(f"  ratio neuraloperator / opbench: {med['neuraloperator'] / med['opbench']:.2f}x")


if __name__ == "__main__":
    main()
