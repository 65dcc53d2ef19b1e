"""Benchmark shapes from real networks: a re-export of faltung.bench.shapes, the one source of
truth shared with `faltung bench`."""
from faltung.bench.shapes import (CONV_PASSES, CONV_SHAPES, GEMM_LAYOUTS, GEMM_SHAPES, QUICK_CONV,
                                  QUICK_GEMM, ConvShape, GemmShape, select)

__all__ = ["CONV_PASSES", "CONV_SHAPES", "GEMM_LAYOUTS", "GEMM_SHAPES", "QUICK_CONV",
           "QUICK_GEMM", "ConvShape", "GemmShape", "select"]
