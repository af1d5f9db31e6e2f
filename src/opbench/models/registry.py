"""Model registry: a new model is one module in ``opbench.models`` plus one line in ``MODELS``."""

from __future__ import annotations

from torch import nn

from opbench.models.deeponet import DeepONet
from opbench.models.fcn import FCN
from opbench.models.fno import FNO
from opbench.models.galerkin import GalerkinTransformer
from opbench.models.mlp import MLP
from opbench.models.neuralop_fno import NeuralopFNO
from opbench.models.transformer import Transformer
from opbench.models.unet import UNet

MODELS: dict[str, type[nn.Module]] = {
    "fno": FNO,
    "transformer": Transformer,
    "mlp": MLP,
    "unet": UNet,
    "galerkin_transformer": GalerkinTransformer,
    "deeponet": DeepONet,
    "fcn": FCN,
    "neuralop_fno": NeuralopFNO,  # the optional reference (the `bench` extra); imported only when built
}


def model_names() -> list[str]:
    """The registered model names, sorted."""
    return sorted(MODELS)


def build_model(name: str, **kwargs) -> nn.Module:
    """Instantiate the model registered as ``name`` with constructor keyword arguments ``kwargs``."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(model_names())}") from None
    return cls(**kwargs)
