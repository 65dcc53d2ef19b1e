"""The lecture's parameter-savings arguments, each with its exact counts and the measured
forward and backward time of faltung's kernels side by side, so that a reader sees whether a
saving in parameters or MACs becomes a saving in time.

Every report builds the compared layers from faltung.nn, counts them with analysis.summary,
and times one forward and one backward pass (input and weight gradients) of each on the same
random batch (median of rounds, bench.timing). A Report is a title, the argument as the notes
make it, rows (variant, parameters, MACs, receptive field, forward ms, backward ms, each time
and count relative to the first row) and notes on what the measurement shows.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .. import functional, nn
from ..bench.timing import TimerConfig, measure
from .summary import summary

QUICK_TIMER = TimerConfig(warmup=1, min_rounds=3, max_rounds=5, budget_s=0.1)
FULL_TIMER = TimerConfig(warmup=2, min_rounds=5, max_rounds=20, budget_s=0.5)


@dataclass
class Variant:
    name: str
    params: int
    macs: int
    rf: int | None = None
    group: str = ""  # rows are compared with the first row of their group
    forward_ms: float | None = None  # None: not timed (see the report's notes)
    backward_ms: float | None = None


@dataclass
class Report:
    key: str
    title: str
    argument: str
    variants: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"key": self.key, "title": self.title, "argument": self.argument,
                "variants": [asdict(v) for v in self.variants], "notes": self.notes}


def measure_variant(name: str, module: nn.Module, input_shape: tuple, batch: int,
                    timer: TimerConfig | None, seed: int = 0) -> Variant:
    """Counts of `module` (batch 1) and, unless timer is None, its forward and backward time on
    a batch of `batch` random examples."""
    counted = summary(module, input_shape)
    variant = Variant(name, counted.params, counted.macs, counted.rf)
    if timer is None:
        return variant
    x = np.random.default_rng(seed).standard_normal((batch,) + tuple(input_shape)).astype(np.float32)
    module.eval()
    y = module(x)
    grad = np.ones_like(y)
    variant.forward_ms = 1e3 * measure(lambda: module(x), timer).median_s

    def backward():
        module.zero_grad()
        module.backward(grad)

    variant.backward_ms = 1e3 * measure(backward, timer).median_s
    return variant


def _seq(*layers):
    return nn.Sequential(*layers)


def stacked_3x3(channels: int = 64, size: int = 56, batch: int = 8, timer=FULL_TIMER) -> Report:
    c = channels
    report = Report(
        "stacked_3x3", "Small filters: stacked 3x3 convolutions instead of one large one",
        "Seed 000, 'Trend zu kleineren Filtern': one 7x7 layer (49 C^2 weights) sees a 7x7 "
        "window; three stacked 3x3 layers see the same 7x7 with 27 C^2 weights (and two "
        "non-linearities more); two 3x3 (18 C^2) see 5x5 like one 5x5 (25 C^2).")
    shape = (c, size, size)
    for name, module in [
        ("one 7x7", nn.Conv2d(c, c, 7, padding=3, bias=False)),
        ("three 3x3", _seq(*[layer for _ in range(3) for layer in
                             (nn.Conv2d(c, c, 3, padding=1, bias=False), nn.ReLU())][:-1])),
        ("one 5x5", nn.Conv2d(c, c, 5, padding=2, bias=False)),
        ("two 3x3", _seq(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.ReLU(),
                         nn.Conv2d(c, c, 3, padding=1, bias=False))),
    ]:
        report.variants.append(measure_variant(name, module, shape, batch, timer))
    report.notes.append(f"C = {c} channels, {size}x{size} maps, batch {batch}, no bias")
    return report


def separable(channels: int = 256, size: int = 28, batch: int = 8, timer=FULL_TIMER) -> Report:
    report = Report(
        "separable", "Depthwise-separable instead of standard convolution",
        "Seed 004 (Xception): a 3x3 convolution from 3 to 8 channels has 3*3*3*8 + 8 = 224 "
        "parameters; depthwise 3x3 (3*3*3 + 3 = 30) then 1x1 (1*1*3*8 + 8 = 32) has 62. In "
        "general the separable layer needs 1/N + 1/K^2 of the standard one's weights and MACs "
        "(N output channels, K x K kernel).")
    seed_example = [("standard 3x3, 3->8", nn.Conv2d(3, 8, 3, padding=1)),
                    ("depthwise 3x3 + 1x1, 3->8",
                     _seq(nn.DepthwiseConv2d(3, 3, padding=1), nn.Conv2d(3, 8, 1)))]
    for name, module in seed_example:
        variant = measure_variant(name, module, (3, size, size), batch, None)
        variant.group = "notes"
        report.variants.append(variant)
    c = channels
    layer = [("standard 3x3", nn.Conv2d(c, c, 3, padding=1, bias=False)),
             ("separable 3x3", nn.SeparableConv2d(c, c, 3, padding=1, bias=False))]
    for name, module in layer:
        report.variants.append(measure_variant(f"{name}, {c}->{c}", module, (c, size, size),
                                               batch, timer))
    ratio = 1 / c + 1 / 9
    report.notes += [
        "the first two rows are the notes' example (counts only); the Keras SeparableConv2D "
        "has one bias: 3*3*3 + 3*8 + 8 = 59",
        f"{c}->{c} at {size}x{size}, batch {batch}, no bias: predicted weight ratio 1/N + "
        f"1/K^2 = 1/{c} + 1/9 = {ratio:.4f}"]
    return report


def _inception_3a(reductions: bool) -> nn.Module:
    """GoogLeNet's module 3a on 192 x 28 x 28 (paper, Table 1), with its 1x1 reductions or,
    naively, the 3x3 and 5x5 convolutions straight on the 192 input channels and the pooled
    input passed through."""
    def conv(c_in, c_out, k):
        return nn.Conv2d(c_in, c_out, k, padding=k // 2, activation="relu")
    if reductions:
        return nn.Concat(branch1=conv(192, 64, 1),
                         branch2=_seq(conv(192, 96, 1), conv(96, 128, 3)),
                         branch3=_seq(conv(192, 16, 1), conv(16, 32, 5)),
                         branch4=_seq(nn.MaxPool2d(3, 1, 1), conv(192, 32, 1)))
    return nn.Concat(branch1=conv(192, 64, 1), branch2=conv(192, 128, 3),
                     branch3=conv(192, 32, 5), branch4=nn.MaxPool2d(3, 1, 1))


def inception_reductions(batch: int = 8, timer=FULL_TIMER) -> Report:
    report = Report(
        "inception_1x1", "1x1 reductions in an Inception module",
        "Seed 000 (GoogLeNet): 1x1 convolutions act only along the channels; placed before "
        "the 3x3 and 5x5 convolutions they shrink the channels those see. Module 3a: "
        "303.5 M MACs without, 128.0 M with the reductions.")
    for name, reductions in (("without 1x1 reductions", False), ("with 1x1 reductions", True)):
        report.variants.append(measure_variant(name, _inception_3a(reductions), (192, 28, 28),
                                               batch, timer))
    report.notes.append(f"input 192x28x28, batch {batch}; the naive module outputs "
                        "64+128+32+192 = 416 channels, the real one 256")
    return report


def residual_blocks(channels: int = 256, size: int = 56, batch: int = 4,
                    timer=FULL_TIMER) -> Report:
    c, b = channels, channels // 4
    report = Report(
        "resnet_blocks", "ResNet: basic block vs bottleneck block",
        "Seed 003: deep ResNets (50 layers and more) replace the two 3x3 convolutions of a "
        "block by a 1x1 reduction, one 3x3 on a quarter of the channels and a 1x1 expansion, "
        "so that a block on 256 channels costs about as much as a basic block on 64.")

    def basic():
        return nn.Residual(_seq(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                                nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, bias=False),
                                nn.BatchNorm2d(c)))

    def bottleneck():
        return nn.Residual(_seq(nn.Conv2d(c, b, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(),
                                nn.Conv2d(b, b, 3, padding=1, bias=False), nn.BatchNorm2d(b),
                                nn.ReLU(), nn.Conv2d(b, c, 1, bias=False), nn.BatchNorm2d(c)))

    for name, module in ((f"basic, {c} channels", basic()),
                         (f"bottleneck {c}-{b}-{b}-{c}", bottleneck())):
        report.variants.append(measure_variant(name, module, (c, size, size), batch, timer))
    report.notes.append(f"{size}x{size} maps, batch {batch}; parameters include batch norm")
    return report


def fully_connected_vs_local_vs_conv(size: int = 32, field: int = 10, batch: int = 8,
                                     timer=FULL_TIMER) -> Report:
    report = Report(
        "fc_local_conv", "Fully connected vs locally connected vs convolutional",
        "Seeds 000/002: a 200x200 image with 40,000 hidden neurons needs 200*200*40,000 = 1.6 "
        "billion weights fully connected ('2 Mrd.'), 40,000 * 10*10 = 4 million with 10x10 "
        "receptive fields ('4 Mio.'), and 100 when every neuron shares the same 10x10 weights "
        "(a convolution).")
    full = 200 * 200
    report.variants += [
        Variant("fully connected, 200x200 -> 40,000", full * full, full * full, group="notes"),
        Variant("locally connected 10x10, 200x200 -> 40,000", full * 100, full * 100,
                group="notes"),
        Variant("convolution 10x10, 200x200 -> 40,000", 100, full * 100, group="notes")]
    pixels = size * size
    out = size - field + 1
    fc = _seq(nn.Flatten(), nn.Linear(pixels, out * out, bias=False))
    conv = nn.Conv2d(1, 1, field, bias=False)
    report.variants.append(measure_variant(f"fully connected, {size}x{size} -> {out}x{out}", fc,
                                           (1, size, size), batch, timer))
    report.variants.append(measure_variant(f"convolution {field}x{field}, {size}x{size}", conv,
                                           (1, size, size), batch, timer))
    report.notes += [
        "the first three rows are the notes' example, counted by the formulas (its fully "
        "connected layer would take 6.4 GB of float32 weights; no bias counted)",
        f"the timed rows are the same comparison at {size}x{size} (valid {field}x{field} "
        f"windows, {out}x{out} hidden units), batch {batch}; faltung has no locally connected "
        "kernel, so that layer is counted only"]
    return report


def _mobilenet_v1_standard() -> nn.Module:
    """MobileNet v1 with every depthwise-separable block replaced by one standard 3x3
    convolution (+BN+ReLU) of the same input and output channels and stride: the paper's
    "Conv MobileNet" (Howard et al. 2017, Table 4: 29.3 M parameters, 4866 M mult-adds)."""
    from ..models._parts import conv_bn
    from ..models.mobilenet import V1_BLOCKS
    rng = np.random.default_rng(0)
    layers, channels = conv_bn(3, 32, 3, 2, 1, eps=1e-3, dtype=np.float32, rng=rng), 32
    for c_out, stride in V1_BLOCKS:
        layers += conv_bn(channels, c_out, 3, stride, 1, eps=1e-3, dtype=np.float32, rng=rng)
        channels = c_out
    return _seq(*layers, nn.GlobalAvgPool2d(), nn.Flatten(), nn.Linear(channels, 1000, rng=rng))


def _scaled_input(size: int, quick: bool) -> tuple:
    return (3, size // 2, size // 2) if quick else (3, size, size)


def whole_mobilenet(timer=FULL_TIMER, batch: int = 1, quick: bool = False) -> Report:
    from .. import models
    report = Report(
        "mobilenet", "Whole MobileNet v1 against its standard-convolution twin",
        "Seed 004 (depthwise-separable convolutions): 'fewer free parameters, fewer "
        "operations, and so faster'. MobileNet v1 (Howard et al. 2017, Table 4): 4.2 M "
        "parameters and 569 M mult-adds against 29.3 M and 4866 M for the same network with "
        "standard convolutions.")
    timed_shape = _scaled_input(224, quick)
    for name, module in (("MobileNet v1 (depthwise separable)",
                          models.build("mobilenet_v1", rng=np.random.default_rng(0))),
                         ("the same with standard 3x3 convolutions", _mobilenet_v1_standard())):
        variant = measure_variant(name, module, (3, 224, 224), batch, None)
        if timer is not None:
            timed = measure_variant(name, module, timed_shape, batch, timer)
            variant.forward_ms, variant.backward_ms = timed.forward_ms, timed.backward_ms
        report.variants.append(variant)
    report.notes.append(f"counts at 3x224x224; times at {'x'.join(map(str, timed_shape))}, "
                        f"batch {batch}, eval mode (batch norm with running statistics)")
    return report


def resnet_vs_vgg(timer=FULL_TIMER, batch: int = 1, quick: bool = False) -> Report:
    from .. import models
    report = Report(
        "resnet_vgg", "ResNet-152 against VGG-19",
        "Seed 003: ResNet-152 has 8x as many layers as VGG-19 and still far fewer parameters; "
        "the paper (He et al. 2015) counts 11.3 G FLOPs (multiply-adds) against VGG-19's 19.6 G. "
        "Issue figures: 0.42x the parameters, 0.575x the MACs.")
    timed_shape = _scaled_input(224, quick)
    for name, builder, options in (("VGG-19", "vgg19", {}),
                                   ("ResNet-152 (torchvision, stride in the 3x3)", "resnet152", {}),
                                   ("ResNet-152 (paper, stride in the first 1x1)", "resnet152",
                                    {"stride_in_1x1": True})):
        module = models.build(builder, rng=np.random.default_rng(0), **options)
        variant = measure_variant(name, module, (3, 224, 224), batch, None)
        if timer is not None and not options:
            timed = measure_variant(name, module, timed_shape, batch, timer)
            variant.forward_ms, variant.backward_ms = timed.forward_ms, timed.backward_ms
        report.variants.append(variant)
    report.notes += [
        "weight layers: VGG-19 16 conv + 3 fc = 19; ResNet-152 151 conv + 1 fc = 152 (8x)",
        f"counts at 3x224x224; times at {'x'.join(map(str, timed_shape))}, batch {batch}, "
        "eval mode; the paper's stride placement is counted, not timed (same layers)"]
    return report


REPORTS = {"fc_local_conv": fully_connected_vs_local_vs_conv, "stacked_3x3": stacked_3x3,
           "separable": separable, "inception_1x1": inception_reductions,
           "resnet_blocks": residual_blocks, "mobilenet": whole_mobilenet,
           "resnet_vgg": resnet_vs_vgg}
WHOLE_NETWORKS = ("mobilenet", "resnet_vgg")  # batch 1, input halved in quick runs


def run(quick: bool = False, only=None) -> list[Report]:
    """Every report (or those named in `only`); quick: fewer timing rounds, smaller batches."""
    timer = QUICK_TIMER if quick else FULL_TIMER
    reports = []
    for name in only or list(REPORTS):
        options = {"quick": quick} if name in WHOLE_NETWORKS else ({"batch": 1} if quick else {})
        reports.append(REPORTS[name](timer=timer, **options))
    return reports


def format_report(report: Report) -> str:
    lines = [f"== {report.title}", report.argument, ""]
    head = (f"{'variant':<44} {'params':>15} {'x':>7} {'MACs':>17} {'x':>7} {'rf':>4} "
            f"{'fwd ms':>9} {'x':>6} {'bwd ms':>9} {'x':>6}")
    lines += [head, "-" * len(head)]
    firsts = {}
    for v in report.variants:
        firsts.setdefault(v.group, v)

    def rel(a, b):
        return f"{a / b:.3f}" if a is not None and b else ""

    for v in report.variants:
        first = timed_first = firsts[v.group]
        fwd = "" if v.forward_ms is None else f"{v.forward_ms:.3f}"
        bwd = "" if v.backward_ms is None else f"{v.backward_ms:.3f}"
        lines.append(
            f"{v.name[:44]:<44} {v.params:>15,} {rel(v.params, first.params):>7} "
            f"{v.macs:>17,} {rel(v.macs, first.macs):>7} {'' if v.rf is None else v.rf:>4} "
            f"{fwd:>9} {rel(v.forward_ms, timed_first.forward_ms):>6} "
            f"{bwd:>9} {rel(v.backward_ms, timed_first.backward_ms):>6}")
    lines += [f"  note: {note}" for note in report.notes]
    lines.append(f"  (x: relative to the first row of its group; threads "
                 f"{functional.get_num_threads()})")
    return "\n".join(lines)
