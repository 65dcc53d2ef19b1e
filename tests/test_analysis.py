"""faltung.analysis.summary: MACs from the formulas (hand-computed here), parameters counted
once for shared layers, other element operations kept apart, receptive fields of the lecture's
stacks (two 3x3 see 5x5, three see 7x7), the table and the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

from faltung import analysis, models, nn


def _rows(model, shape):
    return analysis.summary(model, shape).rows


def test_lenet5_macs_by_hand():
    """C1 6*28*28*25, C3 16*10*10*150, C5 120*400, F6 84*120, output 10*84."""
    s = analysis.summary(models.build("lenet5"), (1, 32, 32))
    assert [r.macs for r in s.rows if r.macs] == [117600, 240000, 48000, 10080, 840]
    assert s.macs == 416520 and s.flops == 2 * 416520 and s.params == 61706
    assert s.rows[0].activation_bytes == 6 * 28 * 28 * 4


@pytest.mark.parametrize("layers, expected_rf", [
    ([nn.Conv2d(1, 1, 7)], 7),
    ([nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3)], 5),
    ([nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Conv2d(1, 1, 3)], 7),
    ([nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3)], 7),
    ([nn.Conv2d(1, 1, 3, dilation=2)], 5),
    ([nn.MaxPool2d(2), nn.Conv2d(1, 1, 3)], 6),
    ([nn.DepthwiseConv2d(1, 3), nn.SeparableConv2d(1, 1, 3)], 5),
], ids=["7x7", "two_3x3", "three_3x3", "stride2_then_3x3", "dilated", "pool_then_conv",
        "depthwise_separable"])
def test_receptive_fields(layers, expected_rf):
    rows = _rows(nn.Sequential(*layers), (1, 32, 32))
    assert rows[-1].rf == expected_rf


def test_receptive_field_jump_and_branches():
    body = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 3, padding=1))
    net = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.Residual(body),
                        nn.Concat(nn.Conv2d(2, 1, 1), nn.Conv2d(2, 1, 5, padding=2)))
    rows = _rows(net, (1, 16, 16))
    first, residual = rows[0], next(r for r in rows if r.kind == "Residual")
    assert (first.rf, first.jump) == (3, 2)
    assert (residual.rf, residual.jump) == (3 + 2 * 2 + 2 * 2, 2)  # the body's two 3x3
    assert rows[-1].rf == 11 + 4 * 2  # the concat's wider branch, 5x5 at jump 2


def test_mac_rules_by_layer_kind():
    """Conv: out * C/groups * k*k; depthwise: out * k*k; separable: both parts; transposed:
    in * O/groups * k*k; linear: out * in."""
    cases = [
        (nn.Conv2d(4, 6, 3, padding=1, groups=2), (4, 5, 5), 6 * 25 * 2 * 9),
        (nn.DepthwiseConv2d(4, 3, padding=1, multiplier=2), (4, 5, 5), 8 * 25 * 9),
        (nn.SeparableConv2d(4, 6, 3, padding=1), (4, 5, 5), 4 * 25 * 9 + 6 * 25 * 4),
        (nn.ConvTranspose2d(4, 6, 2, stride=2), (4, 5, 5), 4 * 25 * 6 * 4),
        (nn.Linear(7, 3), (7,), 21),
    ]
    for layer, shape, expected in cases:
        assert analysis.summary(layer, shape).macs == expected, layer.describe()


def test_shared_layer_counts_parameters_once_and_macs_per_call():
    shared = nn.Linear(4, 4)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    s = analysis.summary(net, (4,))
    assert s.params == 20 and s.macs == 2 * 16
    assert [r.params for r in s.rows if r.kind == "Linear"] == [20, 0]


def test_other_ops_are_not_macs():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Residual(nn.Sequential(nn.ReLU())))
    s = analysis.summary(net, (1, 4, 4))
    assert s.macs == 2 * 16 * 9
    kinds = {r.kind: r.other_ops for r in s.rows}
    assert kinds["BatchNorm2d"] == 32 and kinds["MaxPool2d"] == 32 and kinds["Residual"] == 8


def test_summary_leaves_the_mode_and_weights_alone():
    net = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    before = {k: v.copy() for k, v in net.state_dict().items()}
    analysis.summary(net, (3,))
    assert net.training
    for key, value in net.state_dict().items():
        assert np.array_equal(value, before[key]), key


def test_table_and_cli_json(tmp_path, capsys):
    from faltung.cli import main
    path = tmp_path / "lenet.json"
    assert main(["summary", "lenet5", "--json", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "parameters 61,706" in printed and "MACs 416,520" in printed
    document = json.loads(path.read_text())
    assert document["macs"] == 416520 and len(document["rows"]) == 12
    assert main(["models"]) == 0
    assert "lenet5" in capsys.readouterr().out


def test_bad_input_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"input_shape: expected positive sizes"):
        analysis.summary(models.build("mlp"), (0,))


def test_zoo_rows_table_and_plot(tmp_path):
    from faltung.analysis import zoo
    rows = zoo.zoo(["lenet5", "mlp"], timer=zoo.TimerConfig(warmup=1, min_rounds=1,
                                                             max_rounds=1, budget_s=0))
    assert [(r.model, r.params, r.macs) for r in rows] == [("lenet5", 61706, 416520),
                                                           ("mlp", 84060, 83900)]
    assert all(r.forward_ms > 0 and r.backward_ms > 0 for r in rows)
    assert "lenet5" in zoo.format_zoo(rows)
    pytest.importorskip("matplotlib")
    path = tmp_path / "zoo.png"
    zoo.plot_zoo(rows, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_models_cli_flags(capsys):
    from faltung.cli import main
    with pytest.raises(SystemExit):
        main(["models", "--plot", "x.png"])
    assert "--plot and --json need --measure" in capsys.readouterr().err


def test_zoo_times_fixed_size_networks_at_their_standard_input():
    from faltung.analysis import zoo
    (row,) = zoo.zoo(["lenet5"], input_scale=0.5,
                     timer=zoo.TimerConfig(warmup=1, min_rounds=1, max_rounds=1, budget_s=0))
    assert row.timed_shape == (1, 32, 32)  # LeNet-5's C5 needs the full 32x32
