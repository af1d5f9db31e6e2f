"""The standard Transformer (ViT-style encoder) used as a PDE surrogate, plain and as a family.

Tokens are grid points (``patch=1``) or non-overlapping patches of ``patch`` points per axis; a
linear embedding plus a position encoding; pre-norm blocks of softmax self-attention and a GELU
MLP; a final LayerNorm and a linear head back to patch values. Nothing here is operator-specific:
this is the model the benchmark tests. The defaults are the plain model of the claims (learned
absolute positions, interpolated off-grid). Options build the strongest honest variants a
reviewer would ask for (issue 11), each one change to the plain model:

- ``resample=True``: the resampling wrapper. The input is linearly resampled to the training grid
  and the output back (``grid_utils.resample``, exactly what the MLP gets), so the network only
  ever sees its training grid.
- ``position="coords"``: coordinate features of every point (cos/sin harmonics on periodic grids,
  x and cos/sin on vertex grids, ``point_utils.coordinate_features``) appended to the input
  channels instead of a learned embedding: a function of the physical position, valid on any grid.
  ``position="none"`` drops position information (only useful with ``rope``).
- ``rope=True``: rotary position encoding of queries and keys at the tokens' physical coordinates,
  integer frequencies 1..m per axis (so a periodic grid's seam is seamless). Attention then depends
  on physical offsets, not on token indices.
- With ``patch=1`` and a physical position encoding (coords and/or rope), a token is one point,
  the model runs on any grid (odd sizes too) and softmax attention is a normalised Riemann sum of
  the continuum attention integral (Calvello et al. 2024): the discretization-convergent variant.
- ``norm="rms"``: the input is divided by its root mean square (per sample, over channels and grid)
  and the output multiplied by it, so f(c a) = c f(a) exactly for every c > 0, whatever LayerNorm
  and biases do inside.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from opbench.models.grid_utils import GridModel, check_input
from opbench.models.grid_utils import resample as resample_grid
from opbench.models.point_utils import coordinate_features, n_coordinate_features

POSITIONS = ("learned", "coords", "none")
NORMS = ("none", "rms")


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate consecutive pairs (x0, x1) of the last axis by the angles whose cos/sin are given."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1).flatten(-2)


class _Block(nn.Module):
    """Pre-norm encoder block: x + Attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, d_model: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by heads ({heads})")
        self.heads = heads
        self.norm1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        hidden = int(round(mlp_ratio * d_model))
        self.mlp = nn.Sequential(nn.Linear(d_model, hidden), nn.GELU(), nn.Linear(hidden, d_model))

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        b, t, d = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, t, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (b, heads, t, d_head)
        if rope is not None:
            q, k = _rotate(q, *rope), _rotate(k, *rope)
        att = F.scaled_dot_product_attention(q, k, v)
        x = x + self.out(att.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.norm2(x))


class Transformer(GridModel):
    """Patch Transformer mapping (batch, in_channels, *grid) -> (batch, out_channels, *grid).

    Plain (``position="learned"``): off the training grid the positional embedding (one vector per
    training token, laid out on the token grid) is linearly / bilinearly interpolated to the new
    token grid with the same periodic or vertex convention as the data: the most generous honest
    way to run a fixed-size positional embedding at another resolution. Every grid axis must be
    divisible by ``patch`` (with ``resample=True`` only the training grid's). See the module
    docstring for the variants.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        grid: tuple[int, ...],
        periodic: bool = True,
        *,
        d_model: int = 128,
        heads: int = 4,
        layers: int = 4,
        mlp_ratio: float = 4,
        patch: int = 1,
        position: str = "learned",
        rope: bool = False,
        harmonics: int = 4,
        resample: bool = False,
        norm: str = "none",
    ) -> None:
        super().__init__(in_channels, out_channels, grid, periodic)
        self.patch = int(patch)
        if self.patch < 1:
            raise ValueError(f"patch must be a positive int, got {patch}")
        if position not in POSITIONS:
            raise ValueError(f"transformer: position {position!r} is not one of {', '.join(POSITIONS)}")
        if norm not in NORMS:
            raise ValueError(f"transformer: norm {norm!r} is not one of {', '.join(NORMS)}")
        if harmonics < 1:
            raise ValueError(f"transformer: harmonics must be >= 1, got {harmonics}")
        self.position, self.use_rope, self.harmonics = position, bool(rope), int(harmonics)
        self.resample, self.norm_io = bool(resample), norm
        d_head = d_model // heads if heads else 0
        if self.use_rope and d_head % (2 * self.ndim):
            raise ValueError(f"transformer: rope needs d_model / heads ({d_head}) divisible by {2 * self.ndim}")
        tokens = self._token_grid(self.grid)
        points = self.patch**self.ndim
        n_coord = n_coordinate_features(self.ndim, self.periodic, self.harmonics) if position == "coords" else 0
        self.embed = nn.Linear((in_channels + n_coord) * points, d_model)
        if position == "learned":
            self.pos = nn.Parameter(torch.randn(1, d_model, *tokens) * 0.02)
        self.blocks = nn.ModuleList(_Block(d_model, heads, mlp_ratio) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, out_channels * points)
        self._rope_pairs = d_head // (2 * self.ndim) if self.use_rope else 0

    def _token_grid(self, grid: tuple[int, ...]) -> tuple[int, ...]:
        if any(n % self.patch for n in grid):
            raise ValueError(f"transformer: grid {grid} is not divisible by the patch size {self.patch}")
        return tuple(n // self.patch for n in grid)

    def _patchify(self, x: torch.Tensor, tokens: tuple[int, ...]) -> torch.Tensor:
        """(b, c, *grid) -> (b, T, c * patch**ndim), tokens in row-major order of the token grid."""
        b, c, p = x.shape[0], x.shape[1], self.patch
        if self.ndim == 1:
            return x.reshape(b, c, tokens[0], p).permute(0, 2, 1, 3).reshape(b, tokens[0], c * p)
        t1, t2 = tokens
        x = x.reshape(b, c, t1, p, t2, p).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(b, t1 * t2, c * p * p)

    def _unpatchify(self, y: torch.Tensor, tokens: tuple[int, ...]) -> torch.Tensor:
        b, c, p = y.shape[0], self.out_channels, self.patch
        if self.ndim == 1:
            return y.reshape(b, tokens[0], c, p).permute(0, 2, 1, 3).reshape(b, c, tokens[0] * p)
        t1, t2 = tokens
        y = y.reshape(b, t1, t2, c, p, p).permute(0, 3, 1, 4, 2, 5)
        return y.reshape(b, c, t1 * p, t2 * p)

    def _axis_coords(self, n: int, x: torch.Tensor) -> torch.Tensor:
        """Physical coordinates of the n points of one axis (periodic i/n, vertex i/(n-1))."""
        return torch.arange(n, device=x.device, dtype=torch.float64) / (n if self.periodic else n - 1)

    def _coords(self, grid: tuple[int, ...], x: torch.Tensor) -> torch.Tensor:
        """Coordinate feature channels (b, k, *grid) of every grid point."""
        mesh = torch.meshgrid(*(self._axis_coords(n, x) for n in grid), indexing="ij")
        pts = torch.stack([m.reshape(-1) for m in mesh], dim=-1)
        feats = coordinate_features(pts, self.periodic, self.harmonics).to(x.dtype)
        return feats.T.reshape(1, -1, *grid).expand(x.shape[0], -1, *grid)

    def _rope(self, grid: tuple[int, ...], tokens: tuple[int, ...], x: torch.Tensor):
        """cos/sin (T, d_head / 2) of the rotary angles 2 pi k x_axis at each token's centre."""
        per_axis = []
        for n, t in zip(grid, tokens, strict=True):
            centre = (torch.arange(t, device=x.device, dtype=torch.float64) * self.patch + (self.patch - 1) / 2)
            per_axis.append(centre / (n if self.periodic else n - 1))
        mesh = torch.meshgrid(*per_axis, indexing="ij")
        freqs = torch.arange(1, self._rope_pairs + 1, device=x.device, dtype=torch.float64)
        w = (2 if self.periodic else 1) * math.pi  # integer periods on the torus, half periods on [0, 1]
        angles = torch.cat([w * m.reshape(-1, 1) * freqs for m in mesh], dim=-1)
        return torch.cos(angles).to(x.dtype), torch.sin(angles).to(x.dtype)

    def _network(self, x: torch.Tensor) -> torch.Tensor:
        grid = tuple(x.shape[2:])
        tokens = self._token_grid(grid)
        if self.position == "coords":
            x = torch.cat([x, self._coords(grid, x)], dim=1)
        h = self.embed(self._patchify(x, tokens))
        if self.position == "learned":
            h = h + resample_grid(self.pos, tokens, self.periodic).flatten(2).transpose(1, 2)
        rope = self._rope(grid, tokens, x) if self.use_rope else None
        for block in self.blocks:
            h = block(h, rope)
        return self._unpatchify(self.head(self.norm(h)), tokens)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_channels, self.ndim, "transformer")
        grid = tuple(x.shape[2:])
        scale = None
        if self.norm_io == "rms":
            scale = x.pow(2).flatten(1).mean(dim=1).sqrt().clamp_min(torch.finfo(x.dtype).tiny)
            scale = scale.reshape(-1, *([1] * (x.ndim - 1)))
            x = x / scale
        if self.resample:
            x = resample_grid(x, self.grid, self.periodic)
        y = self._network(x)
        if self.resample:
            y = resample_grid(y, grid, self.periodic)
        return y * scale if scale is not None else y
