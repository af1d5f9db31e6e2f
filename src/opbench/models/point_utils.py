"""Point-set helpers for the models that take coordinates (Galerkin Transformer, DeepONet).

A point set is a tensor of coordinates of shape (n, ndim) in [0, 1] shared by the batch; fields
on it are (batch, channels, n). Regular grids are flattened to point sets in row-major order.
"""

from __future__ import annotations

import math

import torch


def grid_points(grid: tuple[int, ...], periodic: bool, device=None, dtype=torch.float32) -> torch.Tensor:
    """Coordinates (prod(grid), ndim) of a uniform grid in row-major order (periodic: i/n; vertex: i/(n-1))."""
    axes = [torch.arange(n, dtype=torch.float64) / (n if periodic else n - 1) for n in grid]
    mesh = torch.meshgrid(*axes, indexing="ij")
    return torch.stack([m.reshape(-1) for m in mesh], dim=-1).to(device=device, dtype=dtype)


def coordinate_features(coords: torch.Tensor, periodic: bool, harmonics: int) -> torch.Tensor:
    """Features (n, k) of coordinates (n, ndim): cos/sin of 2 pi h x for h = 1..harmonics per axis when
    periodic (smooth on the torus), else x itself and cos/sin of pi h x (smooth on the square)."""
    feats = []
    for axis in range(coords.shape[-1]):
        x = coords[:, axis]
        if not periodic:
            feats.append(x)
        for h in range(1, harmonics + 1):
            w = (2 if periodic else 1) * math.pi * h
            feats += [torch.cos(w * x), torch.sin(w * x)]
    return torch.stack(feats, dim=-1)


def n_coordinate_features(ndim: int, periodic: bool, harmonics: int) -> int:
    return ndim * (2 * harmonics + (0 if periodic else 1))


def quadrature_weights(coords: torch.Tensor, periodic: bool) -> torch.Tensor:
    """Trapezoid weights (n,) summing to 1 for a 1D point set in [0, 1] (any order, any spacing).

    Each point gets half the gaps to its neighbours; on a periodic domain the gap across the seam
    counts too, on [0, 1] the ends get their distance to the boundary. Uniform grids get 1/n.
    """
    if coords.shape[-1] != 1:
        raise ValueError("quadrature weights are implemented for 1D point sets only")
    x = coords[:, 0].to(torch.float64)
    order = torch.argsort(x)
    xs = x[order]
    if periodic:
        gaps = torch.diff(torch.cat([xs, xs[:1] + 1.0]))
        left = torch.roll(gaps, 1)
    else:
        ext = torch.cat([xs.new_zeros(1), xs, xs.new_ones(1)])
        gaps, left = ext[2:] - ext[1:-1], ext[1:-1] - ext[:-2]
    w = torch.empty_like(xs)
    w[order] = 0.5 * (gaps + left)
    return (w / w.sum()).to(coords.dtype)


def interpolate_points_1d(values: torch.Tensor, coords: torch.Tensor, targets: torch.Tensor,
                          periodic: bool) -> torch.Tensor:
    """Piecewise-linear interpolation of (batch, C, n) values at 1D points ``coords`` (n, 1) onto
    ``targets`` (m, 1); periodic sets wrap across the seam, others extend the end values."""
    x = coords[:, 0]
    order = torch.argsort(x)
    xs, vs = x[order], values[..., order]
    if periodic:
        xs = torch.cat([xs[-1:] - 1.0, xs, xs[:1] + 1.0])
        vs = torch.cat([vs[..., -1:], vs, vs[..., :1]], dim=-1)
    t = targets[:, 0]
    if periodic:
        t = torch.remainder(t, 1.0)
    idx = torch.searchsorted(xs.contiguous(), t.contiguous()).clamp(1, xs.numel() - 1)
    x0, x1 = xs[idx - 1], xs[idx]
    lam = ((t - x0) / torch.clamp(x1 - x0, min=1e-12)).clamp(0.0, 1.0)
    return vs[..., idx - 1] * (1 - lam) + vs[..., idx] * lam
