"""The layers of the 1998 LeNet-5 (PartialConv2d, Subsampling, ScaledTanh, RBFOutput): each
against its formula written out here (and PyTorch for the partial convolution: a full
convolution whose missing connections are zero), and against central differences."""
from __future__ import annotations

import numpy as np
import pytest

import faltung.nn as nn
from tests.conftest import assert_close
from tests.test_nn import _finite_difference_check

TABLE = ((0, 1), (1, 2), (0, 2), (0, 1, 2))


def test_partial_conv_against_torch_masked_conv(rng):
    torch = pytest.importorskip("torch")
    layer = nn.PartialConv2d(3, TABLE, 3, dtype=np.float64, rng=rng)
    assert layer.weight.shape == (9, 3, 3)  # 2 + 2 + 2 + 3 connections
    dense = np.zeros((4, 3, 3, 3))
    n = 0
    for j, inputs in enumerate(TABLE):
        for i in inputs:
            dense[j, i] = layer.weight.data[n]
            n += 1
    x = rng.standard_normal((2, 3, 6, 6))
    grad = rng.standard_normal((2, 4, 4, 4))
    y = layer(x)
    gx = layer.backward(grad)
    wt = torch.from_numpy(dense).requires_grad_(True)
    bt = torch.from_numpy(layer.bias.data.copy()).requires_grad_(True)
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = torch.nn.functional.conv2d(xt, wt, bt)
    yt.backward(torch.from_numpy(grad))
    assert_close(y, yt.detach().numpy(), dtype=np.float64)
    assert_close(gx, xt.grad.numpy(), dtype=np.float64)
    gw = wt.grad.numpy()
    expected = np.stack([gw[j, i] for j, inputs in enumerate(TABLE) for i in inputs])
    assert_close(layer.weight.grad, expected, dtype=np.float64)
    assert_close(layer.bias.grad, bt.grad.numpy(), dtype=np.float64)


def test_subsampling_formula(rng):
    layer = nn.Subsampling(2, dtype=np.float64, rng=rng)
    x = rng.standard_normal((1, 2, 4, 4))
    y = layer(x)
    w, b = layer.weight.data, layer.bias.data
    for c in range(2):
        for i in range(2):
            for j in range(2):
                window = x[0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2].sum()
                assert_close(y[0, c, i, j:j + 1], np.array([w[c] * window + b[c]]),
                             dtype=np.float64)


def test_scaled_tanh_and_rbf_formulas(rng):
    x = rng.standard_normal((2, 5))
    assert_close(nn.ScaledTanh()(x), 1.7159 * np.tanh(2 / 3 * x), dtype=np.float64)
    centers = rng.standard_normal((3, 5))
    y = nn.RBFOutput(5, 3, centers, dtype=np.float64)(x)
    expected = -np.array([[((x[n] - centers[i]) ** 2).sum() for i in range(3)] for n in range(2)])
    assert_close(y, expected, dtype=np.float64)


def test_lenet1998_layers_finite_differences(rng):
    net = nn.Sequential(
        nn.PartialConv2d(3, TABLE, 3, dtype=np.float64, rng=rng), nn.ScaledTanh(),
        nn.Subsampling(4, dtype=np.float64, rng=rng), nn.ScaledTanh(), nn.Flatten(),
        nn.Linear(16, 6, dtype=np.float64, rng=rng),
        nn.RBFOutput(6, 3, rng.standard_normal((3, 6)) * 0.3, dtype=np.float64))
    x = rng.standard_normal((2, 3, 6, 6))
    _finite_difference_check(net, x, np.array([0, 2]), rng, 4, [(0, 0, 0, 0), (1, 2, 3, 4)])


def test_rbf_centres_are_not_trainable():
    layer = nn.RBFOutput(84, 10)
    assert layer.parameters() == []
    assert set(np.unique(layer.centers)) == {-1.0, 1.0}
    assert list(layer.state_dict()) == ["centers"]


def test_validation_messages():
    with pytest.raises(ValueError, match=r"table: expected lists of input maps in 0\.\.2"):
        nn.PartialConv2d(3, ((0, 3),), 3)
    with pytest.raises(ValueError, match=r"centers: expected shape \(2, 3\), got \(3, 2\)"):
        nn.RBFOutput(3, 2, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"input: expected \(N, 3\), got shape \(2, 4\)"):
        nn.RBFOutput(3, 2)(np.zeros((2, 4), np.float32))
