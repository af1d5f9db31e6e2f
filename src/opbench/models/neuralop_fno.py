"""neuraloperator's FNO behind opbench's model interface: the reference trained with our own loop.

Only for the side-by-side reproduction (docs/REPRODUCTION.md): the same data files, normaliser,
loss, optimiser, schedule, batches and evaluation as opbench's models, so that only the architecture
and its implementation differ. The library is the optional ``bench`` extra and is imported only when
this model is built; ``reference_available`` says whether it can be.
"""

from __future__ import annotations

import importlib
import warnings

import torch
from torch import nn

from opbench.models.grid_utils import GridModel, check_input

INSTALL_HINT = "pip install -c constraints.txt -e '.[bench]'"


def _import_fno() -> type[nn.Module]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module("neuralop.models").FNO


def reference_available() -> str | None:
    """None when neuraloperator's FNO can be imported, else one line saying why not."""
    try:
        _import_fno()
    except Exception as exc:  # a broken install is as unusable as a missing one
        return f"neuraloperator is not installed ({type(exc).__name__}: {exc}); {INSTALL_HINT}"
    return None


class NeuralopFNO(GridModel):
    """neuraloperator's ``FNO`` with its own default options unless ``options`` overrides them.

    ``modes`` counts kept frequencies as opbench does (0..modes-1 on the last axis, -modes..modes-1 on
    the others); neuraloperator keeps n_modes // 2 + 1 on the last axis, so it is given 2 (modes - 1)
    there. Its grid embedding is the raw coordinate in [0, 1] per axis (its default).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        grid: tuple[int, ...],
        periodic: bool = True,
        *,
        modes: int = 16,
        width: int = 64,
        layers: int = 4,
        options: dict | None = None,
    ) -> None:
        super().__init__(in_channels, out_channels, grid, periodic)
        try:
            fno = _import_fno()
        except Exception as exc:
            raise ImportError(f"model neuralop_fno needs neuraloperator ({exc}); {INSTALL_HINT}") from exc
        n_modes = (*(2 * modes for _ in range(self.ndim - 1)), 2 * (modes - 1))
        self.net = fno(n_modes=n_modes, in_channels=in_channels, out_channels=out_channels,
                       hidden_channels=width, n_layers=layers, **dict(options or {}))

    def state_dict(self, *args, **kwargs):
        """Weights only: neuraloperator adds its constructor arguments (functions and classes among
        them) as a ``_metadata`` entry, which a ``weights_only`` checkpoint load would refuse."""
        state = super().state_dict(*args, **kwargs)
        state.pop("_metadata", None)
        return state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_channels, self.ndim, "neuralop_fno")
        return self.net(x)
