"""The backend registry. A backend is an object with these methods, all of which take
C-contiguous arrays of one dtype (float32 or float64), write into preallocated outputs and
trust their arguments (python/faltung/functional/ validated them):

    gemm(trans_a, trans_b, alpha, a, b, beta, c)          c = alpha*op(a)@op(b) + beta*c
    set_num_threads(n), get_num_threads()

Convolution (``params`` is a faltung._params.Conv2dParams):

    conv2d_forward(y, x, w, bias_or_None, params, relu=False)   y = conv + bias (then max(., 0))
    conv2d_backward_input(grad_x, grad_y, w, params)
    conv2d_backward_weight(grad_w, grad_y, x, params)
    conv2d_backward_bias(grad_b, grad_y, params)
    depthwise_forward(y, x, w, bias_or_None, params, relu=False)   params: groups == in_channels
    depthwise_backward_input(grad_x, grad_y, w, params)
    depthwise_backward_weight(grad_w, grad_y, x, params)
    separable_forward(y, x, dw, pw, bias_or_None, params, pointwise_params)

Pooling (``pool_params`` is a faltung._pool_params.Pool2dParams):

    max_pool2d_forward(y, indices_or_None, x, pool_params)
    max_pool2d_backward(grad_x, grad_y, indices, pool_params)   ValueError for bad indices
    avg_pool2d_forward(y, x, pool_params), avg_pool2d_backward(grad_x, grad_y, pool_params)
    lp_pool2d_forward(y, x, norm_type, pool_params)
    lp_pool2d_backward(grad_x, grad_y, x, norm_type, pool_params)

Normalization (``shape`` is (N, C, S), S the product of the spatial sizes: functional/norm.py):

    batch_norm_forward_train(y, save_mean, save_invstd, running_mean|None, running_var|None,
                             x, weight|None, bias|None, shape, eps, momentum)
    batch_norm_forward_eval(y, x, running_mean, running_var, weight|None, bias|None, shape, eps)
    batch_norm_backward(training, grad_x|None, grad_w|None, grad_b|None, grad_y, x,
                        stat1|None, stat2|None, weight|None, shape, eps)
    lrn(y_or_grad_x, grad_y|None, x, shape, size, alpha, beta, k)     grad_y None: forward
    lcn(y_or_grad_x, grad_y|None, x, shape, eps)
"""
from __future__ import annotations

import importlib
import os
import warnings

# name -> module that defines BACKEND
_KNOWN = {"cpp": "faltung.backends.cpp", "numba": "faltung.backends.numba_backend"}
_loaded: dict = {}
_import_errors: dict[str, str] = {}
_current = None


def _load(name: str):
    if name in _loaded:
        return _loaded[name]
    if name in _import_errors:
        return None
    try:
        module = importlib.import_module(_KNOWN[name])
    except ImportError as exc:  # the compiled module or numba is missing
        _import_errors[name] = f"{type(exc).__name__}: {exc}"
        return None
    _loaded[name] = module.BACKEND
    return module.BACKEND


def available_backends() -> list[str]:
    """Names of the backends that can run here."""
    return [name for name in _KNOWN if _load(name) is not None]


def set_backend(name: str) -> None:
    """Make `name` ("cpp" or "numba") the backend every kernel call uses."""
    global _current
    if name not in _KNOWN:
        raise ValueError(f"backend: expected one of {sorted(_KNOWN)}, got {name!r}")
    backend = _load(name)
    if backend is None:
        raise RuntimeError(f"backend {name!r} cannot be loaded here: {_import_errors[name]}")
    _current = backend


def get_backend() -> str:
    """Name of the backend in use."""
    return current().name


def current():
    """The backend object in use (chosen on first use: FALTUNG_BACKEND, else cpp, else numba)."""
    global _current
    if _current is None:
        requested = os.environ.get("FALTUNG_BACKEND")
        if requested:
            set_backend(requested)
        elif _load("cpp") is not None:
            _current = _loaded["cpp"]
        else:
            warnings.warn(
                "faltung: the compiled backend could not be imported "
                f"({_import_errors.get('cpp')}); using the Numba fallback", RuntimeWarning,
                stacklevel=3)
            set_backend("numba")
    return _current


def get(name: str):
    """The backend object called `name` (for tests and benchmarks comparing backends)."""
    if name not in _KNOWN:
        raise ValueError(f"backend: expected one of {sorted(_KNOWN)}, got {name!r}")
    backend = _load(name)
    if backend is None:
        raise RuntimeError(f"backend {name!r} cannot be loaded here: {_import_errors[name]}")
    return backend


def loaded_backends():
    """Backends imported so far (set_num_threads applies to each)."""
    return list(_loaded.values())
