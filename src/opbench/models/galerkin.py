"""The Galerkin Transformer (Cao 2021): softmax-free linear attention on any point set.

Tokens are points; each carries its field values and features of its coordinates, so the model
needs no positional embedding tied to a grid. Galerkin attention ``z -> Q (K^T V) / n`` with
layer-normalised keys and values is a quadrature of an integral operator with a learned kernel,
``int q(x) . k(y) v(y) dy``: its value converges as the point set refines. On non-uniform points
the uniform weights 1/n are replaced by trapezoid weights of the point set (``quadrature_weights``).
Everything else is pointwise, so permuting the input points permutes the output.
"""

from __future__ import annotations

import torch
from torch import nn

from opbench.models.grid_utils import GridModel
from opbench.models.point_utils import (
    coordinate_features,
    grid_points,
    n_coordinate_features,
    quadrature_weights,
)


class GalerkinAttention(nn.Module):
    """Multi-head z -> Q (LN(K)^T LN(V)) with quadrature weights, plus an output projection."""

    def __init__(self, d_model: int, heads: int) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by heads ({heads})")
        self.heads, self.d_head = heads, d_model // heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.norm_k = nn.LayerNorm(self.d_head)
        self.norm_v = nn.LayerNorm(self.d_head)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, z: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        b, n, d = z.shape
        q, k, v = self.qkv(z).reshape(b, n, 3, self.heads, self.d_head).permute(2, 0, 3, 1, 4).unbind(0)
        k, v = self.norm_k(k), self.norm_v(v)  # (b, heads, n, d_head)
        kv = torch.einsum("bhnd,bhne,n->bhde", k, v, weights)  # integral of k v^T
        att = q @ kv  # (b, heads, n, d_head)
        return self.out(att.transpose(1, 2).reshape(b, n, d))


class GalerkinTransformer(GridModel):
    """(batch, in_channels, *grid) -> (batch, out_channels, *grid), or on a point set:
    ``forward(x, coords)`` with x (batch, in_channels, n) and coords (n, ndim) in [0, 1]."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        grid: tuple[int, ...],
        periodic: bool = True,
        *,
        d_model: int = 64,
        heads: int = 4,
        layers: int = 3,
        mlp_ratio: float = 2,
        harmonics: int = 4,
    ) -> None:
        super().__init__(in_channels, out_channels, grid, periodic)
        self.harmonics = int(harmonics)
        if self.harmonics < 1:
            raise ValueError(f"harmonics must be >= 1, got {harmonics}")
        n_feat = n_coordinate_features(self.ndim, self.periodic, self.harmonics)
        self.embed = nn.Linear(in_channels + n_feat, d_model)
        hidden = int(round(mlp_ratio * d_model))
        self.attn = nn.ModuleList(GalerkinAttention(d_model, heads) for _ in range(layers))
        self.ffn = nn.ModuleList(
            nn.Sequential(nn.Linear(d_model, hidden), nn.GELU(), nn.Linear(hidden, d_model)) for _ in range(layers)
        )
        self.head = nn.Sequential(nn.Linear(d_model, hidden), nn.GELU(), nn.Linear(hidden, out_channels))

    def forward(self, x: torch.Tensor, coords: torch.Tensor | None = None) -> torch.Tensor:
        if x.shape[1] != self.in_channels:
            raise ValueError(f"galerkin_transformer expects {self.in_channels} input channels, got {tuple(x.shape)}")
        if coords is None:
            grid = tuple(x.shape[2:])
            if len(grid) != self.ndim:
                raise ValueError(f"galerkin_transformer expects {self.ndim} grid axes, got shape {tuple(x.shape)}")
            pts = grid_points(grid, self.periodic, x.device, x.dtype)
            weights = torch.full((pts.shape[0],), 1.0 / pts.shape[0], device=x.device, dtype=x.dtype)
        else:
            if x.ndim != 3 or coords.shape != (x.shape[2], self.ndim):
                raise ValueError(
                    f"point-set input needs x (batch, C, n) and coords (n, {self.ndim}); "
                    f"got {tuple(x.shape)} and {tuple(coords.shape)}"
                )
            grid, pts = (x.shape[2],), coords.to(x.dtype)
            weights = quadrature_weights(pts, self.periodic) if self.ndim == 1 else (
                torch.full((pts.shape[0],), 1.0 / pts.shape[0], device=x.device, dtype=x.dtype))
        feats = coordinate_features(pts, self.periodic, self.harmonics)  # (n, k)
        tokens = x.flatten(2).transpose(1, 2)  # (b, n, C)
        z = self.embed(torch.cat([tokens, feats.expand(x.shape[0], *feats.shape)], dim=-1))
        for attn, ffn in zip(self.attn, self.ffn, strict=True):
            z = z + attn(z, weights)
            z = z + ffn(z)
        return self.head(z).transpose(1, 2).reshape(x.shape[0], self.out_channels, *grid)
