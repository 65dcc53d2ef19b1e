"""Conv2dParams as the Numba kernels read it: the twin of the struct in
cpp/include/faltung/params.hpp. Numba cannot call the properties of faltung._params.Conv2dParams,
so ``Params`` holds its fields plus, as fields, the values the C++ derives in member functions
(same names), all plain ints so that every kernel compiles once per dtype. Validation stays in
faltung/_params.py."""
from __future__ import annotations

from collections import namedtuple

from faltung._params import Conv2dParams

DERIVED = ("in_channels_per_group", "out_channels_per_group", "col_rows", "out_pixels",
           "in_pixels", "is_pointwise")

Params = namedtuple("Params", Conv2dParams._fields + DERIVED)


def kernel_params(p: Conv2dParams) -> Params:
    """The Params of a validated Conv2dParams (is_pointwise as 0 or 1)."""
    derived = (p.in_channels_per_group, p.out_channels_per_group, p.col_rows, p.out_h * p.out_w,
               p.in_h * p.in_w, p.is_pointwise)
    return Params(*(int(v) for v in tuple(p) + derived))
