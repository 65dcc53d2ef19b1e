"""faltung.models: every architecture's parameter count against the published figure (literals
from the papers, torchvision and Keras; never computed here), a forward and backward pass of
every architecture at the smallest input it allows (batch 1, float32, eval mode: batch norm
cannot take batch statistics from one value per channel) on both backends, torchvision's
state_dict keys and outputs through PyTorch twins (tests/torch_twins.py), the auxiliary heads
of GoogLeNet, and option errors.

Numba runs the large networks (VGG, AlexNet 2012, ResNet-101/152) only with --runslow: their
first use compiles kernels for minutes; the compiled backend runs every network."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
import faltung.models as M
import faltung.nn as nn
from tests import torch_twins
from tests.conftest import assert_close, central_differences
from tests.test_nn import _finite_difference_check

PARAMETERS = {  # trainable parameters, as published
    "mlp": 84_060, "edge_lover": 30, "lenet5": 61_706, "lenet5_1998": 60_000,
    "alexnet_2012": 60_965_224, "alexnet_one_tower": 62_378_344, "alexnet": 61_100_840,
    "vgg11": 132_863_336, "vgg13": 133_047_848, "vgg16": 138_357_544, "vgg19": 143_667_240,
    "googlenet": 6_998_552, "googlenet_torchvision": 6_624_904, "highway": 90_760,
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808, "resnext50_32x4d": 25_028_904,
    "densenet121": 7_978_856, "xception": 22_855_952, "mobilenet_v1": 4_231_976,
    "mobilenet_v2": 3_504_872, "vit_ti16": 5_717_416,
}

SMALLEST = {  # the smallest input each network allows (one example)
    "mlp": (784,), "highway": (784,), "edge_lover": (1, 1, 1), "lenet5": (1, 32, 32),
    "lenet5_1998": (1, 32, 32), "alexnet_2012": (3, 227, 227),
    "alexnet_one_tower": (3, 227, 227), "alexnet": (3, 63, 63), "vgg11": (3, 32, 32),
    "vgg13": (3, 32, 32), "vgg16": (3, 32, 32), "vgg19": (3, 32, 32),
    "googlenet": (3, 47, 47), "googlenet_torchvision": (3, 31, 31),
    "resnet18": (3, 1, 1), "resnet34": (3, 1, 1), "resnet50": (3, 1, 1), "resnet101": (3, 1, 1),
    "resnet152": (3, 1, 1), "resnext50_32x4d": (3, 1, 1), "densenet121": (3, 29, 29),
    "xception": (3, 7, 7), "mobilenet_v1": (3, 1, 1), "mobilenet_v2": (3, 1, 1),
    "vit_ti16": (3, 16, 16),
}
OPTIONS = {"vit_ti16": {"image_size": 16}}  # its position embeddings fix the input size
LARGE = {"alexnet_2012", "alexnet_one_tower", "alexnet", "vgg11", "vgg13", "vgg16", "vgg19",
         "resnet101", "resnet152"}
SMALL = sorted(set(PARAMETERS) - LARGE)


def _count(model) -> int:
    return sum(p.size for p in model.parameters())


def test_every_architecture_is_listed():
    assert sorted(M.list()) == sorted(PARAMETERS)
    for name in M.list():
        assert M.entry(name).summary


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_parameter_count(name):
    assert _count(M.build(name)) == PARAMETERS[name]


@pytest.mark.parametrize("name, options, count", [
    ("lenet5_1998", {"output": "linear"}, 60_850),  # 60,000 + 84 * 10 + 10
    ("googlenet", {"aux_heads": True}, 13_378_280),  # + 2 x (1x1 conv + 2 fc), paper layout
    ("googlenet_torchvision", {"aux_heads": True}, 13_004_888),  # torchvision aux_logits=True
    ("vgg16", {"batch_norm": True}, 138_365_992),  # torchvision's vgg16_bn
    ("resnet50", {"stride_in_1x1": True}, 25_557_032),  # stride placement: same parameters
])
def test_parameter_count_with_options(name, options, count):
    assert _count(M.build(name, **options)) == count


def _forward_backward(name):
    model = M.build(name, rng=0, **OPTIONS.get(name, {})).eval()
    x = np.random.default_rng(0).standard_normal((1, *SMALLEST[name])).astype(np.float32)
    y = model(x)
    classes = {"mlp": 10, "highway": 10, "lenet5": 10, "lenet5_1998": 10, "edge_lover": 2}
    assert y.shape == (1, classes.get(name, 1000)) and y.dtype == np.float32
    assert np.isfinite(y).all()
    gx = model.backward(np.ones_like(y))
    assert gx.shape == x.shape and gx.dtype == np.float32 and np.isfinite(gx).all()
    for key, param in model.named_parameters():
        assert param.grad is not None and param.grad.shape == param.shape, key
        assert np.isfinite(param.grad).all(), key


@pytest.mark.parametrize("name", SMALL)
def test_forward_backward_smallest_input(name, backend):
    _forward_backward(name)


@pytest.mark.parametrize("name", sorted(LARGE))
def test_forward_backward_smallest_input_large(name):
    previous = faltung.get_backend()
    faltung.set_backend("cpp" if "cpp" in faltung.available_backends() else "numba")
    try:
        _forward_backward(name)
    finally:
        faltung.set_backend(previous)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LARGE))
def test_forward_backward_smallest_input_large_numba(name):
    previous = faltung.get_backend()
    faltung.set_backend("numba")
    try:
        _forward_backward(name)
    finally:
        faltung.set_backend(previous)


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "densenet121", "mobilenet_v2",
                                  "xception", "vit_ti16", "lenet5_1998"])
def test_every_module_with_parameters_is_observed(name):
    """faltung.analysis sees layers through nn.module.observe: every module that owns
    parameters must be called through Module.__call__ during the forward pass."""
    model = M.build(name, rng=0, **OPTIONS.get(name, {})).eval()
    seen = []
    with nn.module.observe(lambda module, inputs, output: seen.append(id(module))):
        model(np.zeros((1, *SMALLEST[name]), np.float32))
    owners = {key: module for key, module in model.named_modules() if module._parameters}
    assert owners and not [key for key, module in owners.items() if id(module) not in seen]


def test_standard_input_shapes():
    assert M.entry("vgg16").input_shape == (3, 224, 224)
    assert M.entry("alexnet_2012").input_shape == (3, 227, 227)
    assert M.entry("xception").input_shape == (3, 299, 299)
    assert M.entry("lenet5_1998").input_shape == (1, 32, 32)


# ------------------------------------------------------------------ torchvision's keys and numbers
def _copy_into(torch, twin, model):
    twin.double().eval()
    assert list(twin.state_dict()) == list(model.state_dict())
    twin.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()})
    return twin


def _randomise_batch_norms(model, rng):
    """Running statistics and affine parameters away from 0/1, so eval-mode BN is tested."""
    for _, module in model.named_modules():
        if isinstance(module, nn.BatchNorm2d):
            c = module.num_features
            module.running_mean[:] = rng.standard_normal(c) * 0.1
            module.running_var[:] = rng.uniform(0.5, 1.5, c)
            module.weight.data[:] = rng.uniform(0.5, 1.5, c)
            module.bias.data[:] = rng.standard_normal(c) * 0.1


def _compare_with_twin(torch, model, twin, x, rng):
    y = model(x)
    grad = rng.standard_normal(y.shape)
    model.zero_grad()
    gx = model.backward(grad)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    yt = twin(xt)
    yt.backward(torch.from_numpy(grad))
    assert_close(y, yt.detach().numpy(), dtype=np.float64, what="output")
    assert_close(gx, xt.grad.numpy(), dtype=np.float64, what="grad input")
    grads = dict(model.named_parameters())
    for key, param in twin.named_parameters():
        assert_close(grads[key].grad, param.grad.numpy(), dtype=np.float64, what=key)


def test_resnet18_against_torch_twin(rng):
    torch = pytest.importorskip("torch")
    model = M.build("resnet18", rng=rng, dtype=np.float64).eval()
    _randomise_batch_norms(model, rng)
    twin = _copy_into(torch, torch_twins.resnet(torch, "basic", (2, 2, 2, 2)), model)
    _compare_with_twin(torch, model, twin, rng.standard_normal((1, 3, 16, 16)), rng)


@pytest.mark.parametrize("stride_in_1x1", [False, True])
def test_resnext_stage_against_torch_twin(stride_in_1x1, rng):
    """layer2 of ResNeXt-50 32x4d (grouped bottlenecks, projection shortcut); the twin strides
    the 1x1 or the 3x3 convolution like the model."""
    torch = pytest.importorskip("torch")
    model = M.build("resnext50_32x4d", stride_in_1x1=stride_in_1x1, rng=rng,
                    dtype=np.float64).eval()
    _randomise_batch_norms(model, rng)
    twin = torch_twins.resnet(torch, "bottleneck", (3, 4, 6, 3), 32, 4)
    if stride_in_1x1:
        first = twin.layer2[0]
        first.conv1.stride, first.conv2.stride = (2, 2), (1, 1)
    _copy_into(torch, twin, model)
    _compare_with_twin(torch, model.layer2, twin.layer2, rng.standard_normal((1, 256, 6, 6)),
                       rng)


@pytest.mark.parametrize("name, block, counts", [
    ("resnet34", "basic", (3, 4, 6, 3)), ("resnet50", "bottleneck", (3, 4, 6, 3)),
    ("resnet101", "bottleneck", (3, 4, 23, 3)), ("resnet152", "bottleneck", (3, 8, 36, 3)),
])
def test_resnet_keys_are_torchvisions(name, block, counts):
    torch = pytest.importorskip("torch")
    with torch.device("meta"):  # keys only: no memory, no initialisation
        twin = torch_twins.resnet(torch, block, counts)
    assert list(M.build(name).state_dict()) == list(twin.state_dict())


def test_mobilenet_v2_against_torch_twin(rng):
    torch = pytest.importorskip("torch")
    model = M.build("mobilenet_v2", rng=rng, dtype=np.float64).eval()
    _randomise_batch_norms(model, rng)
    twin = _copy_into(torch, torch_twins.mobilenet_v2(torch), model)
    _compare_with_twin(torch, model, twin, rng.standard_normal((1, 3, 8, 8)) * 3, rng)


def test_densenet121_against_torch_twin(rng):
    torch = pytest.importorskip("torch")
    model = M.build("densenet121", rng=rng, dtype=np.float64).eval()
    _randomise_batch_norms(model, rng)
    twin = _copy_into(torch, torch_twins.densenet121(torch), model)
    _compare_with_twin(torch, model, twin, rng.standard_normal((1, 3, 29, 29)), rng)


def test_googlenet_torchvision_against_torch_twin(rng):
    torch = pytest.importorskip("torch")
    model = M.build("googlenet_torchvision", num_classes=10, rng=rng, dtype=np.float64).eval()
    _randomise_batch_norms(model, rng)
    twin = _copy_into(torch, torch_twins.googlenet(torch, 10), model)
    _compare_with_twin(torch, model, twin, rng.standard_normal((1, 3, 40, 40)), rng)


def test_vit_against_torch_twin(rng):
    torch = pytest.importorskip("torch")
    model = M.build("vit_ti16", image_size=32, rng=rng, dtype=np.float64).eval()
    for key, param in model.named_parameters():  # class token and biases start at 0
        if "class_token" in key or "bias" in key:
            param.data[:] = rng.standard_normal(param.shape) * 0.1
    twin = _copy_into(torch, torch_twins.vit(torch, 32), model)
    _compare_with_twin(torch, model, twin, rng.standard_normal((2, 3, 32, 32)), rng)


def test_vgg_and_alexnet_keys_are_torchvisions():
    torch = pytest.importorskip("torch")
    from faltung.models.vgg import CONFIGS
    with torch.device("meta"):  # keys only: no memory, no initialisation
        vgg, alexnet = torch_twins.vgg(torch, CONFIGS[11]), torch_twins.alexnet(torch)
    assert list(M.build("vgg11").state_dict()) == list(vgg.state_dict())
    assert list(M.build("alexnet").state_dict()) == list(alexnet.state_dict())


def test_other_torchvision_names():
    """Spot checks of torchvision's key names where no twin is written out here."""
    keys = M.build("densenet121").state_dict()
    for key in ("features.conv0.weight", "features.norm0.running_var",
                "features.denseblock1.denselayer1.norm1.weight",
                "features.denseblock4.denselayer16.conv2.weight",
                "features.transition3.conv.weight", "features.norm5.bias", "classifier.weight"):
        assert key in keys
    keys = M.build("googlenet_torchvision", aux_heads=True).state_dict()
    for key in ("conv1.conv.weight", "conv1.bn.running_mean", "conv3.conv.weight",
                "inception3a.branch1.conv.weight", "inception3a.branch2.1.conv.weight",
                "inception5b.branch4.1.bn.bias", "aux1.conv.conv.weight", "aux2.fc2.bias",
                "fc.weight"):
        assert key in keys
    assert keys["inception3a.branch3.1.conv.weight"].shape == (32, 16, 3, 3)  # the "5x5"
    keys = M.build("vit_ti16").state_dict()
    assert list(keys)[:3] == ["class_token", "conv_proj.weight", "conv_proj.bias"]
    for key in ("encoder.pos_embedding", "encoder.layers.encoder_layer_11.ln_2.weight",
                "encoder.layers.encoder_layer_0.self_attention.in_proj_weight",
                "encoder.layers.encoder_layer_0.self_attention.out_proj.bias",
                "encoder.layers.encoder_layer_0.mlp.3.weight", "encoder.ln.bias",
                "heads.head.weight"):
        assert key in keys
    assert keys["encoder.pos_embedding"].shape == (1, 197, 192)


# ------------------------------------------------------------------ structure
def test_lenet5_1998_c3_table():
    """Table I of the paper: 60 connections, so 60 kernels of 5x5 plus 16 biases."""
    c3 = M.build("lenet5_1998").c3
    assert c3.weight.shape == (60, 5, 5) and c3.bias.shape == (16,)
    assert [len(inputs) for inputs in M.lenet.C3_TABLE] == [3] * 6 + [4] * 9 + [6]
    assert M.lenet.C3_TABLE[12] == (0, 1, 3, 4) and M.lenet.C3_TABLE[14] == (0, 2, 3, 5)


def test_paper_stride_placement_changes_only_the_sizes_inside():
    a = M.build("resnet50").layer2[0]
    b = M.build("resnet50", stride_in_1x1=True).layer2[0]
    assert a.conv1.geometry["stride"] == 1 and a.conv2.geometry["stride"] == 2
    assert b.conv1.geometry["stride"] == 2 and b.conv2.geometry["stride"] == 1
    x = np.random.default_rng(1).standard_normal((1, 256, 8, 8)).astype(np.float32)
    assert a.eval()(x).shape == b.eval()(x).shape == (1, 512, 4, 4)


def test_googlenet_aux_heads(rng):
    """torchvision's layout (adaptive 4x4 pooling in the heads) takes small inputs; the paper's
    heads pool 5x5/3 and need inception4a's 14x14 maps (224x224 inputs)."""
    model = M.build("googlenet_torchvision", aux_heads=True, num_classes=10, rng=0)
    x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    y = model(x)
    assert y.shape == (2, 10) and len(model.aux_logits) == 2
    assert all(a.shape == (2, 10) for a in model.aux_logits)
    g = np.ones_like(y)
    model.backward(g)
    assert model.aux1.fc2.weight.grad is None  # no aux_grads: the heads get no gradient
    model.zero_grad()
    model(x)
    model.backward(g, aux_grads=(0.3 * g, 0.3 * g))
    assert model.aux1.fc2.weight.grad is not None and model.aux2.conv.conv.weight.grad is not None
    model.eval()
    model(x)
    assert model.aux_logits is None
    with pytest.raises(ValueError, match="aux_grads: the auxiliary heads did not run"):
        model.backward(g, aux_grads=(g, g))


def test_googlenet_aux_gradient_reaches_the_trunk_by_finite_differences(rng):
    """The aux gradient adds into the trunk where the head branches off: the total derivative
    of main + aux losses (linear in the outputs) checked by central differences."""
    model = M.build("googlenet_torchvision", aux_heads=True, num_classes=10, dtype=np.float64,
                    rng=0)
    for module in (m for _, m in model.named_modules()):
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    x = rng.standard_normal((2, 3, 32, 32))
    weights = [rng.standard_normal((2, 10)) for _ in range(3)]

    entries = ((0, 0, 3, 4), (1, 2, 30, 1))
    probe = np.zeros(len(entries))  # added to those input entries

    def loss():
        shifted = x.copy()
        for entry, shift in zip(entries, probe):
            shifted[entry] += shift
        y = model(shifted)
        return sum((w * o).sum() for w, o in zip(weights, (y, *model.aux_logits)))

    loss()
    model.zero_grad()
    gx = model.backward(weights[0], aux_grads=(weights[1], weights[2]))
    assert_close(np.array([gx[entry] for entry in entries]), central_differences(loss, probe),
                 dtype=np.float64, kind="fd")


def test_vision_transformer_finite_differences(rng):
    """A tiny ViT (2x2 patches of 16 -> 5 tokens, dim 6, 2 blocks): class token, position
    embedding, patch embedding and head all checked."""
    from faltung.models.vit import VisionTransformer
    net = VisionTransformer(32, 16, 6, 2, 2, 8, 4, dtype=np.float64,
                            rng=np.random.default_rng(3)).eval()
    for _, p in net.named_parameters():
        p.data[:] += rng.standard_normal(p.shape) * 0.1
    x = rng.standard_normal((2, 3, 32, 32))
    _finite_difference_check(net, x, np.array([1, 3]), rng, 2, [(0, 0, 0, 0), (1, 2, 17, 5)])


def test_edge_lover_structure():
    model = M.build("edge_lover")
    assert model.conv.weight.shape == (1, 1, 5, 5) and model.conv.geometry["padding"] == 2
    assert isinstance(model.pool, nn.GlobalMaxPool2d) and model.fc.weight.shape == (2, 1)


# ------------------------------------------------------------------ options
def test_option_errors():
    with pytest.raises(TypeError, match=r"options: 'resnet18' takes \['num_classes', "
                                        r"'stride_in_1x1', 'dtype', 'rng'\], got unknown "
                                        r"\['depth'\]"):
        M.build("resnet18", depth=3)
    with pytest.raises(ValueError, match="stride_in_1x1: only for bottleneck ResNets"):
        M.build("resnet18", stride_in_1x1=True)
    with pytest.raises(ValueError, match=r"output: expected one of \['linear', 'rbf'\], "
                                         r"got 'softmax'"):
        M.build("lenet5_1998", output="softmax")
    with pytest.raises(ValueError, match="image_size: expected a multiple of 16 .*, got 20"):
        M.build("vit_ti16", image_size=20)
    with pytest.raises(ValueError, match="num_classes: expected a positive int, got 0"):
        M.build("mobilenet_v2", num_classes=0)
    with pytest.raises(TypeError, match="aux_heads: expected a bool, got 1"):
        M.build("googlenet", aux_heads=1)
    with pytest.raises(ValueError, match=r"activation: expected one of \['relu', 'relu6'\]"):
        M.build("mobilenet_v1", activation="tanh")
    with pytest.raises(ValueError, match="name: expected one of"):
        M.build("resnet9")
    with pytest.raises(ValueError, match=r"encoder \(Encoder\): input: expected tokens "
                                         r"\(B, 2, 192\), got shape \(1, 5, 192\)"):
        M.build("vit_ti16", image_size=16)(np.zeros((1, 3, 32, 32), np.float32))
