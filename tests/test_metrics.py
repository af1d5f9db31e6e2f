"""Metrics and inference against hand-computable cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from opbench.evaluation import predict, rel_l2
from opbench.training import Normalizer


def test_rel_l2_hand_cases() -> None:
    true = np.array([[3.0, 4.0], [3.0, 4.0], [3.0, 4.0], [1.0, 0.0]])
    pred = np.array([[3.0, 4.0], [0.0, 0.0], [0.0, 4.0], [-1.0, 0.0]])
    # ||0||/5, ||(3,4)||/5, ||(3,0)||/5, ||(2,0)||/1
    np.testing.assert_allclose(rel_l2(pred, true), [0.0, 1.0, 0.6, 2.0])


def test_rel_l2_flattens_all_axes_after_the_first() -> None:
    true = np.ones((2, 4, 3, 3))  # 36 ones: norm 6 per sample
    pred = true.copy()
    pred[0, 1, 2, 2] += 3.0  # error norm 3 -> 0.5
    pred[1] *= 1.5  # error norm 3 -> 0.5
    np.testing.assert_allclose(rel_l2(pred, true), [0.5, 0.5])
    assert rel_l2(pred.astype(np.float32), true.astype(np.float32)).dtype == np.float64


def test_rel_l2_zero_truth_and_shape_errors() -> None:
    assert np.isinf(rel_l2(np.ones((1, 3)), np.zeros((1, 3)))[0])
    with pytest.raises(ValueError, match="shape mismatch"):
        rel_l2(np.ones((2, 3)), np.ones((2, 4)))


class _Double(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * x


def test_predict_encodes_runs_and_decodes_in_batches() -> None:
    norm = Normalizer(torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([10.0]), torch.tensor([0.5]))
    a = np.arange(7 * 4, dtype=np.float32).reshape(7, 1, 4)
    pred, seconds = predict(_Double(), norm, a, batch_size=3)
    # decode(2 * encode(a)) = 2 * (a - 1) / 2 * 0.5 + 10
    np.testing.assert_allclose(pred, (a - 1) * 0.5 + 10, rtol=1e-6)
    assert pred.shape == a.shape and pred.dtype == np.float32
    assert seconds > 0
