"""A minimal array-namespace shim so one time stepper runs on numpy (scipy.fft) or torch tensors.

The periodic solvers write their arithmetic with Python operators (``+ - * /``), which both numpy
arrays and torch tensors support, and call the few functions that differ through a ``Backend``:
real 2D FFTs, per-sample reductions, and the transfers in and out. torch is imported only when
the torch backend is asked for, so the ``solvers`` layer stays importable without it. Everything
is float64 / complex128: the data must not depend on the backend beyond round-off.

Batch independence: scipy.fft gives each transform of a batch bitwise the result it gives alone.
torch's CPU FFT (MKL) does not: a batch of one takes another code path than a batch of several
(differences of 1 ulp), and cuFFT makes no promise either. The torch backend therefore transforms
sample by sample by default (``fft_per_sample``), so a sample's data never depends on its chunk;
turning it off batches the FFTs (faster on a GPU for small grids) at the price of that guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.fft as sfft


@dataclass
class Backend:
    """Array operations of one namespace (``numpy`` or ``torch``) on one device."""

    name: str = "numpy"
    device: str = "cpu"
    workers: int = 1  # scipy.fft threads (numpy backend); results do not depend on it
    fft_per_sample: bool = True  # torch only: one transform call per sample (see the module doc)
    _torch: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.name == "numpy":
            if self.device != "cpu":
                raise ValueError(f"the numpy backend runs on the cpu only, not {self.device!r}")
        elif self.name == "torch":
            import torch  # deferred: only the torch backend needs it

            self._torch = torch
            if self.device.startswith("cuda") and not torch.cuda.is_available():
                raise ValueError("solver.device is 'cuda' but torch sees no CUDA device")
        else:
            raise ValueError(f"solver.backend must be 'numpy' or 'torch', got {self.name!r}")

    # transfers
    def asarray(self, x: np.ndarray) -> Any:
        """A float64/complex128 array of this backend holding ``x``."""
        x = np.asarray(x)
        x = x.astype(np.complex128 if np.iscomplexobj(x) else np.float64, copy=False)
        if self._torch is None:
            return x
        return self._torch.from_numpy(np.ascontiguousarray(x)).to(self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        if self._torch is None:
            return np.asarray(x)
        return x.detach().cpu().numpy()

    # transforms over the last two axes
    def rfft2(self, x: Any) -> Any:
        if self._torch is None:
            return sfft.rfft2(x, axes=(-2, -1), workers=self.workers)
        return self._per_sample(lambda v: self._torch.fft.rfft2(v, dim=(-2, -1)), x)

    def irfft2(self, x: Any, n: int) -> Any:
        if self._torch is None:
            return sfft.irfft2(x, s=(n, n), axes=(-2, -1), workers=self.workers)
        return self._per_sample(lambda v: self._torch.fft.irfft2(v, s=(n, n), dim=(-2, -1)), x)

    def _per_sample(self, fn: Any, x: Any) -> Any:
        """Apply ``fn`` to each (1, ...) slice of a batch, or to the whole batch if allowed."""
        if not self.fft_per_sample or x.ndim < 3 or x.shape[0] == 1:
            return fn(x)
        return self._torch.cat([fn(x[i : i + 1]) for i in range(x.shape[0])])

    # elementwise / per-sample
    def max2(self, x: Any) -> Any:
        """Per-sample maximum over the last two axes (NaN propagates)."""
        if self._torch is None:
            return x.max(axis=(-2, -1))
        return x.amax(dim=(-2, -1))

    def maximum(self, a: Any, b: Any) -> Any:
        """Elementwise maximum (NaN propagates)."""
        if self._torch is None:
            return np.maximum(a, b)
        return self._torch.maximum(a, b)

    def synchronize(self) -> None:
        """Wait for queued device work (for timings)."""
        if self._torch is not None and self.device.startswith("cuda"):
            self._torch.cuda.synchronize()
