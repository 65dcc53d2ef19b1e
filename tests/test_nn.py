"""faltung.nn: a network with every layer type against central differences and against the same
network in PyTorch with copied weights (loss and every gradient), state_dict keys and round
trips, PyTorch's initialisation bounds, errors that name the layer."""
from __future__ import annotations

import numpy as np
import pytest

import faltung.nn as nn
from tests.conftest import assert_close


def _network(rng):
    """float64: conv, tanh, residual, concat (conv / transposed conv + sigmoid), flatten,
    linear, highway, dropout (eval), linear."""
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, rng=rng),
        nn.Tanh(),
        nn.Residual(nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, rng=rng), nn.ReLU())),
        nn.Concat(nn.Conv2d(4, 2, 1, rng=rng),
                  nn.Sequential(nn.ConvTranspose2d(4, 3, 3, padding=1, rng=rng), nn.Sigmoid())),
        nn.Flatten(),
        nn.Linear(5 * 4 * 4, 6, rng=rng),
        nn.Highway.dense(6, nn.Tanh(), rng=rng),
        nn.Dropout(0.5, rng=rng),
        nn.Linear(6, 5, rng=rng),
    ).astype(np.float64)
    return net.eval()


def _data(rng):
    return rng.standard_normal((2, 3, 4, 4)), np.array([1, 4])


def _loss_and_grads(net, x, target):
    criterion = nn.CrossEntropyLoss()
    net.zero_grad()
    loss = float(criterion(net(x), target))
    gx = net.backward(criterion.backward())
    return loss, gx, {name: p.grad.copy() for name, p in net.named_parameters()}


def _finite_difference_check(net, x, target, rng, per_parameter, input_indices):
    """A few entries of every parameter and of the input, compared together: the tolerance is
    relative to the network's largest gradient, as rounding in the loss sets the floor."""
    _, gx, grads = _loss_and_grads(net, x, target)
    criterion = nn.CrossEntropyLoss()
    h = 1e-5

    def central_difference(array, index):
        keep = array[index]
        array[index] = keep + h
        up = float(criterion(net(x), target))
        array[index] = keep - h
        down = float(criterion(net(x), target))
        array[index] = keep
        return (up - down) / (2 * h)

    analytic, numeric = [], []
    for name, param in net.named_parameters():
        flat = param.data.reshape(-1)
        for index in rng.choice(flat.size, size=min(per_parameter, flat.size), replace=False):
            analytic.append(grads[name].reshape(-1)[index])
            numeric.append(central_difference(flat, index))
    for index in input_indices:
        analytic.append(gx[index])
        numeric.append(central_difference(x, index))
    assert_close(np.array(analytic), np.array(numeric), dtype=np.float64, kind="fd")


def test_whole_network_finite_differences(rng):
    x, target = _data(rng)
    _finite_difference_check(_network(rng), x, target, rng, 4,
                             [(0, 0, 0, 0), (1, 2, 3, 1), (0, 1, 2, 2)])


def _torch_blocks(torch):
    """PyTorch versions of faltung.nn's Residual (identity shortcut), Concat and Highway."""
    tnn = torch.nn

    class Residual(tnn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x):
            return self.body(x) + x

    class Concat(tnn.Module):
        def __init__(self, *branches):
            super().__init__()
            for i, b in enumerate(branches):
                self.add_module(str(i), b)

        def forward(self, x):
            return torch.cat([b(x) for b in self.children()], 1)

    class Highway(tnn.Module):
        def __init__(self, features, activation):
            super().__init__()
            self.transform = tnn.Sequential(tnn.Linear(features, features), activation)
            self.gate = tnn.Linear(features, features)

        def forward(self, x):
            t = torch.sigmoid(self.gate(x))
            return t * self.transform(x) + (1 - t) * x

    return Residual, Concat, Highway


def _torch_twin(torch, net):
    """The same network in PyTorch, weights copied through state_dict (PyTorch's key names)."""
    tnn = torch.nn
    Residual, Concat, Highway = _torch_blocks(torch)

    twin = tnn.Sequential(
        tnn.Conv2d(3, 4, 3, padding=1), tnn.Tanh(),
        Residual(tnn.Sequential(tnn.Conv2d(4, 4, 3, padding=1), tnn.ReLU())),
        Concat(tnn.Conv2d(4, 2, 1),
               tnn.Sequential(tnn.ConvTranspose2d(4, 3, 3, padding=1), tnn.Sigmoid())),
        tnn.Flatten(), tnn.Linear(80, 6), Highway(6, tnn.Tanh()), tnn.Dropout(0.5), tnn.Linear(6, 5),
    ).double().eval()
    assert list(twin.state_dict()) == list(net.state_dict())
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in net.state_dict().items()})
    return twin


def test_whole_network_against_torch(rng):
    torch = pytest.importorskip("torch")
    net = _network(rng)
    x, target = _data(rng)
    loss, gx, grads = _loss_and_grads(net, x, target)
    twin = _torch_twin(torch, net)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    lt = torch.nn.functional.cross_entropy(twin(xt), torch.from_numpy(target))
    lt.backward()
    assert_close(np.array([loss]), np.array([lt.item()]), dtype=np.float64, what="loss")
    assert_close(gx, xt.grad.numpy(), dtype=np.float64, what="grad input")
    for name, param in twin.named_parameters():
        assert_close(grads[name], param.grad.numpy(), dtype=np.float64, what=name)


def test_state_dict_round_trip_through_npz(rng, tmp_path):
    net = _network(rng)
    x, _ = _data(rng)
    before = net(x)
    path = tmp_path / "weights.npz"
    net.save(path)
    other = _network(np.random.default_rng(99))
    assert not np.allclose(other(x), before)
    other.load(path)
    assert_close(other(x), before, dtype=np.float64, kind="exact")


def test_load_state_dict_errors(rng):
    net = nn.Sequential(nn.Linear(3, 2, rng=rng))
    with pytest.raises(KeyError, match=r"missing keys \['0.bias'\], unexpected keys \['0.b'\]"):
        net.load_state_dict({"0.weight": np.zeros((2, 3)), "0.b": np.zeros(2)})
    with pytest.raises(ValueError, match=r"state_dict\['0.weight'\]: expected shape \(2, 3\), got \(3, 2\)"):
        net.load_state_dict({"0.weight": np.zeros((3, 2)), "0.bias": np.zeros(2)})


@pytest.mark.parametrize("layer, fan_in", [
    (lambda rng: nn.Conv2d(6, 8, (3, 5), groups=2, rng=rng), 3 * 3 * 5),
    (lambda rng: nn.ConvTranspose2d(6, 8, 3, groups=2, rng=rng), 4 * 3 * 3),
    (lambda rng: nn.Linear(40, 30, rng=rng), 40),
], ids=["conv2d", "conv_transpose2d", "linear"])
def test_default_initialisation_is_pytorchs(layer, fan_in):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, as torch.nn's reset_parameters."""
    module = layer(np.random.default_rng(0))
    bound = 1 / np.sqrt(fan_in)
    for param in module.parameters():
        values = param.data.astype(np.float64)
        assert param.data.dtype == np.float32
        assert np.abs(values).max() <= bound
        if values.size > 100:  # the uniform distribution's spread: std = bound / sqrt(3)
            assert abs(values.std() - bound / np.sqrt(3)) < 0.1 * bound


def test_manual_seed_reproduces_weights():
    nn.manual_seed(7)
    a = nn.Linear(4, 3).weight.data.copy()
    nn.manual_seed(7)
    assert_close(nn.Linear(4, 3).weight.data, a, dtype=np.float32, kind="exact")


def test_gradients_accumulate_until_zero_grad(rng):
    layer = nn.Linear(3, 2, rng=rng).astype(np.float64)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer(x)
    layer.backward(g)
    once = layer.weight.grad.copy()
    layer.backward(g)
    assert_close(layer.weight.grad, 2 * once, dtype=np.float64)
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


def test_input_grad_false_skips_the_input_gradient(rng):
    net = nn.Sequential(nn.Conv2d(1, 2, 3, rng=rng), nn.ReLU())
    net(rng.standard_normal((1, 1, 5, 5)).astype(np.float32))
    assert net.backward(np.ones((1, 2, 3, 3), np.float32), input_grad=False) is None
    assert net[0].weight.grad is not None


def test_train_and_eval_reach_every_layer(rng):
    net = _network(rng).train()
    assert all(m.training for _, m in net.named_modules())
    net.eval()
    assert not any(m.training for _, m in net.named_modules())


def test_backward_before_forward_names_the_layer():
    with pytest.raises(RuntimeError, match=r"Conv2d\(weight 2x1x3x3.*\): backward called before forward"):
        nn.Conv2d(1, 2, 3).backward(np.zeros((1, 2, 3, 3), np.float32))


def test_shape_mismatch_between_layers_names_the_layer(rng):
    net = nn.Sequential(nn.Conv2d(1, 4, 3, rng=rng), nn.Flatten(), nn.Linear(10, 2, rng=rng))
    with pytest.raises(ValueError, match=r"^2 \(Linear\): input: expected \(\.\.\., 10\)"):
        net(np.zeros((1, 1, 5, 5), np.float32))


def test_wrong_dtype_names_the_layer(rng):
    net = nn.Sequential(nn.Conv2d(1, 2, 3, rng=rng))
    with pytest.raises(TypeError, match=r"^0 \(Conv2d\): weight: expected dtype float64 like the input"):
        net(np.zeros((1, 1, 5, 5)))


def test_constructor_validation():
    with pytest.raises(ValueError, match=r"groups: in_channels \(3\) must be divisible by groups \(2\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(TypeError, match=r"in_features: expected an int, got float 2.5"):
        nn.Linear(2.5, 3)
    with pytest.raises(ValueError, match=r"p: expected a probability in \[0, 1\], got -0.1"):
        nn.Dropout(-0.1)
    with pytest.raises(TypeError, match=r"layer 1: expected a faltung.nn.Module, got int"):
        nn.Sequential(nn.ReLU(), 3)
    with pytest.raises(TypeError, match=r"dtype: expected float32 or float64, got int32"):
        nn.Linear(2, 2).astype(np.int32)


def test_conv2d_with_fused_relu_equals_conv2d_then_relu(rng):
    fused = nn.Conv2d(3, 5, 3, padding=1, activation="relu", rng=np.random.default_rng(1))
    plain = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1, rng=np.random.default_rng(1)), nn.ReLU())
    fused.astype(np.float64)
    plain.astype(np.float64)
    x, g = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((2, 5, 6, 6))
    assert_close(fused(x), plain(x), dtype=np.float64)
    assert_close(fused.backward(g), plain.backward(g), dtype=np.float64)
    assert_close(fused.weight.grad, plain[0].weight.grad, dtype=np.float64)
    with pytest.raises(ValueError, match=r"activation: expected None or 'relu', got 'tanh'"):
        nn.Conv2d(1, 1, 1, activation="tanh")


# ------------------------------------------------- every layer type, in training mode (BN)

def _every_layer(rng):
    """float64, training mode (batch statistics) except dropout: every layer faltung.nn has."""
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1, rng=rng),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.LocalResponseNorm(3, alpha=0.1, beta=0.75, k=2.0),
        nn.DepthwiseConv2d(6, 3, padding=1, multiplier=2, rng=rng),
        nn.SeparableConv2d(12, 8, 3, padding=1, rng=rng),
        nn.LocalContrastNorm(),
        nn.MaxPool2d(2),
        nn.Residual(nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, rng=rng), nn.BatchNorm2d(8),
                                  nn.Tanh())),
        nn.Concat(nn.AvgPool2d(2), nn.LPPool2d(2, 2), nn.AdaptiveAvgPool2d(2)),
        nn.ConvTranspose2d(24, 4, 2, stride=2, rng=rng),
        nn.Concat(nn.GlobalAvgPool2d(), nn.GlobalMaxPool2d()),
        nn.Flatten(),
        nn.Linear(8, 6, rng=rng),
        nn.BatchNorm1d(6),
        nn.Sigmoid(),
        nn.Highway.dense(6, rng=rng),
        nn.Dropout(0.5, rng=rng),
        nn.Linear(6, 5, rng=rng),
    ).astype(np.float64).train()
    net[17].eval()
    for _, module in net.named_modules():  # batch norm's affine parameters away from 1 and 0
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            module.weight.data[...] = rng.uniform(0.5, 1.5, module.weight.shape)
            module.bias.data[...] = rng.uniform(-0.5, 0.5, module.bias.shape)
    return net


def test_every_layer_finite_differences(rng):
    net = _every_layer(rng)
    x, target = rng.standard_normal((4, 3, 8, 8)), np.array([1, 4, 0, 2])
    _finite_difference_check(net, x, target, rng, 3,
                             [(0, 0, 0, 0), (1, 2, 3, 1), (3, 1, 7, 7), (2, 0, 4, 5)])


def _torch_every_layer(torch, net):
    tnn, F = torch.nn, torch.nn.functional
    Residual, Concat, Highway = _torch_blocks(torch)

    class Separable(tnn.Module):
        def __init__(self, c, o, m):
            super().__init__()
            self.depthwise_weight = tnn.Parameter(torch.empty(c * m, 1, 3, 3))
            self.pointwise_weight = tnn.Parameter(torch.empty(o, c * m, 1, 1))
            self.bias = tnn.Parameter(torch.empty(o))
            self.c = c

        def forward(self, x):
            t = F.conv2d(x, self.depthwise_weight, None, 1, 1, 1, self.c)
            return F.conv2d(t, self.pointwise_weight, self.bias)

    class ContrastNorm(tnn.Module):  # the lecture's formula, written out
        def forward(self, x):
            return x / torch.sqrt((x * x).sum(1, keepdim=True) / (x.shape[1] - 1) + 1e-5)

    class GlobalMax(tnn.Module):
        def forward(self, x):
            return x.amax(dim=(2, 3), keepdim=True)

    twin = tnn.Sequential(
        tnn.Conv2d(3, 6, 3, padding=1), tnn.BatchNorm2d(6), tnn.ReLU(),
        tnn.LocalResponseNorm(3, alpha=0.1, beta=0.75, k=2.0),
        tnn.Conv2d(6, 12, 3, padding=1, groups=6), Separable(12, 8, 1), ContrastNorm(),
        tnn.MaxPool2d(2),
        Residual(tnn.Sequential(tnn.Conv2d(8, 8, 3, padding=1), tnn.BatchNorm2d(8), tnn.Tanh())),
        Concat(tnn.AvgPool2d(2), tnn.LPPool2d(2, 2), tnn.AdaptiveAvgPool2d(2)),
        tnn.ConvTranspose2d(24, 4, 2, stride=2),
        Concat(tnn.AdaptiveAvgPool2d(1), GlobalMax()), tnn.Flatten(), tnn.Linear(8, 6),
        tnn.BatchNorm1d(6), tnn.Sigmoid(), Highway(6, tnn.ReLU()), tnn.Dropout(0.5), tnn.Linear(6, 5),
    ).double().train()
    twin[17].eval()
    assert list(twin.state_dict()) == list(net.state_dict())
    twin.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in net.state_dict().items()})
    return twin


def test_every_layer_against_torch(rng):
    torch = pytest.importorskip("torch")
    net = _every_layer(rng)
    twin = _torch_every_layer(torch, net)  # copies the weights and running stats before any step
    x, target = rng.standard_normal((4, 3, 8, 8)), np.array([1, 4, 0, 2])
    loss, gx, grads = _loss_and_grads(net, x, target)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    lt = torch.nn.functional.cross_entropy(twin(xt), torch.from_numpy(target))
    lt.backward()
    assert_close(np.array([loss]), np.array([lt.item()]), dtype=np.float64, what="loss")
    assert_close(gx, xt.grad.numpy(), dtype=np.float64, what="grad input")
    # a conv bias before batch norm has gradient 0 (rounding noise): errors are measured
    # against the network's largest gradient
    largest = max(np.abs(p.grad.numpy()).max() for p in twin.parameters())
    for name, param in twin.named_parameters():
        assert_close(grads[name], param.grad.numpy(), dtype=np.float64, what=name,
                     scale=largest)
    for name, buffer in twin.named_buffers():  # running statistics after one training step
        assert_close(np.asarray(net.state_dict()[name], dtype=np.float64),
                     buffer.numpy().astype(np.float64), dtype=np.float64, what=name)


def test_batch_norm_eval_uses_running_statistics(rng):
    bn = nn.BatchNorm2d(3).astype(np.float64)
    x = rng.standard_normal((4, 3, 5, 5)) * 3 + 2
    bn(x)  # one training step moves the running statistics
    bn.eval()
    mean, var = bn.running_mean, bn.running_var
    expected = (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5)
    assert_close(bn(x), expected, dtype=np.float64)
    assert int(bn.num_batches_tracked) == 1 and "num_batches_tracked" in bn.state_dict()
