"""The Transformer as a family (issue 11): each variant's defining property, and that each learns.

Plain: learned absolute positions interpolated off-grid. Variants: the resampling wrapper, one
token per point with coordinate features and rotary encodings, RMS input/output normalisation.
Every property is checked against the plain model too, so a test that could not fail would show.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from opbench.models import build_model
from opbench.models.grid_utils import resample

TINY = {"d_model": 16, "heads": 2, "layers": 2, "mlp_ratio": 2}
VARIANTS = {
    "plain": {"patch": 2},
    "resample": {"patch": 2, "resample": True},
    "point": {"patch": 1, "position": "coords", "rope": True},
    "rms": {"patch": 2, "norm": "rms"},
}


def _model(variant: str, grid=(32,), periodic: bool = True, seed: int = 0, **extra) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_model("transformer", in_channels=1, out_channels=1, grid=grid, periodic=periodic,
                        **{**TINY, **VARIANTS[variant], **extra})
    return model.double().eval()


def _band_limited(n: int) -> torch.Tensor:
    """Two samples of a smooth periodic field with modes |k| <= 3, on n points, (2, 1, n) float64."""
    x = torch.arange(n, dtype=torch.float64) / n
    a = torch.sin(2 * math.pi * x) + 0.5 * torch.cos(2 * math.pi * 3 * x + 0.3)
    b = 0.7 * torch.cos(2 * math.pi * 2 * x) - 0.2 * torch.sin(2 * math.pi * x)
    return torch.stack([a, b])[:, None]


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@torch.no_grad()
def test_resampling_wrapper_is_resolution_independent_on_band_limited_input() -> None:
    """On grids nested in the training grid the wrapper reproduces the training-grid output at the
    shared points exactly; on other grids the gap is the linear-interpolation error, which shrinks
    as the grid refines. The plain model's output at the same points moves by orders more."""
    model, plain = _model("resample"), _model("plain")
    ref = model(_band_limited(32))
    for n in (64, 128, 256):
        out = model(_band_limited(n))
        assert out.shape == (2, 1, n)
        assert _rel(out[..., :: n // 32], ref) < 1e-12
    gaps = [_rel(model(_band_limited(n)), resample(ref, (n,), True)) for n in (48, 96, 400)]
    assert gaps[0] < 0.05 and gaps[2] < gaps[0]
    plain_gap = _rel(plain(_band_limited(128))[..., ::4], plain(_band_limited(32)))
    assert plain_gap > 1e3 * _rel(model(_band_limited(128))[..., ::4], ref) and plain_gap > 1e-3


@torch.no_grad()
@pytest.mark.parametrize("scale", [0.25, 4.0, 3.7, 1e-3, 1e3])
def test_rms_normalised_variant_is_exactly_scale_equivariant(scale: float) -> None:
    """f(c a) = c f(a) to float precision for c > 0 (float64 here: 1e-12; float32: 1e-5)."""
    x = torch.randn(3, 1, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    model = _model("rms")
    assert _rel(model(scale * x), scale * model(x)) < 1e-12
    model32 = _model("rms").float()
    assert _rel(model32(scale * x.float()), scale * model32(x.float())) < 1e-5
    if scale != 1.0:  # the plain model is not: LayerNorm and biases break homogeneity
        plain = _model("plain")
        assert _rel(plain(scale * x), scale * plain(x)) > 1e-2


@torch.no_grad()
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("grid", [(17,), (31,), (64,), (101,), (9, 13), (15, 15), (16, 16)])
def test_one_token_per_point_variant_runs_on_any_grid(grid: tuple[int, ...], periodic: bool) -> None:
    train = (32,) if len(grid) == 1 else (16, 16)
    model = _model("point", grid=train, periodic=periodic)
    x = torch.randn(2, 1, *grid, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    y = model(x)
    assert y.shape == (2, 1, *grid) and torch.isfinite(y).all()
    plain = _model("plain", grid=train, periodic=periodic)
    if any(n % 2 for n in grid):
        with pytest.raises(ValueError, match="not divisible by the patch size"):
            plain(x)


@torch.no_grad()
def test_one_token_per_point_variant_converges_as_the_grid_refines() -> None:
    """Softmax attention over points is a normalised Riemann sum: on a smooth periodic input the
    outputs at the shared points converge spectrally with n (to round-off by n = 128). The plain model
    with patch=1 (learned embedding, linearly interpolated) converges only algebraically; with
    patch=2 its tokens shrink with the grid and the output does not converge at all."""
    def gaps(model: torch.nn.Module) -> list[float]:
        fine = model(_band_limited(512))
        return [_rel(model(_band_limited(n)), fine[..., :: 512 // n]) for n in (16, 32, 64, 128)]

    point, plain1, plain2 = gaps(_model("point")), gaps(_model("plain", patch=1)), gaps(_model("plain"))
    assert point[3] < 1e-10 and point[3] < point[2] < point[1] < point[0]
    assert plain1[3] > 1e-7
    assert min(plain2) > 0.5


def test_rope_is_seamless_on_the_torus() -> None:
    """With rope only (no absolute position), shifting a periodic input by whole points shifts the
    output: attention depends on physical offsets modulo 1."""
    torch.manual_seed(0)
    model = build_model("transformer", in_channels=1, out_channels=1, grid=(32,),
                        **{**TINY, "patch": 1, "position": "none", "rope": True}).double().eval()
    x = torch.randn(2, 1, 40, dtype=torch.float64)
    with torch.no_grad():
        assert _rel(model(torch.roll(x, 7, dims=-1)), torch.roll(model(x), 7, dims=-1)) < 1e-12


def test_bad_variant_options_are_refused_with_the_allowed_values() -> None:
    with pytest.raises(ValueError, match="position 'abs' is not one of learned, coords, none"):
        build_model("transformer", in_channels=1, out_channels=1, grid=(8,), position="abs")
    with pytest.raises(ValueError, match="norm 'layer' is not one of none, rms"):
        build_model("transformer", in_channels=1, out_channels=1, grid=(8,), norm="layer")


def test_resampling_wrapper_needs_the_patch_to_divide_only_the_training_grid() -> None:
    model = _model("resample", grid=(32,), patch=4)
    with torch.no_grad():
        assert model(torch.randn(1, 1, 85, dtype=torch.float64)).shape == (1, 1, 85)


def _smoothing_shift_problem(n: int, samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    k = np.fft.rfftfreq(n, 1.0 / n)
    spec = np.zeros((samples, k.size), dtype=complex)
    spec[:, 1:6] = (rng.standard_normal((samples, 5)) + 1j * rng.standard_normal((samples, 5))) / np.arange(1, 6)
    a = np.fft.irfft(spec, n=n, norm="forward")
    u = np.fft.irfft(spec * np.exp(-((k / 3) ** 2)) * np.exp(-2j * np.pi * k * 0.1), n=n, norm="forward")
    return torch.tensor(a[:, None], dtype=torch.float32), torch.tensor(u[:, None], dtype=torch.float32)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_learns_a_linear_operator(variant: str) -> None:
    """Relative L2 falls at least 10x within 200 full-batch Adam steps (smoothing plus a shift)."""
    a, u = _smoothing_shift_problem(16, 32)
    torch.manual_seed(0)
    hyper = {**VARIANTS[variant], "d_model": 32, "heads": 2, "layers": 1, "mlp_ratio": 2}
    hyper["patch"] = 4 if hyper["patch"] > 1 else 1  # as test_models' fitting test
    model = build_model("transformer", in_channels=1, out_channels=1, grid=(16,), **hyper)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    def loss_fn() -> torch.Tensor:
        return ((model(a) - u).flatten(1).norm(dim=1) / u.flatten(1).norm(dim=1)).mean()

    first = loss_fn().item()
    for _ in range(200):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
    assert loss_fn().item() < first / 10
