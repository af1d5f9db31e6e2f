"""Model behaviour: any-grid shapes, FNO discretization invariance, and that every model can learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from opbench.models import MODELS, build_model, model_names
from opbench.models.fno import SpectralConv
from opbench.models.grid_utils import resample
from opbench.training.trainer import rel_l2_loss

SMALL_HYPER = {
    "fno": {"modes": 8, "width": 16, "layers": 3},
    "transformer": {"d_model": 32, "heads": 2, "layers": 2, "patch": 2},
    "mlp": {"hidden": 64, "layers": 2},
    "unet": {"width": 8, "depth": 2},
    "fcn": {"width": 8, "depth": 2},
}
# Smaller still for the fitting test (learning rate, hyperparameters), tuned to need ~1 s each.
FIT = {
    "fno": (3e-3, {"modes": 6, "width": 8, "layers": 2}),
    "transformer": (3e-3, {"d_model": 32, "heads": 2, "layers": 1, "patch": 4, "mlp_ratio": 2}),
    "mlp": (3e-3, {"hidden": 32, "layers": 1}),
    "unet": (1e-2, {"width": 4, "depth": 1}),
    "fcn": (1e-2, {"width": 8, "depth": 1}),
}


def _trig_field(coeffs: dict[tuple[int, ...], complex], grid: tuple[int, ...]) -> torch.Tensor:
    """Real band-limited periodic field sum_k Re(c_k e^{2 pi i k.x}) on a periodic grid, float64."""
    axes = torch.meshgrid(*(torch.arange(n, dtype=torch.float64) / n for n in grid), indexing="ij")
    out = torch.zeros(grid, dtype=torch.float64)
    for k, c in coeffs.items():
        phase = 2 * math.pi * sum(ki * xi for ki, xi in zip(k, axes, strict=True))
        out += c.real * torch.cos(phase) - c.imag * torch.sin(phase)
    return out


def test_registry_lists_and_builds_every_model() -> None:
    assert model_names() == sorted(MODELS) == [
        "deeponet", "fcn", "fno", "galerkin_transformer", "mlp", "neuralop_fno", "transformer", "unet"
    ]
    with pytest.raises(ValueError, match="unknown model 'gpt'.*fno"):
        build_model("gpt", in_channels=1, out_channels=1, grid=(8,))


@pytest.mark.parametrize("name", ["fno", "transformer", "mlp", "unet", "fcn"])
@pytest.mark.parametrize("periodic", [True, False])
def test_1d_output_follows_input_grid(name: str, periodic: bool) -> None:
    torch.manual_seed(0)
    model = build_model(name, in_channels=2, out_channels=3, grid=(32,), periodic=periodic, **SMALL_HYPER[name])
    for n in (8, 24, 32, 50):
        y = model(torch.randn(2, 2, n))
        assert y.shape == (2, 3, n)
        assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", ["fno", "transformer", "unet", "mlp"])
def test_2d_output_follows_input_grid(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, in_channels=1, out_channels=2, grid=(16, 16), periodic=False, **SMALL_HYPER[name])
    for g in ((8, 8), (16, 16), (12, 20)):
        assert model(torch.randn(3, 1, *g)).shape == (3, 2, *g)


def test_transformer_refuses_grids_not_divisible_by_patch() -> None:
    model = build_model("transformer", in_channels=1, out_channels=1, grid=(16,), **SMALL_HYPER["transformer"])
    with pytest.raises(ValueError, match="not divisible by the patch size 2"):
        model(torch.randn(1, 1, 15))
    with pytest.raises(ValueError, match="not divisible"):
        build_model("transformer", in_channels=1, out_channels=1, grid=(85, 85), patch=2)


def test_models_refuse_wrong_channel_count() -> None:
    model = build_model("fno", in_channels=2, out_channels=1, grid=(16,), modes=4, width=8)
    with pytest.raises(ValueError, match="expects input"):
        model(torch.randn(1, 3, 16))


def test_transformer_positional_embedding_is_interpolated_off_grid() -> None:
    """On its own grid the embedding is used as is; at 2x tokens every other token keeps it exactly."""
    model = build_model("transformer", in_channels=1, out_channels=1, grid=(16,), **SMALL_HYPER["transformer"])
    pos = model.pos
    assert resample(pos, (8,), True) is pos
    fine = resample(pos, (16,), True)
    assert torch.allclose(fine[..., ::2], pos, atol=1e-6)
    # Periodic: the token between the last and the first is the average across the seam.
    assert torch.allclose(fine[..., -1], 0.5 * (pos[..., -1] + pos[..., 0]), atol=1e-6)


def test_resample_vertex_grid_keeps_both_ends_and_is_exact_for_linear_fields() -> None:
    x = torch.linspace(0, 1, 11, dtype=torch.float64)[None, None]
    y = resample(3 * x + 1, (21,), periodic=False)
    assert torch.allclose(y, 3 * torch.linspace(0, 1, 21, dtype=torch.float64) + 1)


def test_mlp_off_grid_is_interpolate_network_interpolate() -> None:
    torch.manual_seed(0)
    model = build_model("mlp", in_channels=1, out_channels=1, grid=(16,), **SMALL_HYPER["mlp"])
    x = torch.randn(2, 1, 32)
    expected = resample(model(resample(x, (16,), True)), (32,), True)
    assert torch.allclose(model(x), expected)


def test_fno_gives_the_same_function_at_two_resolutions_1d() -> None:
    """A band-limited input at n and 2n: outputs agree on the common points to float precision."""
    torch.manual_seed(0)
    model = build_model("fno", in_channels=1, out_channels=1, grid=(64,), modes=8, width=16).double()
    coeffs = {(1,): 1.0 + 0.0j, (3,): 0.5 - 0.2j, (5,): 0.3j}
    y64 = model(_trig_field(coeffs, (64,))[None, None])
    y128 = model(_trig_field(coeffs, (128,))[None, None])
    assert y64.abs().max() > 1e-3  # a non-trivial output
    assert torch.allclose(y64, y128[..., ::2], rtol=0, atol=1e-12)
    # Single precision: the same to float32 rounding.
    y32 = model.float()(_trig_field(coeffs, (64,)).float()[None, None])
    assert torch.allclose(y32.double(), y64, atol=1e-5)


def test_fno_gives_the_same_function_at_two_resolutions_2d() -> None:
    torch.manual_seed(1)
    model = build_model("fno", in_channels=1, out_channels=1, grid=(32, 32), modes=6, width=8).double()
    coeffs = {(1, 0): 1.0 + 0.0j, (2, -1): 0.4 + 0.3j, (-3, 2): 0.2j}
    y32 = model(_trig_field(coeffs, (32, 32))[None, None])
    y64 = model(_trig_field(coeffs, (64, 64))[None, None])
    assert torch.allclose(y32, y64[..., ::2, ::2], rtol=0, atol=1e-12)


@pytest.mark.parametrize(("modes", "coarse", "fine"), [((8,), (8,), (64,)), ((6, 6), (8, 8), (32, 32))])
def test_spectral_conv_truncates_modes_consistently_on_small_grids(modes, coarse, fine) -> None:
    """On a grid with fewer than 2*modes points the modes that fit use the SAME weights as on a big grid.

    The input holds frequencies |k| <= 3, representable on both grids; the layer is linear, so
    outputs must match on common points (this catches a wrong weight slice for negative modes).
    """
    torch.manual_seed(0)
    conv = SpectralConv(2, 3, modes).double()
    ks = [(1,), (3,), (2,)] if len(modes) == 1 else [(1, 2), (-3, 1), (2, -3)]
    coeffs = [dict(zip(ks, c, strict=True)) for c in ([1.0, 0.5j, 0.2 - 0.1j], [0.3j, -0.7, 0.4])]
    x = lambda g: torch.stack([_trig_field(c, g) for c in coeffs])[None]  # noqa: E731
    step = fine[0] // coarse[0]
    y_c, y_f = conv(x(coarse)), conv(x(fine))
    assert y_c.shape == (1, 3, *coarse)
    assert torch.allclose(y_c, y_f[(..., *(slice(None, None, step) for _ in modes))], atol=1e-12)


@pytest.mark.parametrize(
    ("modes", "grids"),
    [((8,), [(64,), (15,), (10,), (9,)]), ((5, 4), [(16, 12), (9, 7), (8, 6), (17, 20)])],
)
def test_spectral_conv_dft_matmul_equals_truncated_fft(modes, grids) -> None:
    """The fast matmul implementation is the rfftn/irfftn layer, including truncation and Nyquist modes."""
    torch.manual_seed(0)
    conv = SpectralConv(3, 2, modes).double()
    for g in grids:
        x = torch.randn(2, 3, *g, dtype=torch.float64)
        conv.impl = "dft"
        y_dft = conv(x)
        conv.impl = "fft"
        assert torch.allclose(y_dft, conv(x), atol=1e-12), g


def test_fno_parameter_count_does_not_depend_on_grid() -> None:
    counts = {
        n: sum(p.numel() for p in build_model("fno", in_channels=1, out_channels=1, grid=(n,)).parameters())
        for n in (64, 1024)
    }
    assert counts[64] == counts[1024]


def _smoothing_shift_problem(n: int, samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random smooth periodic inputs and a fixed linear operator: Gaussian smoothing plus a shift."""
    rng = np.random.default_rng(0)
    k = np.fft.rfftfreq(n, 1.0 / n)
    spec = np.zeros((samples, k.size), dtype=complex)
    spec[:, 1:6] = (rng.standard_normal((samples, 5)) + 1j * rng.standard_normal((samples, 5))) / np.arange(1, 6)
    a = np.fft.irfft(spec, n=n, norm="forward")
    u = np.fft.irfft(spec * np.exp(-((k / 3) ** 2)) * np.exp(-2j * np.pi * k * 0.1), n=n, norm="forward")
    return torch.tensor(a[:, None], dtype=torch.float32), torch.tensor(u[:, None], dtype=torch.float32)


@pytest.mark.parametrize("name", ["fno", "transformer", "mlp", "unet", "fcn"])
def test_every_model_fits_a_linear_operator(name: str) -> None:
    """Relative L2 falls at least 10x within 200 full-batch Adam steps on a small smoothing+shift task."""
    a, u = _smoothing_shift_problem(16, 32)
    lr, hyper = FIT[name]
    torch.manual_seed(0)
    model = build_model(name, in_channels=1, out_channels=1, grid=(16,), **hyper)
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def loss_fn() -> torch.Tensor:
        pred = model(a)
        return ((pred - u).flatten(1).norm(dim=1) / u.flatten(1).norm(dim=1)).mean()

    first = loss_fn().item()
    for _ in range(200):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
    final = loss_fn().item()
    assert final < first / 10, f"{name}: rel L2 {first:.3g} -> {final:.3g}"


def test_fno_trains_after_running_under_inference_mode() -> None:
    """Cached DFT matrices first built under inference_mode must still be usable by autograd."""
    model = build_model("fno", in_channels=1, out_channels=1, grid=(24,), modes=5, width=4, layers=1)
    x = torch.randn(2, 1, 24)
    with torch.inference_mode():
        model(x)
    model(x).sum().backward()
    assert model.spectral[0].weight.grad is not None


FNO_OPTIONS = {"spectral_init": "glorot", "lifting_width": 24, "channel_mlp": 0.5, "gated_skip": True}


def test_fno_options_keep_the_same_function_at_two_resolutions() -> None:
    """Lifting MLP, channel MLP and gated skip are pointwise, so discretization invariance survives them."""
    torch.manual_seed(0)
    model = build_model("fno", in_channels=1, out_channels=1, grid=(64,), modes=8, width=16, **FNO_OPTIONS).double()
    coeffs = {(1,): 1.0 + 0.0j, (3,): 0.5 - 0.2j, (5,): 0.3j}
    y64 = model(_trig_field(coeffs, (64,))[None, None])
    y128 = model(_trig_field(coeffs, (128,))[None, None])
    assert y64.abs().max() > 1e-3
    assert torch.allclose(y64, y128[..., ::2], rtol=0, atol=1e-12)


def test_fno_options_do_not_change_the_default_models_seeded_weights() -> None:
    """The optional parts are drawn after the paper's, so adding them leaves the shared weights as they were."""
    def seeded(**opts):
        torch.manual_seed(3)
        return build_model("fno", in_channels=1, out_channels=1, grid=(32,), modes=6, width=8, **opts).state_dict()

    default = seeded()
    for opts in ({"channel_mlp": 0.5}, {"gated_skip": True}, {"lifting_width": 0}):
        extended = seeded(**opts)
        for key, value in default.items():
            assert torch.equal(extended[key], value), (opts, key)
    assert set(seeded(channel_mlp=0.5)) > set(default)


def test_gated_skip_with_zero_gates_is_the_plain_fno() -> None:
    torch.manual_seed(0)
    plain = build_model("fno", in_channels=1, out_channels=1, grid=(32,), modes=6, width=8)
    gated = build_model("fno", in_channels=1, out_channels=1, grid=(32,), modes=6, width=8, gated_skip=True)
    gated.load_state_dict({**plain.state_dict(), "gates": torch.zeros(4, 8)})
    x = torch.randn(3, 1, 32)
    assert torch.allclose(gated(x), plain(x), atol=1e-6)
    gated.load_state_dict({**plain.state_dict(), "gates": torch.ones(4, 8)})
    assert not torch.allclose(gated(x), plain(x), atol=1e-3)


def test_glorot_spectral_init_keeps_the_size_of_the_coefficients() -> None:
    """The paper's 1/(in*out) init shrinks a layer's Fourier coefficients ~100x at width 64; glorot keeps them O(1)."""
    x = torch.randn(8, 64, 256)
    kept = lambda y: torch.fft.rfft(y, norm="forward")[..., :16].abs().pow(2).mean().sqrt()  # noqa: E731
    gains = {}
    for init in ("paper", "glorot"):
        torch.manual_seed(0)
        gains[init] = (kept(SpectralConv(64, 64, (16,), init=init)(x)) / kept(x)).item()
    assert 0.5 < gains["glorot"] < 2.0, gains
    assert gains["paper"] < 0.05, gains
    with pytest.raises(ValueError, match="spectral init"):
        SpectralConv(2, 2, (4,), init="xavier")


def test_fcn_receptive_field_is_fixed_in_grid_points_not_in_space() -> None:
    """Why the paper's FCN degrades with s: an impulse reaches the same number of points at every
    resolution, so a finer grid sees a physically smaller neighbourhood (the FNO's kernel is global)."""
    torch.manual_seed(0)
    model = build_model("fcn", in_channels=1, out_channels=1, grid=(64,), width=4, depth=2).double()
    reach = {}
    for n in (128, 256):
        base = model(torch.zeros(1, 1, n, dtype=torch.float64))
        x = torch.zeros(1, 1, n, dtype=torch.float64)
        x[..., n // 2] = 1.0
        reach[n] = int(((model(x) - base).abs() > 1e-12).sum())
    assert 0 < reach[128] == reach[256] < 128


def test_fno_without_coordinates_is_equivariant_to_grid_shifts() -> None:
    """coordinates="none": shifting the input by k points shifts the output by k points; the default
    (cos/sin position features) and "x" are not shift-equivariant."""
    x = torch.randn(2, 1, 48, dtype=torch.float64)
    shifted = {}
    for coords in ("none", "periodic", "x"):
        torch.manual_seed(0)
        model = build_model("fno", in_channels=1, out_channels=1, grid=(48,), modes=6, width=8,
                            coordinates=coords).double()
        shifted[coords] = (model(torch.roll(x, 5, dims=-1)) - torch.roll(model(x), 5, dims=-1)).abs().max().item()
    assert shifted["none"] < 1e-12 and shifted["periodic"] > 1e-4 and shifted["x"] > 1e-4, shifted
    with pytest.raises(ValueError, match="coordinates must be one of"):
        build_model("fno", in_channels=1, out_channels=1, grid=(8,), coordinates="polar")


def test_fcn_input_reaches_output_at_init() -> None:
    """The paper-sized FCN (width 64, depth 3) must carry its input to its output at initialisation:
    a plain conv-GELU stack at PyTorch's default init shrank it ~1e-4x, so the first layers got no
    gradient and Adam's weight decay zeroed the network (relative error 1.0 on Burgers at every s)."""
    torch.manual_seed(0)
    model = build_model("fcn", in_channels=1, out_channels=1, grid=(256,), width=64, depth=3, kernel=3)
    x = torch.randn(4, 1, 256)
    with torch.no_grad():
        gain = ((model(x) - model(torch.zeros_like(x))).std() / x.std()).item()
    assert gain > 0.1, gain


def test_fcn_learns_a_local_smoothing_with_the_paper_recipe() -> None:
    """A local operator the FCN can represent (a 5-point smoothing plus a 3-point shift of random
    periodic fields): opbench's recipe (Adam lr 1e-3, L2 weight decay 1e-4, relative-L2 loss, batch 20)
    must cut the error well below the collapse value 1.0 in 150 steps."""
    torch.manual_seed(0)
    n = 64
    x = torch.randn(200, 1, n)
    kernel = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
    y = F.conv1d(F.pad(x, (2, 2), mode="circular"), kernel.view(1, 1, 5)).roll(3, dims=-1)
    model = build_model("fcn", in_channels=1, out_channels=1, grid=(n,), width=32, depth=3, kernel=3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    for step in range(150):
        idx = torch.arange(step * 20, step * 20 + 20) % 200
        loss = rel_l2_loss(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        err = rel_l2_loss(model(x), y).item()
    assert err < 0.3, err
