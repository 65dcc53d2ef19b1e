"""faltung.analysis.summary on the lecture architectures: the MAC totals at the standard input
equal the published figures (as the issue quotes them, in G = 1e9 multiply-accumulates, batch 1;
written here as literals), and the counting conventions behind them: conv and linear layers,
depthwise and grouped convolutions, attention's matmuls, the paper's stride placement."""
from __future__ import annotations

import pytest

from faltung import analysis, models

PUBLISHED_GMACS = [
    ("vgg16", {}, 15.470), ("vgg19", {}, 19.632), ("resnet18", {}, 1.814),
    ("resnet50", {}, 4.089), ("resnet50", {"stride_in_1x1": True}, 3.858),
    ("resnet152", {}, 11.514), ("mobilenet_v1", {}, 0.569), ("mobilenet_v2", {}, 0.301),
    ("densenet121", {}, 2.834), ("alexnet", {}, 0.714), ("googlenet_torchvision", {}, 1.498),
    ("vit_ti16", {}, 1.254), ("xception", {}, 8.357),
]


@pytest.mark.parametrize("name, options, gmacs", PUBLISHED_GMACS,
                         ids=[f"{n}{'-paper' if o else ''}" for n, o, _ in PUBLISHED_GMACS])
def test_published_mac_totals(name, options, gmacs):
    entry = models.entry(name)
    summary = analysis.summary(entry.builder(**options), entry.input_shape)
    assert round(summary.macs / 1e9, 3) == gmacs
    assert summary.flops == 2 * summary.macs


def test_resnet152_against_vgg19_as_the_lecture_says():
    """Seed 003: ResNet-152 has 8x the layers of VGG-19 and far fewer parameters (0.42x)."""
    vgg = analysis.summary(models.build("vgg19"), (3, 224, 224))
    resnet = analysis.summary(models.build("resnet152"), (3, 224, 224))
    assert round(resnet.params / vgg.params, 2) == 0.42
    assert 152 // 19 == 8
