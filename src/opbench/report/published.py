"""Relative L2 test errors published by the FNO paper (Li et al. 2021, arXiv 2010.08895), and matching.

The numbers are quoted from /work/shared/REFERENCE.md. A run matches a published setup when its PDE
type, model type and physics agree (Burgers nu = 0.1, T = 1; Darcy a = 12/3; Navier-Stokes by nu)
and it is evaluated at the published resolution on which it was also trained. Whether the training
budget (samples, epochs, horizon) is the paper's is reported beside the numbers, never assumed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

SOURCE = "Li et al. 2021, Fourier Neural Operator (arXiv 2010.08895)"


@dataclass(frozen=True)
class Published:
    """One published number and the setup it was obtained on."""

    pde_type: str
    model_type: str  # our registry name of the published model
    label: str  # the paper's name of the model
    setup: str  # e.g. "s=256" or "nu=1e-3"
    res: int  # training = test resolution (points per axis)
    rel_l2: float
    n_train: int
    epochs: int = 500
    params: Mapping[str, float] | None = None  # physics that must match (config params)


def _burgers() -> list[Published]:
    fno = {256: 0.0149, 512: 0.0158, 1024: 0.0160, 2048: 0.0146, 4096: 0.0142, 8192: 0.0139}
    phys = {"nu": 0.1, "T": 1.0}
    # FCN: the paper's fully convolutional network (opbench's `fcn`), retrained at each s.
    fcn = {256: 0.0958, 512: 0.1407, 1024: 0.1877, 2048: 0.2313, 4096: 0.2855, 8192: 0.3238}
    return [Published("burgers", "fno", "FNO", f"s={s}", s, v, 1000, params=phys) for s, v in fno.items()] + [
        Published("burgers", "fcn", "FCN", f"s={s}", s, v, 1000, params=phys) for s, v in fcn.items()
    ]


def _darcy() -> list[Published]:
    fno = {85: 0.0108, 141: 0.0109, 211: 0.0109, 421: 0.0098}
    phys = {"a_high": 12.0, "a_low": 3.0}
    return [Published("darcy", "fno", "FNO", f"s={s}", s, v, 1000, params=phys) for s, v in fno.items()]


def _navier_stokes() -> list[Published]:
    setups = {1e-3: (50.0, 1000), 1e-4: (30.0, 10000), 1e-5: (20.0, 1000)}
    fno2d = {1e-3: 0.0128, 1e-4: 0.0973, 1e-5: 0.1556}
    unet = {1e-3: 0.0245, 1e-4: 0.1190, 1e-5: 0.1982}
    out = []
    for nu, (horizon, n) in setups.items():
        phys = {"nu": nu, "T": horizon}
        out.append(Published("navier_stokes", "fno", "FNO-2D", f"nu={nu:g}, T={horizon:g}", 64, fno2d[nu], n,
                             params=phys))
        out.append(Published("navier_stokes", "unet", "U-Net", f"nu={nu:g}, T={horizon:g}", 64, unet[nu], n,
                             params=phys))
    return out


PUBLISHED: list[Published] = _burgers() + _darcy() + _navier_stokes()

# physics that identifies the setup (must match) versus the budget (reported when it differs)
_IDENTITY = {"burgers": ("nu",), "darcy": ("a_high", "a_low"), "navier_stokes": ("nu",)}


def _close(a: Any, b: float) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    except (TypeError, ValueError):
        return False


def find(pde_type: str, model_type: str, res: int, params: Mapping[str, Any]) -> Published | None:
    """The published number of a (PDE type, model type, resolution) whose identifying physics match."""
    for pub in PUBLISHED:
        if (pub.pde_type, pub.model_type, pub.res) != (pde_type, model_type, int(res)):
            continue
        keys = _IDENTITY.get(pde_type, ())
        if all(_close(params.get(k, _default(pde_type, k)), (pub.params or {})[k]) for k in keys):
            return pub
    return None


def _default(pde_type: str, key: str) -> Any:
    """The solver's default of a parameter the config left out (Darcy's 12/3)."""
    if pde_type == "darcy":
        from opbench.solvers.darcy import DEFAULT_PARAMS

        return DEFAULT_PARAMS.get(key)
    return None


def comparison(metrics: pd.DataFrame, config: Mapping[str, Any]) -> pd.DataFrame:
    """Rows for every run evaluated at its training resolution where the paper has a number.

    Columns: pde, model, setup, published model, resolution, ours (mean over seeds), published,
    ratio (ours / published), budget (the paper's recipe, or what differs from it).
    """
    pdes, models = config.get("pdes") or {}, config.get("models") or {}
    training = config.get("training") or {}
    rows = []
    at_train = metrics[metrics["eval_res"] == metrics["train_res"]]
    for (pde, model), g in at_train.groupby(["pde", "model"], sort=False):
        pcfg, mcfg = pdes.get(pde) or {}, models.get(model) or {}
        res = int(g["eval_res"].iloc[0])
        pub = find(str(pcfg.get("type")), str(mcfg.get("type")), res, pcfg.get("params") or {})
        if pub is None:
            continue
        ours = float(g["rel_l2_mean"].mean())
        epochs = int({**training, **(pcfg.get("training") or {})}.get("epochs", 0))
        n_train = int((pcfg.get("samples") or {}).get("train", 0))
        diffs = []
        if n_train != pub.n_train:
            diffs.append(f"{n_train} training samples (paper {pub.n_train})")
        if epochs != pub.epochs:
            diffs.append(f"{epochs} epochs (paper {pub.epochs})")
        for key, value in (pub.params or {}).items():
            if key not in _IDENTITY.get(pub.pde_type, ()) and not _close((pcfg.get("params") or {}).get(key), value):
                diffs.append(f"{key}={(pcfg.get('params') or {}).get(key)} (paper {value:g})")
        rows.append({
            "pde": pde,
            "model": model,
            "setup": pub.setup,
            "published model": pub.label,
            "resolution": res,
            "ours": ours,
            "published": pub.rel_l2,
            "ratio ours / published": ours / pub.rel_l2,
            "budget": "the paper's recipe" if not diffs else "different training budget: " + "; ".join(diffs),
        })
    return pd.DataFrame(rows)
