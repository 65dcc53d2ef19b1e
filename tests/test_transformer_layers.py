"""The transformer layers (GELU, LayerNorm, MultiheadSelfAttention, EncoderBlock) and ReLU6:
forward and backward against PyTorch in float64 (weights copied by state_dict key), against
central differences, and their argument checks."""
from __future__ import annotations

import numpy as np
import pytest

import faltung.functional as F
import faltung.nn as nn
from tests.conftest import assert_close, central_differences
from tests.test_nn import _finite_difference_check


def _torch_forward_backward(torch, module, x, grad):
    """(y, grad_x, {name: grad}) of a torch module on float64 x with output gradient grad."""
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    y = module(xt)
    y = y[0] if isinstance(y, tuple) else y
    y.backward(torch.from_numpy(grad))
    return (y.detach().numpy(), xt.grad.numpy(),
            {name: p.grad.numpy() for name, p in module.named_parameters()})


def _ours(layer, x, grad):
    layer.zero_grad()
    y = layer(x)
    gx = layer.backward(grad)
    return y, gx, {name: p.grad for name, p in layer.named_parameters()}


def _compare(ours, theirs):
    (y, gx, grads), (ty, tgx, tgrads) = ours, theirs
    assert_close(y, ty, dtype=np.float64, what="output")
    assert_close(gx, tgx, dtype=np.float64, what="grad input")
    assert sorted(grads) == sorted(tgrads)
    for name in grads:
        assert_close(grads[name], tgrads[name], dtype=np.float64, what=name)


def _load_into_torch(torch, module, layer):
    module.double()
    module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in layer.state_dict().items()})
    return module


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_against_torch(rng, approximate):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 50)) * 3
    grad = rng.standard_normal(x.shape)
    _compare(_ours(nn.GELU(approximate), x, grad),
             _torch_forward_backward(torch, torch.nn.GELU(approximate), x, grad))


def test_relu6_against_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 40)) * 5
    grad = rng.standard_normal(x.shape)
    _compare(_ours(nn.ReLU6(), x, grad),
             _torch_forward_backward(torch, torch.nn.ReLU6(), x, grad))


def test_relu6_reference():
    """Written out: clip to [0, 6]; the gradient passes strictly inside (0, 6) and at NaN (as
    PyTorch's hardtanh_backward does: it zeroes only where y <= 0 or y >= 6)."""
    x = np.array([-1.0, 0.0, 0.5, 6.0, 7.0, np.nan])
    assert_close(F.relu6(x), np.array([0, 0, 0.5, 6, 6, np.nan]), dtype=np.float64, kind="exact")
    g = F.relu6_backward(np.ones(6), F.relu6(x))
    assert_close(g, np.array([0, 0, 1, 0, 0, 1.0]), dtype=np.float64, kind="exact")


def test_gelu_known_values():
    """gelu(1) = Phi(1) = 0.841344746068543 (the normal CDF at 1), gelu(-1) = -(1 - Phi(1))."""
    y = F.gelu(np.array([1.0, -1.0, 0.0]))
    assert_close(y, np.array([0.841344746068543, -0.158655253931457, 0.0]), dtype=np.float64)


def test_layer_norm_against_torch(rng):
    torch = pytest.importorskip("torch")
    layer = nn.LayerNorm(7, eps=1e-6, dtype=np.float64)
    layer.weight.data[:] = rng.standard_normal(7)
    layer.bias.data[:] = rng.standard_normal(7)
    x = rng.standard_normal((2, 3, 7)) * 2 + 1
    grad = rng.standard_normal(x.shape)
    twin = _load_into_torch(torch, torch.nn.LayerNorm(7, eps=1e-6), layer)
    _compare(_ours(layer, x, grad), _torch_forward_backward(torch, twin, x, grad))


def test_attention_against_torch(rng):
    torch = pytest.importorskip("torch")
    layer = nn.MultiheadSelfAttention(12, 3, dtype=np.float64, rng=rng)
    layer.in_proj_bias.data[:] = rng.standard_normal(36)  # torch starts it at 0: test it
    layer.out_proj.bias.data[:] = rng.standard_normal(12)
    twin = _load_into_torch(torch, torch.nn.MultiheadAttention(12, 3, batch_first=True), layer)
    x = rng.standard_normal((2, 5, 12))
    grad = rng.standard_normal(x.shape)

    class SelfAttention(torch.nn.Module):  # torch's module takes (query, key, value)
        def __init__(self):
            super().__init__()
            self.attention = twin

        def forward(self, x):
            return self.attention(x, x, x, need_weights=False)[0]

    ty, tgx, tgrads = _torch_forward_backward(torch, SelfAttention(), x, grad)
    tgrads = {k.removeprefix("attention."): v for k, v in tgrads.items()}
    _compare(_ours(layer, x, grad), (ty, tgx, tgrads))


def test_encoder_block_against_torch(rng):
    """torch.nn.TransformerEncoderLayer with norm_first=True and GELU is ViT's block."""
    torch = pytest.importorskip("torch")
    block = nn.EncoderBlock(12, 3, 20, eps=1e-6, dtype=np.float64, rng=rng).eval()
    twin = torch.nn.TransformerEncoderLayer(12, 3, 20, dropout=0.0, activation="gelu",
                                            layer_norm_eps=1e-6, batch_first=True,
                                            norm_first=True).double().eval()
    names = {"ln_1": "norm1", "ln_2": "norm2", "self_attention": "self_attn",
             "mlp.0": "linear1", "mlp.3": "linear2"}

    def rename(key):
        for ours, theirs in names.items():
            if key.startswith(ours + "."):
                return theirs + key[len(ours):]
        raise KeyError(key)

    twin.load_state_dict({rename(k): torch.from_numpy(v.copy())
                          for k, v in block.state_dict().items()})
    x = rng.standard_normal((2, 4, 12))
    grad = rng.standard_normal(x.shape)
    y, gx, grads = _ours(block, x, grad)
    ty, tgx, tgrads = _torch_forward_backward(torch, twin, x, grad)
    _compare((y, gx, {rename(k): v for k, v in grads.items()}), (ty, tgx, tgrads))


def test_encoder_block_finite_differences(rng):
    net = nn.Sequential(nn.EncoderBlock(6, 2, 8, dtype=np.float64, rng=rng), nn.Flatten(),
                        nn.Linear(18, 4, dtype=np.float64, rng=rng)).eval()
    for _, p in net.named_parameters():  # LayerNorm starts at 1/0: move it off that point
        p.data[:] += rng.standard_normal(p.shape) * 0.1
    x = rng.standard_normal((2, 3, 6))
    _finite_difference_check(net, x, np.array([1, 3]), rng, 3, [(0, 0, 0), (1, 2, 5)])


def test_attention_function_finite_differences(rng):
    q, k, v = (rng.standard_normal((2, 3, 4)) for _ in range(3))
    w = rng.standard_normal((2, 3, 4))
    out, weights = F.attention(q, k, v)
    assert_close(weights.sum(axis=-1), np.ones((2, 3)), dtype=np.float64)
    dq, dk, dv = F.attention_backward(w, q, k, v, weights)
    for analytic, array in ((dq, q), (dk, k), (dv, v)):
        numeric = central_differences(lambda: (F.attention(q, k, v)[0] * w).sum(), array)
        assert_close(analytic, numeric, dtype=np.float64, kind="fd")


def test_validation_messages():
    with pytest.raises(ValueError, match=r"num_heads: embed_dim \(10\) must be divisible by "
                                         r"num_heads \(3\)"):
        nn.MultiheadSelfAttention(10, 3)
    with pytest.raises(ValueError, match=r"input: expected tokens \(B, T, 6\), got shape "
                                         r"\(2, 6\)"):
        nn.MultiheadSelfAttention(6, 2)(np.zeros((2, 6), np.float32))
    with pytest.raises(ValueError, match=r"input: expected \(\.\.\., 4\), got shape \(2, 5\)"):
        nn.LayerNorm(4)(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="approximate: expected 'none' or 'tanh', got 'erf'"):
        nn.GELU("erf")
    with pytest.raises(ValueError, match=r"weight: expected shape \(3,\), got \(4,\)"):
        F.layer_norm(np.zeros((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match=r"k: expected shape \(1, 2, 3\), got \(1, 2, 4\)"):
        F.attention(np.zeros((1, 2, 3)), np.zeros((1, 2, 4)), np.zeros((1, 2, 3)))
