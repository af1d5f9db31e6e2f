"""Training on several resolutions at once (issue 11, variant e): batches drawn at coarser grids.

The training data lie on the finest grid. A batch meant for a coarser resolution ``r`` is the same
samples restricted to the r-point grid nested in it (every (n / r)-th point on a periodic grid,
every ((n - 1) / (r - 1))-th on a vertex grid): restriction, not interpolation, so the targets stay
exact solutions at their points. The resolution of each batch cycles through the list in order
(epoch-major), which needs no random draw and so leaves seeding and resuming untouched.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _stride(n: int, r: int, periodic: bool) -> int | None:
    if periodic:
        return n // r if r <= n and n % r == 0 else None
    return (n - 1) // (r - 1) if 2 <= r <= n and (n - 1) % (r - 1) == 0 else None


def check_resolutions(resolutions: Sequence[int], grid: Sequence[int], periodic: bool) -> list[int]:
    """The resolutions as ints, or a ValueError naming the ones whose grid is not nested in ``grid``
    (every axis of the data grid is restricted to ``r`` points)."""
    res = [int(r) for r in resolutions]
    bad = [r for r in res if any(_stride(n, r, periodic) is None for n in grid)]
    if not res or bad:
        kind = "divide" if periodic else "have r - 1 dividing n - 1 for"
        raise ValueError(f"training.resolutions: {bad or res} not usable on the data grid {tuple(grid)} "
                         f"(allowed: non-empty, each r must {kind} every axis n, r <= n)")
    return res


def restrict(x: torch.Tensor, r: int, periodic: bool) -> torch.Tensor:
    """(batch, channels, *grid) restricted to the nested grid of ``r`` points per axis."""
    for axis in range(2, x.ndim):
        step = _stride(x.shape[axis], r, periodic)
        if step is None:
            raise ValueError(f"resolution {r} is not nested in a grid axis of {x.shape[axis]} points")
        index = torch.arange(0, x.shape[axis], step, device=x.device)
        x = x.index_select(axis, index)
    return x


def batch_resolution(resolutions: Sequence[int], epoch: int, batch: int, batches_per_epoch: int) -> int:
    """The resolution of batch ``batch`` (0-based) of epoch ``epoch`` (1-based): cycling in order."""
    return int(resolutions[((epoch - 1) * batches_per_epoch + batch) % len(resolutions)])
