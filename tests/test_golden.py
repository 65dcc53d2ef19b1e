"""Golden tests: the worked examples of the lecture notes (../shared/seeds/000_*.txt) and a few
more derived by hand. Expected values are literals, never computed by faltung; all are small
integers, so every backend must reproduce them exactly in float32 and float64.

About the lecture's "Faltungsschicht mit 2er-Schritten und Zeropadding" example: its figure
(taken from Dumoulin & Visin's conv_arithmetic, figure numerical_padding_strides) prints the
output [[6,14,17],[14,12,12],[8,10,17]], but that is NOT the stride-2 result. Those nine numbers
are the top-left 3x3 corner of the stride-1, padding-1 output; the figure's own frames show it:
the second stride-2 window covers padded rows 0..2, columns 2..4 = [[0,0,0],[3,2,1],[0,1,3]],
and with the kernel [[0,1,2],[2,2,0],[0,1,2]] that is 3*2 + 2*2 + 1*1 + 3*2 = 17, not 14. The
authors confirmed the error (github.com/vdumoulin/conv_arithmetic/issues/17). The correct
stride-2 output, worked out by hand below, is [[6,17,3],[8,17,13],[6,4,4]]; the lecture's printed
numbers are checked for what they are: the stride-1 output's corner.
"""
import numpy as np
import pytest

import faltung
from tests.conftest import assert_close

# the lecture's 5x5 input and 3x3 kernel (the kernel is the subscript pattern in its figures)
IMAGE = np.array([[3, 3, 2, 1, 0],
                  [0, 0, 1, 3, 1],
                  [3, 1, 2, 2, 3],
                  [2, 0, 0, 2, 2],
                  [2, 0, 0, 0, 1]])
KERNEL = np.array([[0, 1, 2],
                   [2, 2, 0],
                   [0, 1, 2]])


def _nchw(a, dtype):
    return np.asarray(a, dtype=dtype)[None, None]


def test_lecture_example_valid(backend, dtype):
    """'Beispiel Faltungsschicht': no padding, stride 1."""
    y = faltung.conv2d(_nchw(IMAGE, dtype), _nchw(KERNEL, dtype))
    assert_close(y, _nchw([[12, 12, 17], [10, 17, 19], [9, 6, 14]], np.float64),
                 dtype=dtype, kind="exact")


def test_lecture_example_valid_string_padding(backend, dtype):
    y = faltung.conv2d(_nchw(IMAGE, dtype), _nchw(KERNEL, dtype), padding="valid")
    assert_close(y, _nchw([[12, 12, 17], [10, 17, 19], [9, 6, 14]], np.float64),
                 dtype=dtype, kind="exact")


def test_lecture_example_padding1_stride2(backend, dtype):
    """'Beispiel Faltungsschicht mit 2er-Schritten und Zeropadding', worked by hand from the
    padded 7x7 image (see the module docstring for why the figure's printed numbers differ).

    Row 0 of the output (padded rows 0..2; row 0 all zeros):
      cols 0..2: [0,3,3]*[2,2,0] + [0,0,0]*[0,1,2]               = 6
      cols 2..4: [3,2,1]*[2,2,0] + [0,1,3]*[0,1,2]               = 10 + 7 = 17
      cols 4..6: [1,0,0]*[2,2,0] + [3,1,0]*[0,1,2]               = 2 + 1 = 3
    Row 1 (padded rows 2..4):
      cols 0..2: [0,0,0]*[0,1,2] + [0,3,1]*[2,2,0] + [0,2,0]*[0,1,2] = 0 + 6 + 2 = 8
      cols 2..4: [0,1,3]*[0,1,2] + [1,2,2]*[2,2,0] + [0,0,2]*[0,1,2] = 7 + 6 + 4 = 17
      cols 4..6: [3,1,0]*[0,1,2] + [2,3,0]*[2,2,0] + [2,2,0]*[0,1,2] = 1 + 10 + 2 = 13
    Row 2 (padded rows 4..6; row 6 all zeros):
      cols 0..2: [0,2,0]*[0,1,2] + [0,2,0]*[2,2,0]               = 2 + 4 = 6
      cols 2..4: [0,0,2]*[0,1,2] + [0,0,0]*[2,2,0]               = 4
      cols 4..6: [2,2,0]*[0,1,2] + [0,1,0]*[2,2,0]               = 2 + 2 = 4
    """
    y = faltung.conv2d(_nchw(IMAGE, dtype), _nchw(KERNEL, dtype), stride=2, padding=1)
    assert_close(y, _nchw([[6, 17, 3], [8, 17, 13], [6, 4, 4]], np.float64),
                 dtype=dtype, kind="exact")


def test_lecture_figure_numbers_are_the_stride1_corner(backend, dtype):
    """The numbers printed in the lecture's stride-2 figure, [[6,14,17],[14,12,12],[8,10,17]],
    are the top-left corner of the padding-1, stride-1 output (5x5)."""
    y = faltung.conv2d(_nchw(IMAGE, dtype), _nchw(KERNEL, dtype), stride=1, padding=1)
    assert y.shape == (1, 1, 5, 5)
    assert_close(y[:, :, :3, :3], _nchw([[6, 14, 17], [14, 12, 12], [8, 10, 17]], np.float64),
                 dtype=dtype, kind="exact")
    # and stride 2 samples every other pixel of the stride-1 output
    y2 = faltung.conv2d(_nchw(IMAGE, dtype), _nchw(KERNEL, dtype), stride=2, padding=1)
    assert_close(y2, y[:, :, ::2, ::2].astype(np.float64), dtype=dtype, kind="exact")


def test_lecture_curve_detector(backend, dtype):
    """'Ein Filter sucht nach einem spezifischen lokalen Merkmal': 7x7 patches against the 7x7
    curve detector give 6600 (matching patch) and 0 (other patch)."""
    detector = [[0, 0, 0, 0, 0, 30, 0],
                [0, 0, 0, 0, 30, 0, 0],
                [0, 0, 0, 30, 0, 0, 0],
                [0, 0, 0, 30, 0, 0, 0],
                [0, 0, 0, 30, 0, 0, 0],
                [0, 0, 0, 30, 0, 0, 0],
                [0, 0, 0, 0, 0, 0, 0]]
    curve = [[0, 0, 0, 0, 0, 0, 30],
             [0, 0, 0, 0, 50, 50, 50],
             [0, 0, 0, 20, 50, 0, 0],
             [0, 0, 0, 50, 50, 0, 0],
             [0, 0, 0, 50, 50, 0, 0],
             [0, 0, 0, 50, 50, 0, 0],
             [0, 0, 0, 50, 50, 0, 0]]
    other = [[0, 0, 0, 0, 0, 0, 0],
             [0, 40, 0, 0, 0, 0, 0],
             [40, 0, 40, 0, 0, 0, 0],
             [40, 20, 0, 0, 0, 0, 0],
             [0, 50, 0, 0, 0, 0, 0],
             [0, 0, 50, 0, 0, 0, 0],
             [25, 25, 0, 50, 0, 0, 0]]
    x = np.stack([np.asarray(curve, dtype), np.asarray(other, dtype)])[:, None]  # batch of 2
    y = faltung.conv2d(x, _nchw(detector, dtype))
    assert_close(y, np.array([6600.0, 0.0]).reshape(2, 1, 1, 1), dtype=dtype, kind="exact")


def test_true_convolution_lecture_image(backend, dtype):
    """convolve2d flips the kernel: I * w = I (x) w[::-1, ::-1]. The flipped lecture kernel is
    [[2,1,0],[0,2,2],[2,1,0]]; worked by hand (rows of the window times rows of that kernel):
      (0,0): [3,3,2].[2,1,0] + [0,0,1].[0,2,2] + [3,1,2].[2,1,0] = 9 + 2 + 7  = 18
      (0,1): [3,2,1].[2,1,0] + [0,1,3].[0,2,2] + [1,2,2].[2,1,0] = 8 + 8 + 4  = 20
      (0,2): [2,1,0].[2,1,0] + [1,3,1].[0,2,2] + [2,2,3].[2,1,0] = 5 + 8 + 6  = 19
      (1,0): [0,0,1].[2,1,0] + [3,1,2].[0,2,2] + [2,0,0].[2,1,0] = 0 + 6 + 4  = 10
      (1,1): [0,1,3].[2,1,0] + [1,2,2].[0,2,2] + [0,0,2].[2,1,0] = 1 + 8 + 0  = 9
      (1,2): [1,3,1].[2,1,0] + [2,2,3].[0,2,2] + [0,2,2].[2,1,0] = 5 + 10 + 2 = 17
      (2,0): [3,1,2].[2,1,0] + [2,0,0].[0,2,2] + [2,0,0].[2,1,0] = 7 + 0 + 4  = 11
      (2,1): [1,2,2].[2,1,0] + [0,0,2].[0,2,2] + [0,0,0].[2,1,0] = 4 + 4 + 0  = 8
      (2,2): [2,2,3].[2,1,0] + [0,2,2].[0,2,2] + [0,0,1].[2,1,0] = 6 + 8 + 0  = 14
    """
    y = faltung.convolve2d(_nchw(IMAGE, dtype), _nchw(KERNEL, dtype))
    assert_close(y, _nchw([[18, 20, 19], [10, 9, 17], [11, 8, 14]], np.float64),
                 dtype=dtype, kind="exact")


def test_true_convolution_impulse(backend, dtype):
    """The direction of the flip, unmistakably: the impulse kernel [[1,0],[0,0]] correlates to
    the top-left pixel of every window, and convolves (flipped: [[0,0],[0,1]]) to the
    bottom-right one. With 'full' padding (k-1 = 1) the convolution with an impulse at the
    origin reproduces the image: a(x, y) = sum I(x - x', y - y') w(x', y') = I(x, y)."""
    img = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    impulse = [[1, 0], [0, 0]]
    corr = faltung.conv2d(_nchw(img, dtype), _nchw(impulse, dtype))
    assert_close(corr, _nchw([[1, 2], [4, 5]], np.float64), dtype=dtype, kind="exact")
    conv = faltung.convolve2d(_nchw(img, dtype), _nchw(impulse, dtype))
    assert_close(conv, _nchw([[5, 6], [8, 9]], np.float64), dtype=dtype, kind="exact")
    full = faltung.convolve2d(_nchw(img, dtype), _nchw(impulse, dtype), padding=1)
    assert_close(full, _nchw([[1, 2, 3, 0], [4, 5, 6, 0], [7, 8, 9, 0], [0, 0, 0, 0]],
                             np.float64), dtype=dtype, kind="exact")


def test_same_padding_stride2_tensorflow_rule(backend, dtype):
    """TensorFlow's 'same' for stride 2: a 6x6 image (values 1..36, row-major) and a 3x3 kernel of
    ones give out = ceil(6/2) = 3 with total padding (3-1)*2 + 3 - 6 = 1, all of it at the end
    (bottom/right). Windows start at rows/cols 0, 2, 4; the last one covers only rows/cols 4..5.
    Sum of a block = |cols| * sum(6r) + |rows| * sum(c + 1):
      rows {0,1,2}: sum 6r = 18;  rows {2,3,4}: 54;  rows {4,5}: 54 (2 rows)
      cols {0,1,2}: sum(c+1) = 6; cols {2,3,4}: 12;  cols {4,5}: 11 (2 cols)
    (PyTorch-style symmetric padding would shift every window up/left by one.)"""
    x = np.arange(1, 37).reshape(6, 6)
    y = faltung.conv2d(_nchw(x, dtype), np.ones((1, 1, 3, 3), dtype), stride=2, padding="same")
    assert_close(y, _nchw([[72, 90, 69], [180, 198, 141], [174, 186, 130]], np.float64),
                 dtype=dtype, kind="exact")


def test_bias_and_channels_by_hand(backend, dtype):
    """Two input channels, two filters, a bias: 'die Fenster in allen Kanaelen haben die gleiche
    Groesse und Position, aber eigene Gewichte'. Channel 0 is the lecture image, channel 1 all
    ones; filter 0 = (lecture kernel, 0), filter 1 = (0, ones 3x3); bias (1, -2)."""
    x = np.stack([IMAGE, np.ones((5, 5))])[None].astype(dtype)
    w = np.zeros((2, 2, 3, 3), dtype)
    w[0, 0] = KERNEL
    w[1, 1] = 1
    b = np.array([1, -2], dtype)
    y = faltung.conv2d(x, w, b)
    expected = np.array([[[13, 13, 18], [11, 18, 20], [10, 7, 15]],
                         [[7] * 3] * 3], float)[None]
    assert_close(y, expected, dtype=dtype, kind="exact")


@pytest.mark.parametrize("padding", [1, (1, 1), (1, 1, 1, 1), ((1, 1), (1, 1))],
                         ids=["int", "pair", "four", "keras"])
def test_padding_spellings_agree(backend, dtype, padding):
    """Every documented spelling of 'one pixel on each side' gives the same exact result
    (the 5x5 stride-1 padding-1 output; its corner is the lecture figure's numbers)."""
    y = faltung.conv2d(_nchw(IMAGE, dtype), _nchw(KERNEL, dtype), padding=padding)
    assert_close(y, _nchw([[6, 14, 17, 11, 3],
                           [14, 12, 12, 17, 11],
                           [8, 10, 17, 19, 13],
                           [11, 9, 6, 14, 12],
                           [6, 4, 4, 6, 4]], np.float64), dtype=dtype, kind="exact")


def test_backward_by_hand(backend, dtype):
    """The lecture's backpropagation formulas on a 3x3 image and a 2x2 kernel, worked by hand:
    delta^{l-1} = delta^l * w (every output pixel scatters its delta times the kernel back onto
    its window), dC/dw = a^{l-1} (x) delta^l, dC/db = sum delta."""
    x = _nchw([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype)
    w = _nchw([[1, 2], [3, 4]], dtype)
    # an impulse at output (0, 0): the kernel lands on the top-left window, the weight gradient
    # is that window
    gx, gw, gb = faltung.conv2d_backward(_nchw([[1, 0], [0, 0]], dtype), x, w)
    assert_close(gx, _nchw([[1, 2, 0], [3, 4, 0], [0, 0, 0]], np.float64), dtype=dtype,
                 kind="exact")
    assert_close(gw, _nchw([[1, 2], [4, 5]], np.float64), dtype=dtype, kind="exact")
    assert_close(gb, np.array([1.0]), dtype=dtype, kind="exact")
    # delta = ones: grad_w[i, j] = sum of the 2x2 block at (i, j) = 12, 16 / 24, 28;
    # grad_x counts the windows covering each pixel, weighted by the kernel tap that meets it
    gx, gw, gb = faltung.conv2d_backward(np.ones((1, 1, 2, 2), dtype), x, w)
    assert_close(gx, _nchw([[1, 3, 2], [4, 10, 6], [3, 7, 4]], np.float64), dtype=dtype,
                 kind="exact")
    assert_close(gw, _nchw([[12, 16], [24, 28]], np.float64), dtype=dtype, kind="exact")
    assert_close(gb, np.array([4.0]), dtype=dtype, kind="exact")
