"""The AVX-512 pooling loops (cpp/cpu/pool_kernels_avx512.cpp, float32; other machines and types
take the portable loops, which these cases check just the same): 2x2/2 windows tiling whole rows
(max and average forward, max backward) and global average pooling. The loops work in vectors of
16 outputs that read and write past a row's end inside the plane or block and mask only there,
so the cases cut rows at every vector boundary (1, 7, 8, 9, 15, 16, 17, 28 and 33 outputs per
row), tall batches cut into blocks of 64 output rows, odd heights and widths (rows or columns no
window covers), ties, NaN and +-inf, backward indices that name a cell outside their own window
(the scatter fallback) in the first and in the last row; average pooling 3x3/1 with padding 1
(box sums, forward and backward) on planes 1 to 35 wide and 1 to 5 high, with every divisor rule;
max-pool backward of 3x3/2 windows on planes 112 columns and wider (the row-by-row gather:
shared cells, padding 0 and 1, ceil_mode, foreign indices); in a fresh interpreter per ISA too."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close, random_array
from tests.test_backends import run_python
from tests.test_isa import _available_isas

WIDTHS = [1, 7, 8, 9, 15, 16, 17, 28, 33]   # output columns
SHAPES = [(2, 3, 6, 2 * ow) for ow in WIDTHS] + [
    (1, 40, 4, 14),     # 80 output rows: one tall plane cut into blocks of 64
    (2, 3, 7, 16),      # odd height: the bottom row lies in no window (plane by plane)
    (2, 3, 6, 17),      # odd width: the last column lies in no window
    (2, 3, 8, 10),      # 4 rows of 5 windows: two pairs of rows per vector step (backward)
    (1, 2, 10, 16),     # 5 rows of 8 windows: two pairs and a single row
]
IDS = ["x".join(map(str, s)) for s in SHAPES]


def _special(rng, shape, dtype):
    """Ties everywhere ({-1, 0, 1}) with NaN, -inf and +inf sprinkled (a tenth each) and one
    plane of -inf only."""
    x = rng.integers(-1, 2, shape).astype(dtype)
    flat = x.reshape(-1)
    picks = rng.choice(flat.size, size=3 * (flat.size // 10), replace=False)
    third = len(picks) // 3
    flat[picks[:third]] = np.nan
    flat[picks[third:2 * third]] = -np.inf
    flat[picks[2 * third:]] = np.inf
    x[0, 0] = -np.inf
    return x


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_max_2x2_forward(backend, dtype, rng, shape):
    for x in (random_array(rng, shape, dtype), _special(rng, shape, dtype)):
        ry, ridx = ref.max_pool2d(x, 2, 2)
        assert_close(faltung.max_pool2d(x, 2), ry, dtype=dtype, kind="exact", what="values")
        y, idx = faltung.max_pool2d(x, 2, return_indices=True)
        assert_close(y, ry, dtype=dtype, kind="exact", what="values with indices")
        np.testing.assert_array_equal(idx, ridx)


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_avg_2x2_forward(backend, dtype, rng, shape):
    x = random_array(rng, shape, dtype)
    assert_close(faltung.avg_pool2d(x, 2), ref.avg_pool2d(x, 2), dtype=dtype)
    x = _special(rng, shape, dtype)   # NaN and +-inf propagate as in the sum
    with np.errstate(invalid="ignore"):
        assert_close(faltung.avg_pool2d(x, 2), ref.avg_pool2d(x, 2), dtype=dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_max_2x2_backward(backend, dtype, rng, shape):
    """Each cell gets its window's gradient or 0: exact, NaN gradients included."""
    x = _special(rng, shape, dtype)
    _, idx = faltung.max_pool2d(x, 2, return_indices=True)
    gy = random_array(rng, idx.shape, dtype)
    gy.reshape(-1)[::5] = np.nan
    gx = faltung.max_pool2d_backward(gy, x, idx, 2)
    expected = ref.max_pool2d_backward(gy, x.shape, idx)
    assert_close(gx, expected, dtype=dtype, kind="exact")


@pytest.mark.parametrize("where", ["first", "last", "second_of_pair"])
@pytest.mark.parametrize("shape", [(2, 3, 6, 14), (1, 2, 4, 66)], ids=["7wide", "33wide"])
def test_max_2x2_backward_foreign_index(backend, dtype, rng, shape, where):
    """An index naming a cell of another window (valid in the plane, not what max_pool2d returns)
    in the first or last window of a plane, or in the last window of the second row of a pair of
    rows that share a vector step (rows of at most 8 windows): that plane is scattered instead,
    the result is the same rule (grad_x[index] += grad_y)."""
    x = random_array(rng, shape, dtype)
    _, idx = faltung.max_pool2d(x, 2, return_indices=True)
    plane = idx[1 if shape[0] > 1 else 0, 1]
    if where == "first":
        plane[0, 0] = shape[3] + 3           # a cell of window (0, 1)
    elif where == "second_of_pair":
        plane[1, -1] = 1                     # a cell of window (0, 0)
    else:
        plane[-1, -1] = 0                    # the plane's first cell
    gy = random_array(rng, idx.shape, dtype)
    gx = faltung.max_pool2d_backward(gy, x, idx, 2)
    assert_close(gx, ref.max_pool2d_backward(gy, x.shape, idx), dtype=dtype,
                 scale=ref.max_pool2d_backward(np.abs(gy), x.shape, idx))


@pytest.mark.parametrize("hw", [(1, 1), (3, 5), (4, 4), (1, 17), (4, 8), (7, 7), (5, 13), (10, 10)])
def test_global_avg_plane_sizes(backend, dtype, rng, hw):
    """Planes of 1 to 100 values: vector tails of every length."""
    x = random_array(rng, (2, 17, *hw), dtype)   # 34 planes: two blocks of 16 and a rest
    x[1, 2, 0, 0] = np.nan
    x[1, 3, -1, -1] = np.inf
    expected = x.astype(np.float64).mean(axis=(2, 3), keepdims=True)
    assert_close(faltung.global_avg_pool2d(x), expected, dtype=dtype,
                 scale=np.abs(np.nan_to_num(x.astype(np.float64))).mean(axis=(2, 3), keepdims=True))


BOX_SHAPES = [(2, 3, 5, w) for w in (1, 2, 15, 16, 17, 32, 33, 35)] + [
    (1, 2, 1, 7), (1, 2, 2, 18), (1, 2, 3, 3), (3, 7, 9, 9)]
BOX_MODES = {"count_pad": {}, "divisor_override": {"divisor_override": 5},
             "real_cells_only": {"count_include_pad": False}}


@pytest.mark.parametrize("mode", list(BOX_MODES))
@pytest.mark.parametrize("shape", BOX_SHAPES, ids=["x".join(map(str, s)) for s in BOX_SHAPES])
def test_avg_3x3_stride1_pad1(backend, dtype, rng, shape, mode):
    kw = BOX_MODES[mode]
    x = random_array(rng, shape, dtype)
    x.reshape(-1)[::11] = np.inf
    x.reshape(-1)[5::13] = np.nan
    with np.errstate(invalid="ignore"):
        expected = ref.avg_pool2d(x, 3, 1, 1, **kw)
    assert_close(faltung.avg_pool2d(x, 3, 1, 1, **kw), expected, dtype=dtype)
    gy = random_array(rng, shape, dtype)
    assert_close(faltung.avg_pool2d_backward(gy, x, 3, 1, 1, **kw),
                 ref.avg_pool2d_backward(gy, shape, 3, 1, 1, **kw), dtype=dtype)


GATHER_SHAPES = [(1, 2, 7, 112), (1, 2, 6, 113), (2, 1, 5, 130), (1, 1, 3, 200)]


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("padding", [0, 1])
@pytest.mark.parametrize("shape", GATHER_SHAPES, ids=["x".join(map(str, s)) for s in GATHER_SHAPES])
def test_max_3x3s2_backward_wide(backend, dtype, rng, shape, padding, ceil_mode):
    """Ties put many maxima on the cells neighbouring windows share: their gradients add up."""
    for x in (random_array(rng, shape, dtype), _special(rng, shape, dtype)):
        _, idx = faltung.max_pool2d(x, 3, 2, padding, 1, ceil_mode, True)
        gy = random_array(rng, idx.shape, dtype)
        gx = faltung.max_pool2d_backward(gy, x, idx, 3, 2, padding, 1, ceil_mode)
        assert_close(gx, ref.max_pool2d_backward(gy, x.shape, idx), dtype=dtype,
                     scale=ref.max_pool2d_backward(np.abs(gy), x.shape, idx))


@pytest.mark.parametrize("where", ["first", "last", "outside_plane_row"])
def test_max_3x3s2_backward_wide_foreign_index(backend, dtype, rng, where):
    """An index outside its own window sends its plane to the scatter, with the same result;
    one naming the cell just past a row's end (the next row's first) too."""
    shape = (1, 2, 7, 112)
    x = random_array(rng, shape, dtype)
    _, idx = faltung.max_pool2d(x, 3, 2, return_indices=True)
    plane = idx[0, 1]
    if where == "first":
        plane[0, 0] = 5 * 112 + 50
    elif where == "last":
        plane[-1, -1] = 0
    else:
        plane[0, -1] = 112   # window (0, 54) covers columns 108..110 of rows 0..2
    gy = random_array(rng, idx.shape, dtype)
    gx = faltung.max_pool2d_backward(gy, x, idx, 3, 2)
    assert_close(gx, ref.max_pool2d_backward(gy, x.shape, idx), dtype=dtype,
                 scale=ref.max_pool2d_backward(np.abs(gy), x.shape, idx))


@pytest.mark.parametrize("isa", ["avx512", "avx2", "generic"])
def test_vector_paths_per_isa(tmp_path, isa):
    """The same cases in a fresh interpreter per FALTUNG_ISA: the AVX-512 loops exist only there."""
    if isa not in _available_isas():
        pytest.skip(f"this CPU cannot run the {isa} kernels")
    out = run_python(f"""
        import json, numpy as np, faltung
        rng = np.random.default_rng(3)
        r = {{}}
        for i, shape in enumerate({SHAPES!r}):
            x = rng.integers(-2, 3, shape).astype(np.float32)
            x.reshape(-1)[rng.choice(x.size, x.size // 9, replace=False)] = np.nan
            y, idx = faltung.max_pool2d(x, 2, return_indices=True)
            gy = rng.standard_normal(idx.shape).astype(np.float32)
            r[f"x{{i}}"], r[f"gy{{i}}"], r[f"idx{{i}}"] = x, gy, idx
            r[f"v{{i}}"] = faltung.max_pool2d(x, 2)
            r[f"a{{i}}"] = faltung.avg_pool2d(np.nan_to_num(x), 2)
            r[f"gx{{i}}"] = faltung.max_pool2d_backward(gy, x, idx, 2)
            r[f"m{{i}}"] = faltung.global_avg_pool2d(np.nan_to_num(x))
            r[f"b{{i}}"] = faltung.avg_pool2d(np.nan_to_num(x), 3, 1, 1)
            r[f"bg{{i}}"] = faltung.avg_pool2d_backward(gy[..., :1, :1] + x * 0, x, 3, 1, 1)
        for i, shape in enumerate({GATHER_SHAPES!r}):
            x = rng.integers(-2, 3, shape).astype(np.float32)
            _, idx = faltung.max_pool2d(x, 3, 2, 1, 1, True, True)
            gy = rng.standard_normal(idx.shape).astype(np.float32)
            r[f"wx{{i}}"], r[f"wgy{{i}}"], r[f"widx{{i}}"] = x, gy, idx
            r[f"wgx{{i}}"] = faltung.max_pool2d_backward(gy, x, idx, 3, 2, 1, 1, True)
        np.savez(r"{tmp_path / 'results.npz'}", **r)
        print(json.dumps({{"isa": faltung.gemm_kernel_name()}}))
    """, tmp_path, FALTUNG_ISA=isa, FALTUNG_BACKEND="cpp")
    assert out == {"isa": isa}
    got = np.load(tmp_path / "results.npz")
    f32 = np.float32
    for i, shape in enumerate(SHAPES):
        x, idx, gy = got[f"x{i}"], got[f"idx{i}"], got[f"gy{i}"]
        ry, ridx = ref.max_pool2d(x, 2, 2)
        np.testing.assert_array_equal(idx, ridx, err_msg=str(shape))
        assert_close(got[f"v{i}"], ry, dtype=f32, kind="exact", what=str(shape))
        x0 = np.nan_to_num(x)
        assert_close(got[f"a{i}"], ref.avg_pool2d(x0, 2), dtype=f32, what=str(shape))
        assert_close(got[f"gx{i}"], ref.max_pool2d_backward(gy, x.shape, idx), dtype=f32,
                     kind="exact", what=str(shape))
        assert_close(got[f"b{i}"], ref.avg_pool2d(x0, 3, 1, 1), dtype=f32, what=str(shape))
        if i < len(GATHER_SHAPES):
            wgy, widx = got[f"wgy{i}"], got[f"widx{i}"]
            _, ridx = ref.max_pool2d(got[f"wx{i}"], 3, 2, 1, 1, True)
            np.testing.assert_array_equal(widx, ridx)
            assert_close(got[f"wgx{i}"], ref.max_pool2d_backward(wgy, got[f"wx{i}"].shape, widx),
                         dtype=f32, scale=ref.max_pool2d_backward(np.abs(wgy), got[f"wx{i}"].shape,
                                                                  widx))
        g = gy[..., :1, :1] + x * 0
        with np.errstate(invalid="ignore"):
            assert_close(got[f"bg{i}"], ref.avg_pool2d_backward(g, x.shape, 3, 1, 1), dtype=f32,
                         what=str(shape))
        assert_close(got[f"m{i}"], x0.astype(np.float64).mean(axis=(2, 3), keepdims=True),
                     dtype=f32, scale=np.abs(x0.astype(np.float64)).mean(axis=(2, 3), keepdims=True),
                     what=str(shape))
