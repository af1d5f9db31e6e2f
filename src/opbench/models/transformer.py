"""The standard Transformer (ViT-style encoder) used as a PDE surrogate.

Tokens are grid points (``patch=1``) or non-overlapping patches of ``patch`` points per axis; a
linear embedding plus a learned absolute positional embedding sized for the training grid's token
count; pre-norm blocks of softmax self-attention and a GELU MLP; a final LayerNorm and a linear head
back to patch values. Nothing here is operator-specific: this is the model the benchmark tests.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from opbench.models.grid_utils import GridModel, check_input, resample


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, t, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (b, heads, t, d_head)
        att = F.scaled_dot_product_attention(q, k, v)
        x = x + self.out(att.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.norm2(x))


class Transformer(GridModel):
    """Patch Transformer mapping (batch, in_channels, *grid) -> (batch, out_channels, *grid).

    Off the training grid the positional embedding (one vector per training token, laid out on the
    token grid) is linearly / bilinearly interpolated to the new token grid with the same periodic
    or vertex convention as the data: the most generous honest way to run a fixed-size positional
    embedding at another resolution. Every grid axis must be divisible by ``patch``.
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
    ) -> None:
        super().__init__(in_channels, out_channels, grid, periodic)
        self.patch = int(patch)
        if self.patch < 1:
            raise ValueError(f"patch must be a positive int, got {patch}")
        tokens = self._token_grid(self.grid)
        points = self.patch**self.ndim
        self.embed = nn.Linear(in_channels * points, d_model)
        self.pos = nn.Parameter(torch.randn(1, d_model, *tokens) * 0.02)
        self.blocks = nn.ModuleList(_Block(d_model, heads, mlp_ratio) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, out_channels * points)

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_channels, self.ndim, "transformer")
        tokens = self._token_grid(tuple(x.shape[2:]))
        pos = resample(self.pos, tokens, self.periodic).flatten(2).transpose(1, 2)
        h = self.embed(self._patchify(x, tokens)) + pos
        for block in self.blocks:
            h = block(h)
        return self._unpatchify(self.head(self.norm(h)), tokens)
