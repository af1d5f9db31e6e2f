"""Grid helpers shared by the models: coordinates and resolution changes.

Two kinds of uniform grid on [0, 1] per axis exist in opbench (see ``opbench.solvers.base.Grid``):
``periodic`` grids of n points x_i = i / n (the point 1 is the point 0) and ``vertex`` grids of n
points x_i = i / (n - 1) that include both ends (Darcy). Every helper here takes the ``periodic``
flag so that a model never confuses the two when it changes resolution.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def check_grid(grid: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Validate a 1D/2D grid shape given as a sequence of positive ints and return it as a tuple."""
    grid = tuple(int(n) for n in grid)
    if len(grid) not in (1, 2):
        raise ValueError(f"grid must have 1 or 2 axes, got {grid}")
    if any(n < 2 for n in grid):
        raise ValueError(f"every grid axis needs at least 2 points, got {grid}")
    return grid


def check_input(x: torch.Tensor, channels: int, ndim: int, model: str) -> None:
    """Raise a clear ValueError when ``x`` is not (batch, channels, *grid) with ``ndim`` grid axes."""
    if x.ndim != ndim + 2 or x.shape[1] != channels:
        raise ValueError(
            f"{model} expects input (batch, {channels}, {'n, ' * ndim}...) with {ndim} grid axes, "
            f"got shape {tuple(x.shape)}"
        )


def coordinate_channels(
    grid: tuple[int, ...], periodic: bool, device: torch.device | str | None, dtype: torch.dtype
) -> torch.Tensor:
    """Coordinate features of shape (k, *grid) to append to a model's input channels.

    Vertex grids get the raw coordinate x in [0, 1] per axis (k = ndim). Periodic grids get
    (cos 2 pi x, sin 2 pi x) per axis (k = 2 ndim) instead of x itself: the raw coordinate is a
    sawtooth on the torus, whose jump from 1 back to 0 is not band-limited, so its truncated Fourier
    modes would change with the resolution; the cos/sin pair locates a point just as well, is smooth
    and periodic, and keeps a spectral model's output independent of the sampling rate.
    """
    feats = []
    for axis, n in enumerate(grid):
        x = torch.arange(n, device=device, dtype=torch.float64)
        x = x / n if periodic else x / (n - 1)
        per_axis = [torch.cos(2 * math.pi * x), torch.sin(2 * math.pi * x)] if periodic else [x]
        for f in per_axis:
            shape = [1] * len(grid)
            shape[axis] = n
            feats.append(f.reshape(shape).expand(grid))
    return torch.stack(feats).to(dtype)


def resample(x: torch.Tensor, size: tuple[int, ...], periodic: bool) -> torch.Tensor:
    """Linearly (1D) or bilinearly (2D) interpolate (batch, channels, *grid) onto the grid ``size``.

    Vertex grids: both ends are grid points at every resolution, which is exactly
    ``align_corners=True``. Periodic grids: the samples are extended by one wrap-around sample (the
    value at x = 1 is the value at x = 0) so the extended grid spans [0, 1] including both ends;
    interpolating that onto size + 1 points with ``align_corners=True`` puts output j at j / m and
    dropping the last output leaves the periodic target grid. This is plain linear interpolation
    that also interpolates correctly across the seam, and it is exact for piecewise-linear data,
    whereas Fourier interpolation would ring on the non-smooth fields (Darcy-like jumps) a
    fixed-grid model may see.
    """
    size = tuple(int(n) for n in size)
    if tuple(x.shape[2:]) == size:
        return x
    mode = "linear" if len(size) == 1 else "bilinear"
    if not periodic:
        return F.interpolate(x, size=size, mode=mode, align_corners=True)
    for axis in range(2, x.ndim):
        x = torch.cat([x, x.narrow(axis, 0, 1)], dim=axis)
    y = F.interpolate(x, size=tuple(n + 1 for n in size), mode=mode, align_corners=True)
    for axis, n in enumerate(size, start=2):
        y = y.narrow(axis, 0, n)
    return y


class GridModel(torch.nn.Module):
    """Base of every registry model: its channels, training grid and grid kind.

    ``grid`` is the training grid (1 or 2 axes); ``periodic`` says whether points are i/n (periodic)
    or i/(n-1) (vertex grid). Subclasses run on any grid of the same dimension.
    """

    def __init__(self, in_channels: int, out_channels: int, grid: tuple[int, ...], periodic: bool = True) -> None:
        super().__init__()
        self.grid = check_grid(grid)
        self.ndim = len(self.grid)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.periodic = bool(periodic)
