"""Fetching a data file over HTTP(S): mirrors tried in order, a tqdm progress bar, the MD5 of the
(uncompressed) content verified, and an atomic write (a temporary file in the destination
directory, renamed once verified; nothing is left behind on failure).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request

from tqdm import tqdm

from .idx import read_bytes

TIMEOUT_S = 60
CHUNK = 1 << 16


def download(filename: str, dest_dir: str, base_urls: tuple[str, ...], content_md5: str) -> str:
    """Fetch base_url + filename from the first mirror that answers into dest_dir/filename and
    return that path. OSError when no mirror delivers; ValueError when the delivered file's
    content (decompressed, if gzip) does not have the MD5 `content_md5` (the file is not kept,
    and other mirrors are not tried: a wrong file is worth knowing about)."""
    os.makedirs(dest_dir, exist_ok=True)
    failures = []
    for base in base_urls:
        url = base + filename
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
                return _save(response, url, os.path.join(dest_dir, filename), content_md5)
        except OSError as e:  # URLError, HTTPError, timeouts, connection resets
            failures.append(f"{url} ({e})")
    raise OSError(f"could not download {filename}; tried: " + ", ".join(failures))


def _save(response, url: str, path: str, content_md5: str) -> str:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=os.path.basename(path) + ".",
                               suffix=".part")
    try:
        length = response.headers.get("Content-Length")
        with os.fdopen(fd, "wb") as f, tqdm(total=int(length) if length else None, unit="B",
                                            unit_scale=True, unit_divisor=1024,
                                            desc=os.path.basename(path)) as bar:
            while chunk := response.read(CHUNK):
                f.write(chunk)
                bar.update(len(chunk))
        _verify(tmp, url, content_md5)
        os.replace(tmp, path)
        return path
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _verify(path: str, url: str, content_md5: str) -> None:
    try:
        digest = hashlib.md5(read_bytes(path)).hexdigest()
    except ValueError as e:
        raise ValueError(f"{url}: the downloaded file is damaged ({e}); it was not kept") from None
    if digest != content_md5:
        raise ValueError(f"{url}: checksum mismatch: the MD5 of its content is {digest}, expected "
                         f"{content_md5}; the download was not kept")
