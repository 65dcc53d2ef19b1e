"""Module: the base of every layer and container of faltung.nn.

A module computes `forward(x)` and, from the gradient of the loss with respect to its output,
`backward(grad_out)`: it adds the gradients of its parameters into their `.grad` (accumulating,
as PyTorch does, until `zero_grad()`) and returns the gradient with respect to its input
(`None` when called with `input_grad=False`, which spares the first layer of a network a
whole pass). `forward` keeps what `backward` needs; `backward` before `forward` is an error.

Parameters, buffers (running statistics) and child modules assigned as attributes are found by
name, so `state_dict()` uses PyTorch's key names ("features.0.weight", "bn1.running_mean") and
weights move between the two libraries.
"""
from __future__ import annotations

import contextlib
from collections import OrderedDict

import numpy as np

from .._validation import FLOAT_DTYPES
from .parameter import Parameter


_observers: list = []  # callbacks(module, inputs, output) of every module call (observe())


@contextlib.contextmanager
def observe(callback):
    """While active, callback(module, inputs, output) runs after every module call made
    through `module(x)` (containers call their children that way): faltung.analysis records
    the layers a network runs, in the order they run, with their input and output shapes."""
    _observers.append(callback)
    try:
        yield
    finally:
        _observers.remove(callback)


class Module:
    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_saved", None)

    # ------------------------------------------------------------------ attributes by kind
    def __setattr__(self, name, value):
        if name in self._buffers and isinstance(value, np.ndarray):
            self._buffers[name] = value  # e.g. `self.num_batches_tracked += 1`
            return
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """A state array that is not trained (running statistics); part of state_dict()."""
        self.__dict__.pop(name, None)
        self._buffers[name] = array

    # ------------------------------------------------------------------ computing
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad_out, input_grad: bool = True):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def __call__(self, *inputs):
        output = self.forward(*inputs)
        for callback in _observers:
            callback(self, inputs, output)
        return output

    def save_for_backward(self, *values) -> None:
        self._saved = values

    def saved(self) -> tuple:
        """What forward kept for backward; a clear error when forward has not run."""
        if self._saved is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        return self._saved

    @staticmethod
    def accumulate(param: Parameter, grad: np.ndarray | None) -> None:
        """param.grad += grad (the first gradient is stored as it is)."""
        if grad is None:
            return
        if param.grad is None:
            param.grad = grad
        else:
            param.grad += grad

    def accumulate_weight_and_bias(self, grad_weight, grad_bias) -> None:
        """For layers with `weight` and an optional `bias` parameter."""
        self.accumulate(self.weight, grad_weight)
        if self.bias is not None:
            self.accumulate(self.bias, grad_bias)

    def describe(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        if not self._modules:
            return self.describe()
        inner = "\n".join(f"  ({name}): " + repr(child).replace("\n", "\n  ")
                          for name, child in self._modules.items())
        return f"{type(self).__name__}(\n{inner}\n)"

    # ------------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = ""):
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}{name}.")

    def children(self):
        return iter(self._modules.values())

    def named_parameters(self, prefix: str = ""):
        for module_prefix, module in self.named_modules(prefix):
            for name, param in module._parameters.items():
                yield module_prefix + name, param

    def parameters(self):
        return [param for _, param in self.named_parameters()]

    def named_buffers(self, prefix: str = ""):
        for module_prefix, module in self.named_modules(prefix):
            for name, buffer in module._buffers.items():
                yield module_prefix + name, buffer

    def zero_grad(self) -> None:
        """Drop every parameter's gradient (PyTorch's default, set_to_none=True)."""
        for param in self.parameters():
            param.grad = None

    def train(self, mode: bool = True):
        for _, module in self.named_modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def astype(self, dtype):
        """Convert every parameter and floating-point buffer to float32 or float64 (in place;
        do it before an optimizer is built over the parameters). Returns self."""
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"dtype: expected float32 or float64, got {dtype}")
        for _, module in self.named_modules():
            for param in module._parameters.values():
                param.data = param.data.astype(dtype)
                param.grad = None
            for name, buffer in module._buffers.items():
                if buffer.dtype in FLOAT_DTYPES:
                    module._buffers[name] = buffer.astype(dtype)
        return self

    # ------------------------------------------------------------------ state
    def state_dict(self) -> OrderedDict:
        """{PyTorch key name: copy of the array}, parameters then buffers, module by module."""
        state = OrderedDict()
        for prefix, module in self.named_modules():
            for name, param in module._parameters.items():
                state[prefix + name] = param.data.copy()
            for name, buffer in module._buffers.items():
                state[prefix + name] = buffer.copy()
        return state

    def _state_targets(self) -> dict:
        targets = {}
        for prefix, module in self.named_modules():
            for name, param in module._parameters.items():
                targets[prefix + name] = param.data
            for name, buffer in module._buffers.items():
                targets[prefix + name] = buffer
        return targets

    def load_state_dict(self, state, strict: bool = True) -> None:
        """Copy `state` ({key: array}, e.g. a PyTorch state_dict converted with .numpy(), or
        this library's) into the parameters and buffers, keeping their dtypes. With strict,
        missing and unexpected keys are an error; shapes must always match."""
        targets = self._state_targets()
        if strict:
            missing = [key for key in targets if key not in state]
            unexpected = [key for key in state if key not in targets]
            if missing or unexpected:
                raise KeyError(f"state_dict: missing keys {missing}, unexpected keys {unexpected}")
        for key, target in targets.items():
            if key not in state:
                continue
            value = np.asarray(state[key])
            if value.shape != target.shape:
                raise ValueError(f"state_dict[{key!r}]: expected shape {target.shape}, "
                                 f"got {value.shape}")
            np.copyto(target, value, casting="unsafe")

    def save(self, path) -> None:
        """state_dict() as a .npz file (numpy.savez, keys as in PyTorch)."""
        np.savez(path, **self.state_dict())

    def load(self, path, strict: bool = True) -> None:
        with np.load(path) as archive:
            self.load_state_dict({key: archive[key] for key in archive.files}, strict)
