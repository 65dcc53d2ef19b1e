"""IDX files, the format of MNIST: a big-endian int32 magic number (0x0000TTNN: TT the element
type, 0x08 = uint8; NN the number of dimensions), one big-endian int32 per dimension, then the
data. Files may be gzip-compressed (recognised by their first bytes, whatever their name).
"""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's content, decompressed if it is gzip; ValueError naming the file if the gzip
    stream is corrupt or truncated."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"{path}: corrupt or truncated gzip file ({e})") from None


def read_idx(path: str | os.PathLike, magic: int) -> np.ndarray:
    """The uint8 array stored in the IDX file `path`, whose magic number must be `magic` (a uint8
    IDX magic: 2051 = 0x803 for MNIST images, 2049 = 0x801 for labels); ValueError naming the file when the magic number is
    wrong or the file size does not match its header (truncated, or trailing bytes)."""
    data = read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: {len(data)} bytes, too short for an IDX header")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise ValueError(f"{path}: magic number {found} (0x{found:08x}), expected {magic} "
                         f"(0x{magic:08x}): not the IDX file expected here")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: {len(data)} bytes, truncated inside its {header}-byte header")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "followed by extra bytes"
        raise ValueError(f"{path}: {len(data)} bytes (uncompressed), but its header says shape "
                         f"{shape}, which needs {expected}: the file is {what}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()
