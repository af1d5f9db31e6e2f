"""DeepONet (Lu et al. 2021): a branch net on sensor values and a trunk net on coordinates.

``G(a)(y) = sum_k b_k(a(sensors)) t_k(y) + bias``. The sensors are the training grid's points:
an input on another grid is linearly resampled onto them (``grid_utils.resample``) and an input on
a point set is interpolated onto them (``interpolate_points_1d``). The trunk takes coordinate
features, so the output can be evaluated at any coordinates, including ones never seen in training.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from opbench.models.grid_utils import GridModel, resample
from opbench.models.point_utils import (
    coordinate_features,
    grid_points,
    interpolate_points_1d,
    n_coordinate_features,
)


def _mlp(sizes: list[int]) -> nn.Sequential:
    mods: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        mods.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            mods.append(nn.GELU())
    return nn.Sequential(*mods)


class DeepONet(GridModel):
    """(batch, in_channels, *grid) -> (batch, out_channels, *grid), or on point sets:
    ``forward(x, coords, out_coords)`` with x (batch, C, n) at coords (n, ndim) and output at
    out_coords (m, ndim) (default: the input's points)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        grid: tuple[int, ...],
        periodic: bool = True,
        *,
        width: int = 64,
        basis: int = 32,
        layers: int = 3,
        harmonics: int = 4,
    ) -> None:
        super().__init__(in_channels, out_channels, grid, periodic)
        self.harmonics, self.basis = int(harmonics), int(basis)
        if layers < 1 or self.basis < 1 or self.harmonics < 1:
            raise ValueError("deeponet: layers, basis and harmonics must be >= 1")
        sensors = in_channels * math.prod(self.grid)
        self.branch = _mlp([sensors] + [width] * layers + [self.basis * out_channels])
        n_feat = n_coordinate_features(self.ndim, self.periodic, self.harmonics)
        self.trunk = _mlp([n_feat] + [width] * layers + [self.basis])
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def sensor_values(self, x: torch.Tensor, coords: torch.Tensor | None) -> torch.Tensor:
        """The input at the sensors (the training grid), (batch, C * prod(grid))."""
        if coords is None:
            return resample(x, self.grid, self.periodic).flatten(1)
        if self.ndim != 1:
            raise ValueError("deeponet: point-set inputs are implemented for 1D only")
        sensors = grid_points(self.grid, self.periodic, x.device, x.dtype)
        return interpolate_points_1d(x, coords.to(x.dtype), sensors, self.periodic).flatten(1)

    def forward(self, x: torch.Tensor, coords: torch.Tensor | None = None,
                out_coords: torch.Tensor | None = None) -> torch.Tensor:
        if x.shape[1] != self.in_channels:
            raise ValueError(f"deeponet expects {self.in_channels} input channels, got {tuple(x.shape)}")
        if coords is None and x.ndim != self.ndim + 2:
            raise ValueError(f"deeponet expects {self.ndim} grid axes, got shape {tuple(x.shape)}")
        b = self.branch(self.sensor_values(x, coords)).reshape(x.shape[0], self.out_channels, self.basis)
        if out_coords is not None:
            pts, shape = out_coords.to(x.dtype), (out_coords.shape[0],)
        elif coords is not None:
            pts, shape = coords.to(x.dtype), (coords.shape[0],)
        else:
            shape = tuple(x.shape[2:])
            pts = grid_points(shape, self.periodic, x.device, x.dtype)
        t = self.trunk(coordinate_features(pts, self.periodic, self.harmonics))  # (m, basis)
        y = torch.einsum("bok,mk->bom", b, t) + self.bias[None, :, None]
        return y.reshape(x.shape[0], self.out_channels, *shape)
