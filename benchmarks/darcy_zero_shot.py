"""Zero-shot super-resolution on Darcy (Sakarvadia et al., ICLR 2026), at a small CPU budget.

Darcy data (the FNO paper's: a = 12 / 3 from a thresholded GRF, f = 1, u = 0 on the boundary) are
solved on a 129^2 vertex grid and restricted to 65^2, 33^2 and 17^2 (16, 32, 64 and 128 intervals).
The same FNO is trained twice with the same loop, data order and number of steps: once on 17^2 only
(zero-shot: then evaluated on every grid), once on batches cycling through 17^2, 33^2 and 65^2
(multi-resolution training). The claim under test: zero-shot super-resolution fails and training on
several resolutions fixes it. Test relative L2 per evaluation grid is printed as a markdown table.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/darcy_zero_shot.py --n-train 256 --epochs 40
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from opbench.models import build_model
from opbench.seeding import sample_streams
from opbench.solvers import get_pde
from opbench.training.normalization import Normalizer
from opbench.training.trainer import rel_l2_loss

FINE = 129
GRIDS = [17, 33, 65, 129]
DARCY = {"params": {"f": 1.0, "a_high": 12.0, "a_low": 3.0}, "grf": {"alpha": 2.0, "tau": 3.0, "sigma": 1.0}}


def darcy(n: int, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    out = get_pde("darcy").generate(sample_streams(0, "darcy_zero_shot", split, range(n)), FINE, DARCY)
    return (torch.from_numpy(out[k][:, None].astype(np.float32)) for k in ("a", "u"))


def restrict(x: torch.Tensor, n: int) -> torch.Tensor:
    step = (FINE - 1) // (n - 1)
    return x[..., ::step, ::step]


def train(train_grids: list[int], a, u, args) -> tuple[torch.nn.Module, Normalizer, float]:
    torch.manual_seed(args.seed)
    model = build_model("fno", in_channels=1, out_channels=1, grid=(17, 17), periodic=False, modes=args.modes,
                        width=args.width, layers=4, padding=0.1)
    norm = Normalizer.fit(a.numpy(), u.numpy())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, args.epochs // 4), gamma=0.5)
    gen = torch.Generator().manual_seed(args.seed)
    data = {n: (restrict(a, n), restrict(u, n)) for n in train_grids}
    step, t0 = 0, time.perf_counter()
    for _ in range(args.epochs):
        perm = torch.randperm(a.shape[0], generator=gen)
        for i in range(0, a.shape[0], 20):
            n = train_grids[step % len(train_grids)]  # cycle the training grids batch by batch
            x, y = data[n][0][perm[i : i + 20]], data[n][1][perm[i : i + 20]]
            loss = rel_l2_loss(norm.decode(model(norm.encode(x))), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
        sched.step()
    return model.eval(), norm, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=256)
    parser.add_argument("--n-test", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--modes", type=int, default=8)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    a_tr, u_tr = darcy(args.n_train, "train")
    a_te, u_te = darcy(args.n_test, "test")
    print(f"Darcy data: {args.n_train} train + {args.n_test} test at {FINE}^2 in {time.perf_counter() - t0:.0f} s; "
          f"FNO modes {args.modes} width {args.width} 4 layers padding 0.1, {args.epochs} epochs, seed {args.seed}")
    print("| training grids | " + " | ".join(f"test {n}^2" for n in GRIDS) + " | train s |")
    print("|---|" + "---|" * (len(GRIDS) + 1))
    for grids in ([17], [17, 33, 65]):
        model, norm, seconds = train(grids, a_tr, u_tr, args)
        errs = []
        with torch.inference_mode():
            for n in GRIDS:
                x, y = restrict(a_te, n), restrict(u_te, n)
                pred = torch.cat([norm.decode(model(norm.encode(x[i : i + 16]))) for i in range(0, x.shape[0], 16)])
                errs.append(rel_l2_loss(pred, y).item())
        label = " + ".join(f"{n}^2" for n in grids)
        print(f"| {label} | " + " | ".join(f"{e:.4f}" for e in errs) + f" | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
