"""Model registry: a new model is one module in ``opbench.models`` plus one line in ``MODELS``."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

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


# Constructor arguments the trainer derives from the data, never from the config.
DATA_ARGUMENTS = ("in_channels", "out_channels", "grid", "periodic")


def model_options(name: str) -> list[str]:
    """The hyperparameters a config may give model type ``name``: its constructor's named arguments
    other than the data-derived ones (the constructor's signature is the schema of its options)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = inspect.signature(MODELS[name]).parameters.values()
    return sorted(p.name for p in params if p.kind in kinds and p.name not in DATA_ARGUMENTS)


def check_model_options(name: str, options: Mapping[str, Any], where: str) -> None:
    """Refuse, in one line naming the model, the key and the allowed keys, options the constructor lacks."""
    allowed = model_options(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"unknown key {', '.join(map(repr, unknown))} in {where} "
                         f"(model type {name}; allowed keys: {', '.join(allowed)})")


def build_model(name: str, **kwargs) -> nn.Module:
    """Instantiate the model registered as ``name`` with constructor keyword arguments ``kwargs``."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(model_names())}") from None
    return cls(**kwargs)
