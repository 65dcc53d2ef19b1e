"""The backend registry (available_backends / set_backend / FALTUNG_BACKEND / the Numba fallback
with one warning), backends agreeing with each other, and threads."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import BACKENDS, assert_close, random_array
from tests.test_conv2d import random_case


def run_python(code: str, tmp_path, **env_changes) -> dict:
    """Run `code` in a fresh interpreter (outside the repository, so the installed faltung is
    imported) and return the JSON object it prints on its last line."""
    env = {k: v for k, v in os.environ.items() if k != "FALTUNG_BACKEND"}
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"subprocess failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------- registry

def test_available_backends_here():
    names = faltung.available_backends()
    assert isinstance(names, list) and all(isinstance(n, str) for n in names)
    assert "cpp" in names, "the compiled backend must load in the test environment"
    assert "numba" in names, "numba is a dependency: its backend must load here"


def test_default_backend_is_cpp(tmp_path):
    out = run_python("""
        import json, faltung
        print(json.dumps({"backend": faltung.get_backend()}))
    """, tmp_path)
    assert out["backend"] == "cpp"


def test_set_backend_unknown_name():
    before = faltung.get_backend()
    with pytest.raises(ValueError, match=r"(?i)backend.*'nope'"):
        faltung.set_backend("nope")
    assert faltung.get_backend() == before


def test_set_and_get_backend(backend):
    assert faltung.get_backend() == backend


@pytest.mark.parametrize("name", ["numba", "cpp"])
def test_env_var_selects_backend(tmp_path, name):
    out = run_python("""
        import json, numpy as np, faltung
        y = faltung.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)))
        print(json.dumps({"backend": faltung.get_backend(), "y": y.ravel().tolist()}))
    """, tmp_path, FALTUNG_BACKEND=name)
    assert out["backend"] == name
    assert out["y"] == [9.0] * 4


def test_env_var_unknown_backend_is_a_clear_error(tmp_path):
    code = """
        import json
        try:
            import faltung, numpy as np
            faltung.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)))
            result = {"error": None}
        except ValueError as exc:
            result = {"error": str(exc)}
        print(json.dumps(result))
    """
    out = run_python(code, tmp_path, FALTUNG_BACKEND="bogus")
    assert out["error"] is not None and "bogus" in out["error"]


_FALLBACK_CODE = """
    import json, sys, warnings
    {block}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import numpy as np
        import faltung
        available = faltung.available_backends()
        name = faltung.get_backend()
        y = faltung.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)))
        faltung.conv2d(np.ones((1, 1, 4, 4), np.float32), np.ones((1, 1, 3, 3), np.float32))
        g = faltung.gemm(np.ones((2, 3)), np.ones((3, 2)))
        name_again = faltung.get_backend()
    runtime = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    print(json.dumps({{"available": available, "backend": name, "again": name_again,
                      "y": y.ravel().tolist(), "g": g.ravel().tolist(), "warnings": runtime}}))
"""

_BLOCK_SYS_MODULES = 'sys.modules["faltung._core"] = None  # import faltung._core -> ImportError'
_BLOCK_FINDER = """
    class _NoCore:
        def find_spec(self, fullname, path=None, target=None):
            if fullname == "faltung._core":
                raise ImportError("simulated: compiled module missing")
            return None
    sys.meta_path.insert(0, _NoCore())
"""


@pytest.mark.parametrize("block", [_BLOCK_SYS_MODULES, _BLOCK_FINDER],
                         ids=["sys_modules_none", "meta_path_finder"])
def test_fallback_to_numba_warns_once(tmp_path, block):
    code = _FALLBACK_CODE.replace("{block}", textwrap.indent(textwrap.dedent(block), " " * 4)
                                  .lstrip()).replace("{{", "{").replace("}}", "}")
    out = run_python(code, tmp_path)
    assert out["available"] == ["numba"]
    assert out["backend"] == "numba" and out["again"] == "numba"
    assert out["y"] == [9.0] * 4 and out["g"] == [3.0] * 4
    assert len(out["warnings"]) == 1, f"expected exactly one RuntimeWarning, got {out['warnings']}"
    assert "numba" in out["warnings"][0].lower()


def test_set_backend_cpp_when_core_missing_is_a_clear_error(tmp_path):
    out = run_python("""
        import json, sys, warnings
        sys.modules["faltung._core"] = None
        warnings.simplefilter("ignore")
        import faltung
        try:
            faltung.set_backend("cpp")
            result = {"error": None}
        except (RuntimeError, ValueError) as exc:
            result = {"error": str(exc)}
        print(json.dumps(result))
    """, tmp_path)
    assert out["error"] is not None and "cpp" in out["error"]


# ---------------------------------------------------------------------- backends agree

needs_two = pytest.mark.skipif(len(BACKENDS) < 2, reason="only one backend available")


def _by_backend(fn):
    """fn() evaluated once per backend -> {name: result}; restores the backend."""
    before = faltung.get_backend()
    results = {}
    try:
        for name in BACKENDS:
            faltung.set_backend(name)
            results[name] = fn()
    finally:
        faltung.set_backend(before)
    return results


def _assert_all_agree(results, dtype, what, k=None, scales=None):
    """Every backend's result(s) against the first backend's; `scales` (one per result) are the
    magnitudes of the sums (the reference on absolute values)."""
    names = list(results)
    first = results[names[0]]
    first = first if isinstance(first, tuple) else (first,)
    scales = scales if scales is not None else (None,) * len(first)
    for other in names[1:]:
        res = results[other] if isinstance(results[other], tuple) else (results[other],)
        for i, (a, b, s) in enumerate(zip(res, first, scales)):
            assert_close(a, b.astype(np.float64), dtype=dtype, k=k, scale=s,
                         what=f"{what}[{i}]: {other} vs {names[0]}")


@needs_two
@pytest.mark.parametrize("seed", range(3))
def test_backends_agree_conv2d(dtype, seed):
    rng = np.random.default_rng(4000 + seed)
    for _ in range(3):
        case = random_case(rng)
        x = random_array(rng, (case.n, case.c, case.h, case.w), dtype)
        w = random_array(rng, (case.o, case.c // case.groups, case.kh, case.kw), dtype)
        b = random_array(rng, (case.o,), dtype)
        args = (case.stride, case.padding, case.dilation, case.groups)
        geometry = (case.stride, case.pads(), case.dilation, case.groups)
        fwd = _by_backend(lambda: faltung.conv2d(x, w, b, *args))
        fwd_scale = ref.conv2d(np.abs(x), np.abs(w), np.abs(b), *geometry)
        _assert_all_agree(fwd, dtype, f"conv2d {case}", scales=(fwd_scale,))
        gy = random_array(rng, fwd[BACKENDS[0]].shape, dtype)
        bwd = _by_backend(lambda: faltung.conv2d_backward(gy, x, w, *args))
        _assert_all_agree(bwd, dtype, f"conv2d_backward {case}", k=gy.size,
                          scales=ref.conv2d_backward(np.abs(gy), np.abs(x), np.abs(w), *geometry))
        # and both agree with the reference
        expected = ref.conv2d(x, w, b, *geometry)
        for name, y in fwd.items():
            assert_close(y, expected, dtype=dtype, scale=fwd_scale, what=f"{name} {case}")


@needs_two
def test_backends_agree_transpose_and_gemm(dtype, rng):
    x = random_array(rng, (2, 4, 5, 6), dtype)
    w = random_array(rng, (4, 3, 3, 3), dtype)
    b = random_array(rng, (6,), dtype)
    fwd = _by_backend(lambda: faltung.conv_transpose2d(x, w, b, 2, 1, 1, 2))
    _assert_all_agree(fwd, dtype, "conv_transpose2d", scales=(
        ref.conv_transpose2d(np.abs(x), np.abs(w), np.abs(b), 2, 1, 1, 2),))
    a, bb, c = (random_array(rng, s, dtype) for s in ((37, 29), (41, 29), (37, 41)))
    res = _by_backend(lambda: faltung.gemm(a, bb, c, alpha=0.5, beta=2.0, trans_b=True))
    _assert_all_agree(res, dtype, "gemm", scales=(
        ref.gemm(np.abs(a), np.abs(bb), np.abs(c), 0.5, 2.0, False, True),))


# ------------------------------------------------------------------------------- threads

two_cores = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores (Numba's limit)")


@two_cores
def test_num_threads_round_trip(backend, restore_threads):
    for n in (1, 2, 1):
        faltung.set_num_threads(n)
        assert faltung.get_num_threads() == n


@two_cores
def test_num_threads_apply_to_every_backend(restore_threads):
    """set_num_threads sets the threads of every backend, not only the current one."""
    before = faltung.get_backend()
    try:
        for n in (1, 2):
            faltung.set_num_threads(n)
            for name in BACKENDS:
                faltung.set_backend(name)
                assert faltung.get_num_threads() == n, f"{name} after set_num_threads({n})"
    finally:
        faltung.set_backend(before)


@pytest.mark.parametrize("name", ["cpp", "numba"])
def test_omp_num_threads_respected(tmp_path, name):
    out = run_python("""
        import json, numpy as np, faltung
        y = faltung.conv2d(np.ones((1, 2, 6, 6)), np.ones((3, 2, 3, 3)))
        print(json.dumps({"threads": faltung.get_num_threads(), "backend": faltung.get_backend(),
                          "ok": bool((y == 18).all())}))
    """, tmp_path, OMP_NUM_THREADS=1, FALTUNG_BACKEND=name)
    assert out["backend"] == name
    assert out["threads"] == 1
    assert out["ok"]


@two_cores
def test_one_and_two_threads_agree(backend, dtype, rng, restore_threads):
    x = random_array(rng, (2, 16, 20, 19), dtype)
    w = random_array(rng, (24, 8, 3, 3), dtype)
    b = random_array(rng, (24,), dtype)
    a, bb = random_array(rng, (130, 70), dtype), random_array(rng, (70, 90), dtype)
    results = {}
    for n in (1, 2):
        faltung.set_num_threads(n)
        y = faltung.conv2d(x, w, b, 1, 1, 1, 2)
        gy = np.ones_like(y)
        results[n] = (y, *faltung.conv2d_backward(gy, x, w, 1, 1, 1, 2),
                      faltung.gemm(a, bb))
    for i, (one, two) in enumerate(zip(results[1], results[2])):
        assert_close(two, one.astype(np.float64), dtype=dtype, k=760, what=f"output {i}")
    expected = ref.conv2d(x, w, b, 1, 1, 1, 2)
    assert_close(results[2][0], expected, dtype=dtype)


@pytest.mark.parametrize("name", ["cpp", "numba"])
def test_concurrent_calls_from_python_threads(tmp_path, name):
    """Three Python threads calling kernels at once get the right answers (the GIL is released
    around compiled kernels; nothing may be shared between concurrent calls). Run in a
    subprocess: a threading-layer abort must fail this test, not kill the test session."""
    out = run_python("""
        import json, threading, numpy as np, faltung
        from numpy.lib.stride_tricks import sliding_window_view
        rng = np.random.default_rng(7)
        x = rng.standard_normal((2, 8, 16, 16))
        w = rng.standard_normal((8, 8, 3, 3))
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        expected = np.einsum("nchwij,ocij->nohw", sliding_window_view(xp, (3, 3), axis=(2, 3)), w)
        a, b = rng.standard_normal((40, 30)), rng.standard_normal((30, 20))
        faltung.set_num_threads(1)
        errors = []
        def work():
            try:
                for _ in range(5):
                    err = np.abs(faltung.conv2d(x, w, padding=1) - expected).max()
                    assert err < 1e-10 * np.abs(expected).max(), err
                    assert np.abs(faltung.gemm(a, b) - a @ b).max() < 1e-12 * 30
            except Exception as exc:
                errors.append(repr(exc))
        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(json.dumps({"backend": faltung.get_backend(), "errors": errors}))
    """, tmp_path, FALTUNG_BACKEND=name)
    assert out["backend"] == name
    assert out["errors"] == []
