"""Max-pool forward on the channel-blocked tiles (cpp/cpu/pool_max_blocked.cpp: float32 on
AVX-512, kernels of 9 or more taps on planes of at most 112x112 pixels; other machines and types
take the row path, which these cases check just the same): blocks of 16 planes cut at every
place (15, 16, 17, 33 planes, blocks spanning two images), planes smaller than one 16-pixel
transpose block, the 112x112 boundary of the rule and one pixel row past it, padding, ceil_mode
windows past the input's end, dilation, rectangular kernels; values and indices against the
float64 reference, including NaN, +-Inf and ties inside the tiles. In a fresh interpreter per
ISA too (FALTUNG_ISA), since the tiles exist only in the AVX-512 build of the kernels."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close
from tests.test_backends import run_python
from tests.test_isa import _available_isas

# name: (shape, kernel, stride, padding, dilation, ceil_mode)
TILE_CASES = {
    "c15_3x3s2": ((1, 15, 13, 13), 3, 2, 0, 1, False),
    "c16_3x3s2": ((1, 16, 13, 13), 3, 2, 0, 1, False),
    "c17_3x3s2": ((1, 17, 13, 13), 3, 2, 0, 1, False),
    "n2_c15_blocks_span_images": ((2, 15, 11, 12), 3, 2, 0, 1, False),
    "c33_3x3s2_pad1_ceil": ((1, 33, 14, 14), 3, 2, 1, 1, True),
    "c16_3x3s2_ceil_past_end": ((1, 16, 10, 12), 3, 2, 0, 1, True),
    "c17_3x3s1_pad1_dilation2": ((1, 17, 9, 10), 3, 1, 2, 2, False),
    "c16_5x5s3_pad2_ceil": ((1, 16, 17, 16), 5, 3, 2, 1, True),
    "c16_rect_3x4_stride_2x1": ((1, 16, 9, 12), (3, 4), (2, 1), (1, 0), 1, False),
    "c16_plane_under_16_pixels": ((1, 16, 3, 4), 3, 1, 1, 1, False),
    "c17_64x64": ((1, 17, 64, 64), 3, 2, 0, 1, False),
    "c2_112x112_rule_edge": ((1, 2, 112, 112), 3, 2, 1, 1, False),
    "c2_113x112_past_rule": ((1, 2, 113, 112), 3, 2, 1, 1, False),
}


def _pads(case):
    shape, kernel, stride, padding, dilation, _ = case
    kh, kw = ref._pair(kernel)
    return ref.api_pads(padding, shape[2], shape[3], kh, kw, stride, dilation)


def _check(x, case, what):
    shape, kernel, stride, padding, dilation, ceil_mode = case
    y, idx = faltung.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, True)
    ry, ridx = ref.max_pool2d(x, kernel, stride, _pads(case), dilation, ceil_mode)
    assert_close(y, ry, dtype=x.dtype, kind="exact", what=f"{what} values")
    np.testing.assert_array_equal(idx, ridx, err_msg=f"{what} indices")
    values = faltung.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    assert_close(values, ry, dtype=x.dtype, kind="exact", what=f"{what} values without indices")


def _special(rng, shape, dtype):
    """Ties everywhere ({-1, 0, 1}), with NaN, -inf and +inf sprinkled (an eighth each), the
    first rows all -inf and the first plane all -inf (whole windows of -inf)."""
    x = rng.integers(-1, 2, shape).astype(dtype)
    flat = x.reshape(-1)
    picks = rng.choice(flat.size, size=3 * (flat.size // 8), replace=False)
    third = len(picks) // 3
    flat[picks[:third]] = np.nan
    flat[picks[third:2 * third]] = -np.inf
    flat[picks[2 * third:]] = np.inf
    x[..., :min(3, shape[2] // 2), :] = -np.inf
    x[:, 0] = -np.inf
    return x


@pytest.mark.parametrize("name", list(TILE_CASES))
def test_tiles_random(backend, dtype, rng, name):
    case = TILE_CASES[name]
    _check(rng.standard_normal(case[0]).astype(dtype), case, name)


@pytest.mark.parametrize("name", list(TILE_CASES))
def test_tiles_ties_nan_inf(backend, dtype, rng, name):
    case = TILE_CASES[name]
    x = _special(rng, case[0], dtype)
    ry, _ = ref.max_pool2d(x, case[1], case[2], _pads(case), case[4], case[5])
    assert np.isnan(ry).any() and np.isneginf(ry).any()
    _check(x, case, name)


def test_tiles_nan_then_larger_values(backend, dtype):
    """A NaN early in a window followed by larger values, and +inf meeting -inf without any NaN
    (the values-only scan's sum is NaN there; the exact rescan must still give +inf)."""
    x = np.zeros((1, 16, 13, 13), dtype)
    x[:, :, 0, 0] = np.nan
    x[:, :, 1, 1] = 5.0
    x[:, 3, 0, 0] = -np.inf
    x[:, 3, 2, 2] = np.inf
    _check(x, ((1, 16, 13, 13), 3, 2, 0, 1, False), "nan_then_larger")


@pytest.mark.parametrize("isa", ["avx512", "avx2", "generic"])
def test_tiles_per_isa(tmp_path, isa):
    if isa not in _available_isas():
        pytest.skip(f"this CPU cannot run the {isa} kernels")
    out = run_python(f"""
        import json, numpy as np, faltung
        rng = np.random.default_rng(7)
        results = {{}}
        for i, (shape, k, s, p, d, c) in enumerate({list(TILE_CASES.values())!r}):
            for j, x in enumerate([rng.standard_normal(shape).astype(np.float32),
                                   rng.integers(-1, 2, shape).astype(np.float32)]):
                x.reshape(-1)[rng.choice(x.size, x.size // 9, replace=False)] = np.nan
                results[f"x{{i}}_{{j}}"] = x
                results[f"y{{i}}_{{j}}"], results[f"idx{{i}}_{{j}}"] = faltung.max_pool2d(
                    x, k, s, p, d, c, True)
                results[f"v{{i}}_{{j}}"] = faltung.max_pool2d(x, k, s, p, d, c)
        np.savez(r"{tmp_path / 'results.npz'}", **results)
        print(json.dumps({{"isa": faltung.gemm_kernel_name(), "backend": faltung.get_backend()}}))
    """, tmp_path, FALTUNG_ISA=isa, FALTUNG_BACKEND="cpp")
    assert out == {"isa": isa, "backend": "cpp"}
    got = np.load(tmp_path / "results.npz")
    for i, case in enumerate(TILE_CASES.values()):
        for j in range(2):
            x = got[f"x{i}_{j}"]
            ry, ridx = ref.max_pool2d(x, case[1], case[2], _pads(case), case[4], case[5])
            assert_close(got[f"y{i}_{j}"], ry, dtype=np.float32, kind="exact", what=f"{i} {j}")
            assert_close(got[f"v{i}_{j}"], ry, dtype=np.float32, kind="exact", what=f"{i} {j}")
            np.testing.assert_array_equal(got[f"idx{i}_{j}"], ridx, err_msg=f"{i} {j}")
