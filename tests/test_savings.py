"""The savings reports: their counts equal the lecture's figures (written here as the notes
state them), receptive fields agree, and the timed path runs and reports times."""
from __future__ import annotations

import json

import pytest

from faltung.analysis import savings


def _by_name(report):
    return {v.name: v for v in report.variants}


def test_fully_connected_local_conv_counts():
    rows = _by_name(savings.fully_connected_vs_local_vs_conv(size=12, field=3, timer=None))
    assert rows["fully connected, 200x200 -> 40,000"].params == 1_600_000_000  # "2 Mrd."
    assert rows["locally connected 10x10, 200x200 -> 40,000"].params == 4_000_000  # "4 Mio."
    assert rows["convolution 10x10, 200x200 -> 40,000"].params == 100
    assert rows["fully connected, 12x12 -> 10x10"].params == 144 * 100


def test_stacked_3x3_counts_and_fields():
    c = 8
    rows = _by_name(savings.stacked_3x3(channels=c, size=12, timer=None))
    assert (rows["one 7x7"].params, rows["one 7x7"].rf) == (49 * c * c, 7)
    assert (rows["three 3x3"].params, rows["three 3x3"].rf) == (27 * c * c, 7)
    assert (rows["one 5x5"].params, rows["one 5x5"].rf) == (25 * c * c, 5)
    assert (rows["two 3x3"].params, rows["two 3x3"].rf) == (18 * c * c, 5)


def test_separable_counts():
    rows = _by_name(savings.separable(channels=16, size=6, timer=None))
    assert rows["standard 3x3, 3->8"].params == 224
    assert rows["depthwise 3x3 + 1x1, 3->8"].params == 62
    standard, separable = rows["standard 3x3, 16->16"], rows["separable 3x3, 16->16"]
    assert separable.params * 144 == standard.params * (9 + 16)  # ratio 1/N + 1/K^2 exactly
    assert separable.macs * 144 == standard.macs * (9 + 16)


def test_inception_3a_macs():
    rows = _by_name(savings.inception_reductions(timer=None))
    assert round(rows["without 1x1 reductions"].macs / 1e6, 1) == 303.5
    assert round(rows["with 1x1 reductions"].macs / 1e6, 1) == 128.0
    assert rows["with 1x1 reductions"].rf == 5  # the 5x5 branch


def test_resnet_block_counts():
    c, b = 32, 8
    rows = _by_name(savings.residual_blocks(channels=c, size=6, timer=None))
    batch_norm = lambda ch: 2 * ch  # noqa: E731  (scale and shift per channel)
    assert rows[f"basic, {c} channels"].params == 2 * 9 * c * c + 2 * batch_norm(c)
    assert rows[f"bottleneck {c}-{b}-{b}-{c}"].params == (
        c * b + 9 * b * b + b * c + 2 * batch_norm(b) + batch_norm(c))


def test_timed_report_and_cli(tmp_path, capsys):
    report = savings.stacked_3x3(channels=4, size=10, batch=1, timer=savings.QUICK_TIMER)
    assert all(v.forward_ms > 0 and v.backward_ms > 0 for v in report.variants)
    text = savings.format_report(report)
    assert "three 3x3" in text and "fwd ms" in text
    from faltung.cli import main
    path = tmp_path / "savings.json"
    assert main(["savings", "--quick", "--only", "separable", "--json", str(path)]) == 0
    assert "224" in capsys.readouterr().out
    document = json.loads(path.read_text())
    assert [r["key"] for r in document["reports"]] == ["separable"]


def test_cli_rejects_unknown_report(capsys):
    from faltung.cli import main
    with pytest.raises(SystemExit):
        main(["savings", "--only", "nothing"])
    assert "invalid choice" in capsys.readouterr().err


def test_whole_mobilenet_against_its_standard_twin():
    """Howard et al. 2017, Table 4: MobileNet 4.2 M parameters, 569 M mult-adds; the same net
    with standard convolutions 29.3 M and 4866 M (the paper's figure leaves out the 1.024 M of
    the final fully connected layer, which its 569 M includes)."""
    rows = savings.whole_mobilenet(timer=None).variants
    mobilenet, standard = rows
    assert mobilenet.params == 4_231_976 and round(mobilenet.macs / 1e6) == 569
    assert round(standard.params / 1e6, 1) == 29.3
    assert round((standard.macs - 1024 * 1000) / 1e6) == 4866


def test_resnet152_against_vgg19():
    vgg, torchvision, paper = savings.resnet_vs_vgg(timer=None).variants
    assert round(torchvision.params / vgg.params, 2) == 0.42
    assert round(paper.macs / vgg.macs, 3) == 0.575
    assert paper.params == torchvision.params == 60_192_808
