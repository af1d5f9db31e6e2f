"""The convolutional U-Net baseline in 1D or 2D, runnable on any grid size."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from opbench.models.grid_utils import GridModel, check_input


class _DoubleConv(nn.Module):
    """Two 3-point (3x3) convolutions, each followed by GroupNorm and GELU."""

    def __init__(self, ndim: int, cin: int, cout: int, padding_mode: str) -> None:
        super().__init__()
        conv = nn.Conv1d if ndim == 1 else nn.Conv2d
        groups = 8 if cout % 8 == 0 else 1
        self.net = nn.Sequential(
            conv(cin, cout, 3, padding=1, padding_mode=padding_mode),
            nn.GroupNorm(groups, cout),
            nn.GELU(),
            conv(cout, cout, 3, padding=1, padding_mode=padding_mode),
            nn.GroupNorm(groups, cout),
            nn.GELU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class UNet(GridModel):
    """U-Net with ``depth`` stride-2 levels, ``width`` channels at the top, doubling per level.

    Inputs of any size are padded up to a multiple of 2**depth (circularly on periodic grids, which
    continues the periodic field; by edge replication on vertex grids) and the output is cropped back.
    Convolutions pad circularly on periodic grids and with zeros otherwise.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        grid: tuple[int, ...],
        periodic: bool = True,
        *,
        width: int = 32,
        depth: int = 3,
    ) -> None:
        super().__init__(in_channels, out_channels, grid, periodic)
        self.depth = int(depth)
        pm = "circular" if self.periodic else "zeros"
        conv_t = nn.ConvTranspose1d if self.ndim == 1 else nn.ConvTranspose2d
        widths = [width * 2**i for i in range(self.depth + 1)]
        self.inc = _DoubleConv(self.ndim, in_channels, widths[0], pm)
        self.down = nn.ModuleList(_DoubleConv(self.ndim, widths[i], widths[i + 1], pm) for i in range(self.depth))
        self.up = nn.ModuleList(conv_t(widths[i + 1], widths[i], 2, stride=2) for i in range(self.depth))
        self.dec = nn.ModuleList(_DoubleConv(self.ndim, 2 * widths[i], widths[i], pm) for i in range(self.depth))
        conv = nn.Conv1d if self.ndim == 1 else nn.Conv2d
        self.outc = conv(widths[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_channels, self.ndim, "unet")
        grid = tuple(x.shape[2:])
        mult = 2**self.depth
        extra = [-n % mult for n in grid]
        if any(extra):
            mode = "circular" if self.periodic else "replicate"
            if self.periodic and any(e > n for e, n in zip(extra, grid, strict=True)):
                mode = "replicate"  # circular padding cannot wrap more than once
            x = F.pad(x, [p for e in reversed(extra) for p in (0, e)], mode=mode)
        pool = F.max_pool1d if self.ndim == 1 else F.max_pool2d
        skips = [self.inc(x)]
        for down in self.down:
            skips.append(down(pool(skips[-1], 2)))
        h = skips.pop()
        for i in reversed(range(self.depth)):
            h = self.dec[i](torch.cat([skips.pop(), self.up[i](h)], dim=1))
        y = self.outc(h)
        return y[(..., *(slice(0, n) for n in grid))]
