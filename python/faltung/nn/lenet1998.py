"""The layers of LeNet-5 as published (LeCun, Bottou, Bengio, Haffner 1998, section II.B):

* PartialConv2d: a convolution where output map j sees only the input maps of a connection
  table (C3: Table I, 60 of the 96 pairs). The weight holds one kernel per connection,
  (connections, kh, kw), so only real connections count as parameters.
* Subsampling: S2/S4: the 2x2 window's four inputs added, multiplied by a trainable
  coefficient per map, plus a trainable bias per map (2 parameters per map).
* ScaledTanh: the squashing function f(a) = A tanh(S a), A = 1.7159, S = 2/3 (Appendix A).
* RBFOutput: the Euclidean RBF units y_i = sum_j (x_j - w_ij)^2 with FIXED centres (a
  buffer, not trainable: the paper chose them by hand and kept them fixed).
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .._params import positive_int
from .._validation import as_float_array
from . import init
from .module import Module
from .parameter import Parameter


class PartialConv2d(Module):
    """conv2d with a connection table: `table[j]` lists the input maps output map j sees.
    weight (connections, kh, kw), in the order of the table; bias (out,)."""

    def __init__(self, in_channels, table, kernel_size, *, dtype=np.float32, rng=None):
        super().__init__()
        in_channels = positive_int(in_channels, "in_channels")
        kernel = positive_int(kernel_size, "kernel_size")
        pairs = [(j, i) for j, inputs in enumerate(table) for i in inputs]
        if not pairs or any(not 0 <= i < in_channels for _, i in pairs):
            raise ValueError(f"table: expected lists of input maps in 0..{in_channels - 1}, "
                             f"got {table!r}")
        self.out_index = np.array([j for j, _ in pairs])
        self.in_index = np.array([i for _, i in pairs])
        self.shape = (len(table), in_channels, kernel, kernel)
        # PyTorch's bound 1/sqrt(fan_in), fan_in = the connections of the output map * k * k
        bounds = np.array([(len(inputs) * kernel * kernel) ** -0.5 for inputs in table])
        generator = init.generator(rng)
        weight = generator.uniform(-1, 1, (len(pairs), kernel, kernel)) * bounds[
            self.out_index, None, None]
        self.weight = Parameter(weight.astype(dtype))
        self.bias = Parameter((generator.uniform(-1, 1, len(table)) * bounds).astype(dtype))

    def _dense(self):
        dense = np.zeros(self.shape, self.weight.dtype)
        dense[self.out_index, self.in_index] = self.weight.data
        return dense

    def forward(self, x):
        dense = self._dense()
        y = F.conv2d(x, dense, self.bias.data)
        self.save_for_backward(x, dense)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        x, dense = self.saved()
        gx, gw, gb = F.conv2d_backward(grad_out, x, dense,
                                       needs_input_grad=(input_grad, True, True))
        self.accumulate_weight_and_bias(gw[self.out_index, self.in_index], gb)
        return gx

    def describe(self) -> str:
        return (f"PartialConv2d({self.shape[1]} -> {self.shape[0]}, {len(self.weight.data)} "
                f"connections, {self.shape[2]}x{self.shape[3]})")


class Subsampling(Module):
    """y_c = weight_c * (sum of the k x k window of x_c, stride k) + bias_c."""

    def __init__(self, channels, kernel_size=2, *, dtype=np.float32, rng=None):
        super().__init__()
        channels = positive_int(channels, "channels")
        self.kernel = positive_int(kernel_size, "kernel_size")
        bound = 1 / self.kernel  # 1/sqrt(fan_in), fan_in = k*k inputs
        generator = init.generator(rng)
        self.weight = Parameter(init.uniform((channels,), bound, dtype, generator))
        self.bias = Parameter(init.uniform((channels,), bound, dtype, generator))

    def forward(self, x):
        area = self.kernel * self.kernel
        sums = F.avg_pool2d(x, self.kernel) * x.dtype.type(area)
        self.save_for_backward(x, sums)
        return sums * self.weight.data[:, None, None] + self.bias.data[:, None, None]

    def backward(self, grad_out, input_grad: bool = True):
        x, sums = self.saved()
        self.accumulate_weight_and_bias((grad_out * sums).sum(axis=(0, 2, 3)),
                                        grad_out.sum(axis=(0, 2, 3)))
        if not input_grad:
            return None
        scaled = grad_out * (self.weight.data[:, None, None] * x.dtype.type(self.kernel ** 2))
        return F.avg_pool2d_backward(np.ascontiguousarray(scaled), x, self.kernel)

    def describe(self) -> str:
        return f"Subsampling({len(self.weight.data)} maps, {self.kernel}x{self.kernel})"


class ScaledTanh(Module):
    """f(a) = A tanh(S a) with A = 1.7159, S = 2/3: f(1) = 1, f(-1) = -1 (LeCun 1998, App. A)."""
    A, S = 1.7159, 2 / 3

    def forward(self, x):
        x = as_float_array(x, "input")
        y = F.tanh(x * x.dtype.type(self.S)) * x.dtype.type(self.A)
        self.save_for_backward(y)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        (y,) = self.saved()
        if not input_grad:
            return None
        t = y / y.dtype.type(self.A)
        return grad_out * (y.dtype.type(self.A * self.S) * (1 - t * t))


class RBFOutput(Module):
    """-y_i with y_i = sum_j (x_j - centers_ij)^2: the paper's penalties negated, so the largest
    output is the recognised class and cross-entropy on the outputs is the paper's MAP
    criterion (eq. 9) without its constant j term. `centers` (classes, features) is a buffer:
    fixed, not trained. The paper's centres are stylised 7x12 bitmaps of the characters (+1/-1);
    those bitmaps are not published as numbers, so the default centres are +1/-1 codes drawn
    from a fixed seed (any +1/-1 codes of this size serve the same purpose)."""

    def __init__(self, features, classes, centers=None, *, dtype=np.float32):
        super().__init__()
        features = positive_int(features, "features")
        classes = positive_int(classes, "classes")
        if centers is None:
            centers = np.where(np.random.default_rng(1998).random((classes, features)) < 0.5,
                               -1.0, 1.0)
        centers = np.asarray(centers, dtype)
        if centers.shape != (classes, features):
            raise ValueError(f"centers: expected shape {(classes, features)}, got "
                             f"{centers.shape}")
        self.register_buffer("centers", centers)

    def forward(self, x):
        x = as_float_array(x, "input")
        if x.ndim != 2 or x.shape[1] != self.centers.shape[1]:
            raise ValueError(f"input: expected (N, {self.centers.shape[1]}), got shape {x.shape}")
        diff = x[:, None, :] - self.centers[None].astype(x.dtype)
        self.save_for_backward(diff)
        return -(diff * diff).sum(axis=2)

    def backward(self, grad_out, input_grad: bool = True):
        (diff,) = self.saved()
        if not input_grad:
            return None
        return (np.asarray(grad_out)[:, :, None] * diff).sum(axis=1) * diff.dtype.type(-2)

    def describe(self) -> str:
        return f"RBFOutput({self.centers.shape[1]} -> {self.centers.shape[0]}, fixed centres)"
