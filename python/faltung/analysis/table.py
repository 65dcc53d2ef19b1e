"""Plain-text tables of a Summary: one line per layer, then the totals (with MACs also in G,
the unit of published figures)."""
from __future__ import annotations

from .summary import Summary

COLUMNS = (("layer", 30, "<"), ("kind", 18, "<"), ("output", 16, "<"), ("params", 11, ">"),
           ("MACs", 14, ">"), ("other ops", 11, ">"), ("act. KiB", 10, ">"), ("rf", 5, ">"),
           ("jump", 6, ">"))


def _cells(values) -> str:
    return " ".join(f"{str(v)[:w]:{align}{w}}" for v, (_, w, align) in zip(values, COLUMNS))


def _jump(value) -> str:
    if value is None:
        return "all"
    return f"{value:g}"


def format_summary(s: Summary) -> str:
    head = _cells(name for name, _, _ in COLUMNS)
    lines = [f"{s.model}: input {'x'.join(map(str, s.input_shape))} (batch 1)", head,
             "-" * len(head)]
    for row in s.rows:
        lines.append(_cells((row.name or "(model)", row.kind, "x".join(map(str, row.output_shape)),
                             f"{row.params:,}", f"{row.macs:,}", f"{row.other_ops:,}",
                             f"{row.activation_bytes / 1024:,.1f}",
                             "all" if row.rf is None else row.rf, _jump(row.jump))))
    lines += ["-" * len(head),
              f"parameters {s.params:,}   MACs {s.macs:,} ({s.macs / 1e9:.3f} G)   "
              f"FLOPs = 2 x MACs = {s.flops:,}   other element ops {s.other_ops:,}   "
              f"activations {s.activation_bytes / 2**20:,.1f} MiB"]
    return "\n".join(lines)
