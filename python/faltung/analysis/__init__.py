"""faltung.analysis: parameters, MACs/FLOPs, activation memory and receptive fields of a
network (summary), how each layer is counted (counting), and text tables of both (table)."""
from .summary import Row, Summary, summary
from .table import format_summary

__all__ = ["Row", "Summary", "format_summary", "summary"]
