"""faltung.analysis.summary(model, input_shape): one row per layer a network runs, with its
output shape, parameters, MACs, FLOPs (= 2 x MACs), other element operations, activation memory
and receptive field, plus totals.

The network runs once, forward, in eval mode, on one random example (batch 1) while
nn.module.observe records every module call; rows are the calls of leaf modules (layers without
children) and of modules with work of their own besides their children (a residual addition, a
highway gate, attention's matmuls), in the order they ran. Counting rules: counting.py.

Receptive field: `rf` is the side of the input window one output position sees and `jump` the
input distance between two neighbouring output positions, along the height (the lecture's
square-kernel networks are symmetric): rf_out = rf_in + (kernel - 1) * jump_in,
jump_out = jump_in * stride. Where branches join (residual, concat), the wider field counts.
Layers that mix every position (linear layers after a flatten, global pooling, attention)
report rf None ("all").
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .. import nn
from ..nn.module import observe
from . import counting


@dataclass
class Row:
    name: str  # dotted path as in state_dict ("" for the model itself)
    kind: str  # the layer's class
    output_shape: tuple  # without the batch dimension
    params: int  # trainable parameters of the layer (0 on its second and later calls)
    macs: int
    other_ops: int
    activation_bytes: int  # the output array
    rf: int | None  # None: every position (see the module docstring)
    jump: float | None

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def to_dict(self) -> dict:
        return dict(asdict(self), flops=self.flops)


@dataclass
class Summary:
    model: str
    input_shape: tuple
    rows: list = field(default_factory=list)
    params: int = 0  # every trainable parameter of the model, each counted once
    macs: int = 0
    other_ops: int = 0
    activation_bytes: int = 0
    rf: int | None = None  # the receptive field of the network's output (None: every position)
    jump: float | None = None

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def to_dict(self) -> dict:
        return {"model": self.model, "input_shape": list(self.input_shape), "rf": self.rf,
                "jump": self.jump,
                "params": self.params, "macs": self.macs, "flops": self.flops,
                "flops_rule": "FLOPs = 2 x MACs", "other_ops": self.other_ops,
                "activation_bytes": self.activation_bytes,
                "rows": [row.to_dict() for row in self.rows]}


def _has_own_work(module) -> bool:
    return not module._modules or isinstance(module, (nn.Residual, nn.Highway)) or \
        hasattr(module, "own_macs")


class _Recorder:
    """The observe() callback: rows in call order, receptive fields by array identity."""

    def __init__(self, model, image_size: int | None):
        self.names = {}
        for prefix, module in model.named_modules():
            self.names.setdefault(id(module), prefix.rstrip("."))
        self.descendants = {id(m): {id(d) for _, d in m.named_modules()}
                            for _, m in model.named_modules()}
        self.fields = {}  # id(array) -> (rf, jump); rf None: every position
        self.calls = []  # (module id, output array) of finished calls, for nesting
        self.rows, self.seen_params = [], set()
        self.image_size = image_size

    def field_of(self, array):
        return self.fields.get(id(array), (1, 1.0))

    def __call__(self, module, inputs, output):
        rf, jump = self._field(module, inputs, output)
        self.fields[id(output)] = (rf, jump)
        self.calls.append((id(module), output))
        if not _has_own_work(module):
            return
        params = 0
        for param in module._parameters.values():
            if param is not None and id(param) not in self.seen_params:
                self.seen_params.add(id(param))
                params += param.size
        self.rows.append(Row(self.names.get(id(module), "?"), type(module).__name__,
                             tuple(np.shape(output)[1:]), params,
                             counting.macs(module, inputs, output),
                             counting.other_ops(module, inputs, output),
                             int(np.asarray(output).nbytes), rf, jump))

    def _field(self, module, inputs, output):
        rf, jump = self.field_of(inputs[0]) if inputs else (1, 1.0)
        if module._modules:  # a container or block: the widest field among its nested calls
            nested = self.descendants[id(module)] - {id(module)}
            fields = [self.fields[id(out)] for mid, out in self.calls if mid in nested]
            if id(output) in self.fields:
                return self.fields[id(output)]
            if any(f[0] is None for f in fields):
                return None, None
            return (max([rf] + [f[0] for f in fields]),
                    max([jump] + [f[1] for f in fields]))
        win = counting.window(module, inputs, output)
        if rf is None or win == "all":
            return None, None
        if win is None:
            return rf, jump
        kernel, stride = win
        return int(rf + (kernel - 1) * jump), jump * stride


def summary(model: nn.Module, input_shape, *, name: str = "", dtype=np.float32,
            seed: int = 0) -> Summary:
    """Run `model` once on a random (1, *input_shape) input and tabulate its layers."""
    input_shape = tuple(int(v) for v in input_shape)
    if not input_shape or min(input_shape) < 1:
        raise ValueError(f"input_shape: expected positive sizes, e.g. (3, 224, 224), got {input_shape}")
    x = np.random.default_rng(seed).standard_normal((1,) + input_shape).astype(dtype)
    was_training = model.training
    model.eval()
    recorder = _Recorder(model, input_shape[-1] if len(input_shape) == 3 else None)
    try:
        with observe(recorder):
            y = model(x)
    finally:
        model.train(was_training)
    result = Summary(name or type(model).__name__, input_shape, recorder.rows)
    unique = {id(p): p.size for p in model.parameters()}
    result.params = sum(unique.values())
    result.macs = sum(row.macs for row in recorder.rows)
    result.other_ops = sum(row.other_ops for row in recorder.rows)
    result.activation_bytes = sum(row.activation_bytes for row in recorder.rows)
    result.rf, result.jump = recorder.field_of(y)
    return result
