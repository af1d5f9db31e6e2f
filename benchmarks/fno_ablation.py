"""Why does neuraloperator's default FNO learn Burgers faster per epoch than ours? A controlled ablation.

Every variant is trained in this one process on the same Burgers data (our solver, the FNO-paper
setup nu = 0.1, T = 1, GRF sigma 25 / tau 5 / alpha 2, solved on ``--fine`` points and restricted), with
the same loop: our scalar normaliser, relative-L2 loss, Adam (lr 1e-3, weight decay 1e-4), the
learning rate halved every ``--step`` epochs, batch 20, the same shuffles, torch seeded alike before
each model is built. Only the model differs. Reported: test relative L2 at the training resolution
and at ``--fine``, the real parameter count (a complex number counts twice) and seconds per epoch.

neuraloperator (the ``bench`` extra) is read for facts only and used here as a black box; its rows are
skipped with one line when it is not installed. Example (the table of docs/REPRODUCTION.md):

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/fno_ablation.py --res 256 --n-train 256 --epochs 30
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import torch
from torch import nn

from opbench.models import build_model
from opbench.seeding import sample_streams
from opbench.solvers import get_pde
from opbench.training.normalization import Normalizer
from opbench.training.trainer import rel_l2_loss

BURGERS = {
    "params": {"nu": 0.1, "T": 1.0},
    "grf": {"alpha": 2.0, "tau": 5.0, "sigma": 25.0},
    "solver": {"dt": 1.0e-3, "dealias": True},
}
PAPER = {"modes": 16, "width": 64, "layers": 4}
# name -> our FNO options on top of the paper's layout (empty: the default model).
OURS = {
    "opbench default": {},
    "+ glorot spectral init": {"spectral_init": "glorot"},
    "+ channel MLP 0.5": {"channel_mlp": 0.5},
    "+ gated skip": {"gated_skip": True},
    "+ lifting MLP 128": {"lifting_width": 128},
    "+ MLP + gated skip": {"channel_mlp": 0.5, "gated_skip": True},
    "+ glorot + MLP + gated skip": {"spectral_init": "glorot", "channel_mlp": 0.5, "gated_skip": True},
    "+ all four": {"spectral_init": "glorot", "channel_mlp": 0.5, "gated_skip": True, "lifting_width": 128},
    "+ raw x coordinate": {"coordinates": "x"},
    "+ glorot + raw x coordinate": {"spectral_init": "glorot", "coordinates": "x"},
    "+ no coordinates": {"coordinates": "none"},
    "+ glorot + no coordinates": {"spectral_init": "glorot", "coordinates": "none"},
}


def real_params(model: nn.Module) -> int:
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())


def burgers_data(n: int, split: str, fine: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, u) of ``n`` samples on ``fine`` points, shape (n, 1, fine), float32."""
    out = get_pde("burgers").generate(sample_streams(0, "burgers", split, range(n)), fine, BURGERS)
    return out["a"][:, None].astype(np.float32), out["u"][:, None].astype(np.float32)


def reference_models() -> dict[str, nn.Module]:
    """neuraloperator's FNO with its default options and in the paper's layout, keeping our 16 modes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from neuralop.models import FNO as RefFNO
    # neuraloperator keeps n_modes // 2 + 1 frequencies on the (real FFT) last axis.
    n_modes = (2 * (PAPER["modes"] - 1),)
    common = dict(n_modes=n_modes, in_channels=1, out_channels=1, hidden_channels=PAPER["width"],
                  n_layers=PAPER["layers"])
    paper = dict(common, lifting_channel_ratio=0, projection_channel_ratio=128 / PAPER["width"], use_channel_mlp=False)

    def paper_init() -> nn.Module:
        model = RefFNO(**paper)
        with torch.no_grad():
            for conv in model.fno_blocks.convs:  # the FNO paper's uniform [0, 1) / (in * out), real and imaginary
                w = conv.weight.tensor if hasattr(conv.weight, "tensor") else conv.weight
                scale = 1.0 / (w.shape[0] * w.shape[1])
                w.copy_(torch.complex(torch.rand(w.shape), torch.rand(w.shape)) * scale)
        return model

    return {
        "neuraloperator default": lambda: RefFNO(**common),
        "neuraloperator paper layout": lambda: RefFNO(**paper),
        "neuraloperator paper layout, paper init": paper_init,
        "neuraloperator paper layout, cos/sin coords": lambda: CosSin(
            RefFNO(**dict(paper, in_channels=3, positional_embedding=None))
        ),
    }


class CosSin(nn.Module):
    """Feeds (a, cos 2 pi x, sin 2 pi x) to a model built without its own coordinate channel."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        x = torch.arange(a.shape[-1], dtype=a.dtype) / a.shape[-1]
        c = torch.stack([torch.cos(2 * math.pi * x), torch.sin(2 * math.pi * x)]).expand(a.shape[0], 2, -1)
        return self.net(torch.cat([a, c], dim=1))


def fit(make, data, args) -> dict[str, float]:
    a_tr, u_tr, a_te, u_te = data
    torch.manual_seed(args.seed)
    model = make()
    norm = Normalizer.fit(a_tr, u_tr)
    k = a_tr.shape[-1] // args.res
    x_tr, y_tr = torch.from_numpy(a_tr[..., ::k].copy()), torch.from_numpy(u_tr[..., ::k].copy())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=args.step, gamma=0.5)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        perm = torch.randperm(x_tr.shape[0], generator=gen)
        for i in range(0, x_tr.shape[0], 20):
            idx = perm[i : i + 20]
            loss = rel_l2_loss(norm.decode(model(norm.encode(x_tr[idx]))), y_tr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
    seconds = (time.perf_counter() - t0) / args.epochs
    model.eval()
    out = {"params": real_params(model), "s/epoch": seconds, "train loss": loss.item()}
    with torch.inference_mode():
        for res in (args.res, a_te.shape[-1]):
            kk = a_te.shape[-1] // res
            x, y = torch.from_numpy(a_te[..., ::kk].copy()), torch.from_numpy(u_te[..., ::kk].copy())
            pred = torch.cat([norm.decode(model(norm.encode(x[i : i + 50]))) for i in range(0, x.shape[0], 50)])
            out[f"test s={res}"] = rel_l2_loss(pred, y).item()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--res", type=int, default=256, help="training resolution")
    parser.add_argument("--fine", type=int, default=1024, help="solver grid (also the second test resolution)")
    parser.add_argument("--n-train", type=int, default=256)
    parser.add_argument("--n-test", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--step", type=int, default=10, help="epochs between learning-rate halvings")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="run only these variant names")
    args = parser.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    data = (*burgers_data(args.n_train, "train", args.fine), *burgers_data(args.n_test, "test", args.fine))
    print(f"data: {args.n_train} train + {args.n_test} test on {args.fine} points in {time.perf_counter() - t0:.0f} s")
    grid = (args.res,)
    makers = {
        name: (lambda o=opts: build_model("fno", in_channels=1, out_channels=1, grid=grid, **PAPER, **o))
        for name, opts in OURS.items()
    }
    try:
        makers.update(reference_models())
    except ImportError as exc:
        print(f"neuraloperator not installed ({exc}): its rows are skipped")
    print(f"FNO ablation on Burgers: train s={args.res}, {args.n_train} samples, {args.epochs} epochs, "
          f"lr halved every {args.step}, seed {args.seed}, torch {torch.__version__}, 1 thread")
    print(f"| variant | real params | test s={args.res} | test s={args.fine} | train loss | s/epoch |")
    print("|---|---|---|---|---|---|")
    for name, make in makers.items():
        if args.only and name not in args.only:
            continue
        r = fit(make, data, args)
        print(f"| {name} | {r['params']:,} | {r[f'test s={args.res}']:.4f} | {r[f'test s={args.fine}']:.4f} | "
              f"{r['train loss']:.4f} | {r['s/epoch']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
