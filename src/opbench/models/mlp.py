"""The fully connected baseline (the FCN of the FNO paper) on the training grid's flat vector."""

from __future__ import annotations

import math

import torch
from torch import nn

from opbench.models.grid_utils import GridModel, check_input, resample


class MLP(GridModel):
    """Fully connected network from the flattened input field to the flattened output field.

    The network only exists at the training grid. Elsewhere the input is interpolated onto the
    training grid and the output interpolated back (``grid_utils.resample``: linear / bilinear with
    ``align_corners=True`` on vertex grids and a wrap-around sample on periodic grids, so the seam
    x = 1 ~ 0 is interpolated like any other interval). Plain linear interpolation rather than
    Fourier interpolation because it never rings on non-smooth fields and is what a user of a
    fixed-size network would reach for first.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        grid: tuple[int, ...],
        periodic: bool = True,
        *,
        hidden: int = 256,
        layers: int = 3,
    ) -> None:
        super().__init__(in_channels, out_channels, grid, periodic)
        if layers < 1:
            raise ValueError(f"layers (hidden layers) must be >= 1, got {layers}")
        points = math.prod(self.grid)
        sizes = [in_channels * points] + [hidden] * layers
        mods: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            mods += [nn.Linear(a, b), nn.GELU()]
        mods.append(nn.Linear(hidden, out_channels * points))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_channels, self.ndim, "mlp")
        grid = tuple(x.shape[2:])
        x = resample(x, self.grid, self.periodic)
        y = self.net(x.flatten(1)).reshape(x.shape[0], self.out_channels, *self.grid)
        return resample(y, grid, self.periodic)
