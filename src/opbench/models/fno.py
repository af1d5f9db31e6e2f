"""The Fourier Neural Operator (Li et al. 2021), one module for 1D and 2D grids.

Structure as in the FNO paper's released code: a pointwise lifting of (input, coordinates) to
``width`` channels, ``layers`` Fourier layers v -> act(K v + W v) (no activation after the last),
and a pointwise two-layer projection. K keeps a fixed number of Fourier modes per axis; its weights
depend on ``modes`` only, never on the grid, so the same model runs on any resolution.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from opbench.models.grid_utils import GridModel, check_input, coordinate_channels

_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "tanh": torch.tanh}
SPECTRAL_INITS = ("paper", "glorot")
COORDINATES = ("periodic", "x", "none")


def _dft_matrices(
    n: int, m: int, full: bool, device: torch.device, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cached ``_build_dft_matrices``, always built as normal tensors: a matrix first made under
    ``torch.inference_mode`` would otherwise be an inference tensor that autograd refuses later."""
    with torch.inference_mode(False):
        return _build_dft_matrices(n, m, full, device, dtype)


@functools.lru_cache(maxsize=64)
def _build_dft_matrices(
    n: int, m: int, full: bool, device: torch.device, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of the DFT kept by a spectral layer on one axis of n points, and their inverse.

    ``full=False`` (the rfft axis): frequencies 0..m-1. Forward (n, 2m) real, mapping samples to
    interleaved (re, im) coefficients c_k = (1/n) sum_j x_j e^{-2 pi i k j / n} (``norm="forward"``);
    inverse (2m, n) real, x_j = sum_k w_k Re(c_k e^{2 pi i k j / n}) with w = 1 at k = 0 and at the
    Nyquist frequency and 2 elsewhere: exactly ``irfft(norm="forward")`` of the zero-filled spectrum.
    ``full=True``: frequencies 0..m-1 then -m..-1; complex forward (2m, n) and inverse (n, 2m).
    Built in float64 and cast, cached per (n, m, device, dtype).
    """
    j = torch.arange(n, dtype=torch.float64)
    if not full:
        k = torch.arange(m, dtype=torch.float64)
        ang = 2 * math.pi * torch.outer(j, k) / n  # (n, m)
        fwd = torch.stack([torch.cos(ang), -torch.sin(ang)], dim=-1).reshape(n, 2 * m) / n
        w = torch.full((m,), 2.0, dtype=torch.float64)
        w[0] = 1.0
        if n % 2 == 0 and m > n // 2:
            w[n // 2] = 1.0
        inv = torch.stack([w[:, None] * torch.cos(ang.T), -w[:, None] * torch.sin(ang.T)], dim=1)
        return fwd.to(device, dtype), inv.reshape(2 * m, n).to(device, dtype)
    k = torch.cat([torch.arange(m), torch.arange(-m, 0)]).to(torch.float64)
    ang = 2 * math.pi * torch.outer(k, j) / n  # (2m, n)
    cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    fwd = torch.polar(torch.ones_like(ang), -ang) / n
    return fwd.to(device, cdtype), torch.polar(torch.ones_like(ang), ang).T.to(device, cdtype)


class SpectralConv(nn.Module):
    """Truncated Fourier convolution on the last ``ndim`` axes of (batch, channels, *grid).

    Modes kept: frequencies 0..m-1 on the last axis (the rfft axis) and -m..m-1 on every other axis,
    stored as one complex weight block of shape (in, out, 2m, ..., 2m, m) held as real pairs.
    Normalised like ``rfftn``/``irfftn`` with ``norm="forward"`` (the 1/n sits in the forward
    transform), so the kept coefficients are the function's Fourier coefficients and a band-limited
    input gives the same output function at every resolution. On a grid with fewer than 2m points
    per axis only the modes that fit are used (the matching slice of the weights): m_eff =
    min(m, n // 2) on full axes, min(m, n // 2 + 1) on the rfft axis.

    ``impl="dft"`` (default) evaluates the truncated transform as a matmul with the kept rows of the
    DFT matrix: with m << n that is fewer operations than an FFT of all n points followed by
    discarding most of them, runs as a dense GEMM, and its backward is a GEMM too (the backward of
    ``rfft`` is a full complex FFT). ``impl="fft"`` is the textbook rfftn/irfftn version; the two
    agree to rounding (tested).
    """

    def __init__(
        self, in_channels: int, out_channels: int, modes: tuple[int, ...], impl: str = "dft", init: str = "paper"
    ) -> None:
        super().__init__()
        if impl not in ("dft", "fft"):
            raise ValueError(f"impl must be 'dft' or 'fft', got {impl!r}")
        if init not in SPECTRAL_INITS:
            raise ValueError(f"spectral init must be one of {SPECTRAL_INITS}, got {init!r}")
        self.impl = impl
        self.modes = tuple(int(m) for m in modes)
        self.in_channels, self.out_channels = in_channels, out_channels
        shape = (in_channels, out_channels, *(2 * m for m in self.modes[:-1]), self.modes[-1], 2)
        if init == "paper":
            # FNO-paper initialisation: uniform [0, 1) real and imaginary parts scaled by 1/(in*out).
            # The paper's code applied it to unnormalised FFT coefficients (n times larger than ours),
            # so with norm="forward" this spectral path starts ~n times weaker than the paper's did.
            self.weight = nn.Parameter(torch.rand(shape) / (in_channels * out_channels))
        else:
            # "glorot": zero-mean Gaussian real and imaginary parts of variance 1/(in+out) each (a
            # complex variance of 2/(in+out)), so a layer roughly keeps the size of the coefficients.
            self.weight = nn.Parameter(torch.randn(shape) / math.sqrt(in_channels + out_channels))

    def _effective_modes(self, grid: tuple[int, ...]) -> tuple[int, ...]:
        full = [min(m, n // 2) for m, n in zip(self.modes[:-1], grid[:-1], strict=True)]
        return (*full, min(self.modes[-1], grid[-1] // 2 + 1))

    def _kept_weight(self, eff: tuple[int, ...]) -> torch.Tensor:
        """Complex weights of the modes that fit: (in, out, [2 m1_eff,] m_eff)."""
        weight = torch.view_as_complex(self.weight)
        if len(eff) == 1:
            return weight[..., : eff[0]]
        (m1, m2), full = eff, self.modes[0]
        return torch.cat([weight[:, :, :m1, :m2], weight[:, :, 2 * full - m1 :, :m2]], dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid = tuple(x.shape[2:])
        eff = self._effective_modes(grid)
        w = self._kept_weight(eff)
        if self.impl == "fft":
            return self._forward_fft(x, grid, eff, w)
        b, n_last, m_last = x.shape[0], grid[-1], eff[-1]
        fwd_r, inv_r = _dft_matrices(n_last, m_last, False, x.device, x.dtype)
        # Last axis: real samples -> complex coefficients (..., m_last).
        x_ft = torch.view_as_complex((x @ fwd_r).reshape(*x.shape[:-1], m_last, 2))
        if len(grid) == 1:
            # Modes as the batch of a complex matmul: (m, batch, in) @ (m, in, out).
            y = torch.bmm(x_ft.permute(2, 0, 1), w.permute(2, 0, 1)).permute(1, 2, 0)
        else:
            fwd_c, inv_c = _dft_matrices(grid[0], eff[0], True, x.device, x.dtype)
            x_ft = fwd_c @ x_ft  # (b, in, 2 m1, m2)
            y = inv_c @ torch.einsum("bixy,ioxy->boxy", x_ft, w)  # (b, out, n1, m2)
        return (torch.view_as_real(y).reshape(*y.shape[:-1], 2 * m_last) @ inv_r).reshape(b, self.out_channels, *grid)

    def _forward_fft(
        self, x: torch.Tensor, grid: tuple[int, ...], eff: tuple[int, ...], w: torch.Tensor
    ) -> torch.Tensor:
        dims = tuple(range(-len(grid), 0))
        x_ft = torch.fft.rfftn(x, dim=dims, norm="forward")
        if len(grid) == 1:
            (m,) = eff
            y = torch.einsum("bix,iox->box", x_ft[..., :m], w)
            # irfft zero-fills the dropped high modes itself.
            return torch.fft.irfft(y, n=grid[0], dim=-1, norm="forward")
        m1, m2 = eff
        x_kept = torch.cat([x_ft[:, :, :m1, :m2], x_ft[:, :, -m1:, :m2]], dim=2)
        y = torch.einsum("bixy,ioxy->boxy", x_kept, w)
        out = y.new_zeros(x.shape[0], self.out_channels, grid[0], m2)
        out[:, :, :m1] = y[:, :, :m1]
        out[:, :, grid[0] - m1 :] = y[:, :, m1:]
        return torch.fft.irfftn(out, s=grid, dim=dims, norm="forward")


def _periodic_x(grid: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The raw coordinates x_i = i / n of a periodic grid, one channel per axis: (ndim, *grid)."""
    axes = torch.meshgrid(*(torch.arange(n, device=device, dtype=torch.float64) / n for n in grid), indexing="ij")
    return torch.stack(axes).to(dtype)


class PointwiseMLP(nn.Module):
    """Two pointwise (kernel-size-1) linear maps with an activation between: width -> hidden -> width."""

    def __init__(self, conv: type[nn.Module], width: int, hidden: int, act) -> None:
        super().__init__()
        self.fc1, self.fc2, self.act = conv(width, hidden, 1), conv(hidden, width, 1), act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class FNO(GridModel):
    """Fourier Neural Operator for (batch, in_channels, *grid) -> (batch, out_channels, *grid).

    ``padding`` (non-periodic domains such as Darcy): the fraction of each axis appended as zeros
    after lifting and cropped before projection, so the FFT does not treat the domain as periodic.
    It is a fraction rather than a point count so that the padded physical domain is (nearly) the
    same at every resolution. ``spectral_impl``: "dft" (default, matmul with the kept DFT rows) or
    "fft" (rfftn/irfftn); see ``SpectralConv``.

    Options beyond the paper's layout (all off by default, so the default model and its seeded
    weights are those of the paper's code; docs/REPRODUCTION.md has the ablation that motivates them):

    - ``spectral_init="glorot"``: Gaussian spectral weights that keep the coefficients' size instead
      of the paper's 1/(in*out) uniform ones (see ``SpectralConv``).
    - ``lifting_width > 0``: the lifting is a two-layer pointwise MLP through that many channels
      (0: one linear map, as in the paper).
    - ``channel_mlp > 0``: after each Fourier layer, a two-layer pointwise MLP whose hidden width is
      ``channel_mlp * width`` (a Transformer-style feed-forward block).
    - ``gated_skip``: each layer adds its own input back, scaled per channel by a learned gain that
      starts at 1 (a residual path through the whole stack).
    - ``coordinates``: the position features appended to the input. "periodic" (default): cos/sin
      2 pi x on periodic grids, x on vertex grids (``grid_utils.coordinate_channels``). "x": the
      coordinate x in [0, 1) itself on every grid, as the paper's code and neuraloperator do (on the
      torus a sawtooth, whose jump aliases, so outputs change slightly with the resolution). "none":
      no position features, so the model is exactly equivariant to grid shifts.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        grid: tuple[int, ...],
        periodic: bool = True,
        *,
        modes: int | tuple[int, ...] = 16,
        width: int = 64,
        layers: int = 4,
        padding: float = 0.0,
        activation: str = "gelu",
        projection_width: int = 128,
        spectral_impl: str = "dft",
        spectral_init: str = "paper",
        lifting_width: int = 0,
        channel_mlp: float = 0.0,
        gated_skip: bool = False,
        coordinates: str = "periodic",
    ) -> None:
        super().__init__(in_channels, out_channels, grid, periodic)
        modes_t = (int(modes),) * self.ndim if isinstance(modes, int) else tuple(int(m) for m in modes)
        if len(modes_t) != self.ndim or any(m < 1 for m in modes_t):
            raise ValueError(f"modes must be a positive int or one per grid axis, got {modes}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose from {sorted(_ACTIVATIONS)}")
        if padding < 0:
            raise ValueError(f"padding is a non-negative fraction of the grid, got {padding}")
        if coordinates not in COORDINATES:
            raise ValueError(f"coordinates must be one of {COORDINATES}, got {coordinates!r}")
        if lifting_width < 0 or channel_mlp < 0:
            raise ValueError(f"lifting_width and channel_mlp must be >= 0, got {lifting_width}, {channel_mlp}")
        self.padding = float(padding)
        self.act = _ACTIVATIONS[activation]
        self.coordinates = coordinates
        n_coords = {"periodic": 2 if self.periodic else 1, "x": 1, "none": 0}[coordinates] * self.ndim
        conv = nn.Conv1d if self.ndim == 1 else nn.Conv2d
        self.lift = conv(in_channels + n_coords, lifting_width or width, 1)
        self.spectral = nn.ModuleList(
            SpectralConv(width, width, modes_t, spectral_impl, spectral_init) for _ in range(layers)
        )
        self.pointwise = nn.ModuleList(conv(width, width, 1) for _ in range(layers))
        self.project1 = conv(width, projection_width, 1)
        self.project2 = conv(projection_width, out_channels, 1)
        # Optional parts are created after the paper's, so the default draws the same weights.
        self.lift2 = conv(lifting_width, width, 1) if lifting_width else None
        hidden = round(channel_mlp * width)
        mlps = [PointwiseMLP(conv, width, hidden, self.act) for _ in range(layers)] if hidden else None
        self.mlps = nn.ModuleList(mlps) if mlps else None
        self.gates = nn.Parameter(torch.ones(layers, width)) if gated_skip else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_channels, self.ndim, "fno")
        grid = tuple(x.shape[2:])
        if self.coordinates != "none":
            if self.coordinates == "x" and self.periodic:
                coords = _periodic_x(grid, x.device, x.dtype)
            else:
                coords = coordinate_channels(grid, self.periodic, x.device, x.dtype)
            x = torch.cat([x, coords.expand(x.shape[0], *coords.shape)], dim=1)
        x = self.lift(x)
        if self.lift2 is not None:
            x = self.lift2(self.act(x))
        pads = [math.ceil(self.padding * n) for n in grid]
        if any(pads):
            # F.pad lists the last axis first.
            x = F.pad(x, [p for pad in reversed(pads) for p in (0, pad)])
        n_layers = len(self.spectral)
        for i, (k, w) in enumerate(zip(self.spectral, self.pointwise, strict=True)):
            last = i == n_layers - 1
            y = k(x) + w(x)
            if self.mlps is not None:
                y = self.mlps[i](y if last else self.act(y))
            if self.gates is not None:
                y = y + self.gates[i].reshape(-1, *(1,) * self.ndim) * x
            x = y if last else self.act(y)
        if any(pads):
            x = x[(..., *(slice(0, n) for n in grid))]
        return self.project2(self.act(self.project1(x)))
