"""mnist(download=True) against a loopback HTTP server (127.0.0.1, a free port) serving
../shared/data/mnist/ (no internet here): fetched, checksum verified, written atomically; mirrors
tried in order; a wrong or damaged file is refused and not kept."""
from __future__ import annotations

import functools
import gzip
import hashlib
import re
import http.server
import shutil
import threading

import numpy as np
import pytest

from faltung.data import mnist
from faltung.data.mnist import CONTENT_MD5
from tests.test_mnist import SHARED_MNIST, TEST, needs_mnist
from tests.test_validation import expect

pytestmark = needs_mnist


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def serve():
    """serve(directory) -> base URL; the list `requests` collects the paths asked for."""
    servers, requests = [], []

    class Counting(Handler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    def start(directory):
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Counting, directory=str(directory)))
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    start.requests = requests
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_download_fetches_verifies_and_reuses(tmp_path, serve):
    url = serve(SHARED_MNIST)
    images, labels = mnist(tmp_path, train=False, download=True, base_url=url)
    expected = mnist(SHARED_MNIST, train=False)
    assert np.array_equal(images, expected[0]) and np.array_equal(labels, expected[1])
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(n + ".gz" for n in TEST)
    assert sorted(serve.requests) == sorted("/" + n + ".gz" for n in TEST)
    mnist(tmp_path, train=False, download=True, base_url=url)
    assert len(serve.requests) == 2, "files already there are not fetched again"


def test_download_uses_the_first_mirror_that_answers(tmp_path, serve):
    good = serve(SHARED_MNIST)
    images, _ = mnist(tmp_path, train=False, download=True, base_url=[good + "absent/", good[:-1]])
    assert len(images) == 10000


def test_no_mirror_answers(tmp_path, serve):
    url = serve(tmp_path / "empty")
    expect(OSError, lambda: mnist(tmp_path, train=False, download=True, base_url=url),
           re.escape(TEST[0] + ".gz"), re.escape(url), r"404")
    assert list((tmp_path / "mnist").iterdir()) == []


def corrupted_copy(directory):
    """The test labels with one label changed: a valid gzip whose content has the wrong MD5."""
    directory.mkdir()
    shutil.copy(SHARED_MNIST / (TEST[0] + ".gz"), directory)
    content = bytearray(gzip.decompress((SHARED_MNIST / (TEST[1] + ".gz")).read_bytes()))
    content[8] = (content[8] + 1) % 10
    (directory / (TEST[1] + ".gz")).write_bytes(gzip.compress(bytes(content)))


def test_checksum_mismatch_is_refused_and_not_kept(tmp_path, serve):
    corrupted_copy(tmp_path / "served")
    url = serve(tmp_path / "served")
    expect(ValueError, lambda: mnist(tmp_path / "data", train=False, download=True, base_url=url),
           re.escape(url + TEST[1] + ".gz"), r"checksum", CONTENT_MD5[TEST[1]], r"not kept")
    assert [p.name for p in (tmp_path / "data" / "mnist").iterdir()] == [TEST[0] + ".gz"]


def test_damaged_gzip_is_refused_and_not_kept(tmp_path, serve):
    served = tmp_path / "served"
    served.mkdir()
    data = (SHARED_MNIST / (TEST[0] + ".gz")).read_bytes()
    (served / (TEST[0] + ".gz")).write_bytes(data[: len(data) // 2])
    url = serve(served)
    expect(ValueError, lambda: mnist(tmp_path / "data", train=False, download=True, base_url=url),
           re.escape(url + TEST[0] + ".gz"), r"damaged", r"gzip", r"not kept")
    assert list((tmp_path / "data" / "mnist").iterdir()) == []


@pytest.mark.parametrize("base_url", [[], 42, ["http://127.0.0.1:1/", None]],
                         ids=["empty", "int", "list-with-none"])
def test_bad_base_url(tmp_path, base_url):
    expect(TypeError, lambda: mnist(tmp_path, download=True, base_url=base_url), r"\bbase_url\b")


@pytest.mark.parametrize("name", sorted(CONTENT_MD5))
def test_published_checksums_match_the_canonical_files(name):
    content = gzip.decompress((SHARED_MNIST / (name + ".gz")).read_bytes())
    assert hashlib.md5(content).hexdigest() == CONTENT_MD5[name]
