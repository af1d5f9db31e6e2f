"""The FNO paper's "FCN" baseline: a fully convolutional encoder-decoder (after Zhu & Zabaras 2018).

In the FNO paper's benchmark list, FCN is a fully *convolutional* network, the convolutional
encoder-decoder surrogate of Zhu & Zabaras (J. Comput. Phys. 2018), not a fully connected one (that
is opbench's ``mlp``). Its kernels span a fixed number of grid points, so on a finer grid each layer
sees a smaller piece of the domain: it is retrained at each resolution, and its error grows with s in
the paper's Burgers table (0.096 at 256 to 0.32 at 8192). Our version keeps that defining property
and stays small: a wide first convolution, ``depth`` stride-2 encoding stages and as many transposed
decoding stages, GELU, no skip connections between encoder and decoder.

Zhu & Zabaras' dense blocks (each layer sees its block's input through concatenation) are replaced
by one residual block per stage: ``h + conv(gelu(conv(gelu(h))))``. That carry of the block's input,
together with He-initialised weights, keeps the signal and its gradient at unit size through the
6 depth + 2 convolutions. The former plain stack (4 depth + 2 conv-GELU layers at PyTorch's default
init) shrank the input's trace by ~0.3 per layer; the data gradient of its first layers was then far
below the L2 weight-decay term, and Adam, which normalises their sum, drove every weight to zero
within two epochs: it predicted the training mean at every resolution (relative error 1.0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from opbench.models.grid_utils import GridModel, check_input


class _Residual(nn.Module):
    """``h + conv(gelu(conv(gelu(h))))`` with same-size convolutions (Zhu & Zabaras' dense block's role)."""

    def __init__(self, make_conv) -> None:
        super().__init__()
        self.conv1, self.conv2 = make_conv(), make_conv()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.conv2(F.gelu(self.conv1(F.gelu(h))))


class FCN(GridModel):
    """Convolutional encoder-decoder: (batch, in, *grid) -> (batch, out, *grid) on any grid size.

    Convolutions pad circularly on periodic grids and with zeros otherwise. Inputs are padded to a
    multiple of 2**depth (circularly or by replication) and the output is cropped back.
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
        kernel: int = 3,
    ) -> None:
        super().__init__(in_channels, out_channels, grid, periodic)
        if depth < 0 or kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"depth must be >= 0 and kernel a positive odd number, got {depth}, {kernel}")
        self.depth = int(depth)
        conv = nn.Conv1d if self.ndim == 1 else nn.Conv2d
        conv_t = nn.ConvTranspose1d if self.ndim == 1 else nn.ConvTranspose2d
        pm = "circular" if self.periodic else "zeros"

        def same(cin: int = width, cout: int = width, k: int = kernel) -> nn.Module:
            return conv(cin, cout, k, padding=k // 2, padding_mode=pm)

        self.inc = same(in_channels, width, 2 * kernel + 1)
        self.enc = nn.ModuleList(
            nn.ModuleList([conv(width, width, 2, stride=2), _Residual(same)]) for _ in range(self.depth)
        )
        self.dec = nn.ModuleList(
            nn.ModuleList([conv_t(width, width, 2, stride=2), _Residual(same)]) for _ in range(self.depth)
        )
        self.outc = conv(width, out_channels, 1)
        self._init_weights()

    def _init_weights(self) -> None:
        """He-normal weights for the GELU layers (unit signal gain), zero biases; the second conv of each
        residual block starts at a quarter of that so that a stage starts close to its carry."""
        for m in self.modules():
            if isinstance(m, nn.modules.conv._ConvNd):
                fan_in = m.weight.shape[1] * m.weight[0, 0].numel()
                if isinstance(m, nn.modules.conv._ConvTransposeNd):  # weight (in, out, *k), one tap per stride
                    fan_in = m.weight.shape[0] * m.weight[0, 0].numel() // max(m.stride[0], 1) ** self.ndim
                nn.init.normal_(m.weight, std=(2.0 / fan_in) ** 0.5)
                nn.init.zeros_(m.bias)
        for block in self.modules():
            if isinstance(block, _Residual):
                block.conv2.weight.data.mul_(0.25)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_channels, self.ndim, "fcn")
        grid = tuple(x.shape[2:])
        mult = 2**self.depth
        extra = [-n % mult for n in grid]
        if any(extra):
            circular = self.periodic and all(e <= n for e, n in zip(extra, grid, strict=True))
            x = F.pad(x, [p for e in reversed(extra) for p in (0, e)], mode="circular" if circular else "replicate")
        h = self.inc(x)
        for down, block in self.enc:
            h = block(down(F.gelu(h)))
        for up, block in self.dec:
            h = block(up(F.gelu(h)))
        return self.outc(F.gelu(h))[(..., *(slice(0, n) for n in grid))]
