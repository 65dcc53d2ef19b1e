"""Golden tests of pooling: the lecture's worked examples (../shared/seeds/000_*.txt, "Beispiel
Max-Pooling" and "Rückwärtsgang bei Max-Pooling") with literal expected values, never computed by
faltung. Every value is a literal rounded to the dtype under test, and pooling only moves or
halves values, so every backend must reproduce them exactly."""
import numpy as np

import faltung
from tests.conftest import assert_close

# "Rückwärtsgang bei Max-Pooling": 4x4 activations, 2x2 max pooling with stride 2
ACTIVATIONS = [[0.1, 0.5, 1.2, -0.7],
               [0.8, -0.2, -0.5, 0.3],
               [0.4, 0.9, -0.1, -0.2],
               [-0.6, 0.1, 0.5, 0.3]]
POOLED = [[0.8, 1.2],
          [0.9, 0.5]]
GRADIENTS = [[1.3, 0.5],
             [0.4, 0.1]]
# "max locations": each gradient lands on its window's maximum, zeros elsewhere
ROUTED = [[0, 0, 0.5, 0],
          [1.3, 0, 0, 0],
          [0, 0.4, 0, 0],
          [0, 0, 0.1, 0]]


def _nchw(a, dtype):
    return np.asarray(a, dtype=dtype)[None, None]


def test_lecture_max_pool_backward_example(backend, dtype):
    x = _nchw(ACTIVATIONS, dtype)
    y, idx = faltung.max_pool2d(x, 2, 2, return_indices=True)
    assert_close(y, _nchw(POOLED, dtype).astype(np.float64), dtype=dtype, kind="exact")
    # the mask: flat positions within the 4x4 plane
    np.testing.assert_array_equal(idx, np.array([[[[4, 2], [9, 14]]]]))
    gx = faltung.max_pool2d_backward(_nchw(GRADIENTS, dtype), x, idx, 2, 2)
    assert_close(gx, _nchw(ROUTED, dtype).astype(np.float64), dtype=dtype, kind="exact")


def test_lecture_avg_pool_backward_spreads_a_quarter(backend, dtype):
    """'Bei Durchschnittspooling wird der Fehler auf alle 4 Ursprungspixel mit dem Faktor 1/4
    verteilt.' The same gradients, spread over their 2x2 windows."""
    x = _nchw(ACTIVATIONS, dtype)
    g = _nchw(GRADIENTS, dtype)
    gx = faltung.avg_pool2d_backward(g, x, 2, 2)
    quarter = _nchw([[1.3, 1.3, 0.5, 0.5], [1.3, 1.3, 0.5, 0.5],
                     [0.4, 0.4, 0.1, 0.1], [0.4, 0.4, 0.1, 0.1]], dtype) / 4
    assert_close(gx, quarter.astype(np.float64), dtype=dtype, kind="exact")


def test_lecture_max_pool_example_cs231n(backend, dtype):
    """'Beispiel Max-Pooling' (max pool with 2x2 filters and stride 2 -> [[6, 8], [3, 4]]); the
    input is the figure's (CS231n) 4x4 grid."""
    x = _nchw([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype)
    assert_close(faltung.max_pool2d(x, 2), _nchw([[6, 8], [3, 4]], np.float64), dtype=dtype,
                 kind="exact")
    assert_close(faltung.avg_pool2d(x, 2), _nchw([[13 / 4, 21 / 4], [2, 2]], np.float64),
                 dtype=dtype, kind="exact")
