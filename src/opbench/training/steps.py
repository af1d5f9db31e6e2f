"""The optimizer step every training loop of opbench takes: operators (``Trainer``), HNN and DDPM.

One routine, so that a change to the step (gradient clipping, mixed precision) reaches every loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import torch

B = TypeVar("B")


def step_loop(
    opt: torch.optim.Optimizer,
    loss_fn: Callable[[B], torch.Tensor],
    batches: Iterable[B],
    *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    check: Callable[[torch.Tensor], None] | None = None,
) -> Iterator[tuple[B, torch.Tensor]]:
    """One optimizer step per batch, yielding ``(batch, loss)`` after it.

    For each batch (drawn lazily, so random draws keep their order): ``loss = loss_fn(batch)``;
    ``check(loss)``, which may raise before any weight changes (a NaN loss); zero the gradients,
    backpropagate, step the optimizer and, if given, a per-step ``scheduler``.
    """
    for batch in batches:
        loss = loss_fn(batch)
        if check is not None:
            check(loss)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        yield batch, loss
