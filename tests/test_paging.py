"""Reading memory maps with bounded resident memory (learn.paging): every function gives a mapped
array's rows exactly as direct indexing gives an in-memory array's, and the pages read leave the
resident set as the reading goes."""
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from deepbasics.learn import batching, paging


@pytest.fixture(scope="module")
def mapped_X(tmp_path_factory):
    """(X in memory, the same X as a read-only memory map); never written to."""
    folder = tmp_path_factory.mktemp("paging")
    X = np.random.default_rng(0).standard_normal((5_003, 7)).astype(np.float32)
    np.save(folder / "X.npy", X)
    return X, np.load(folder / "X.npy", mmap_mode="r")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 5_002), max_size=3_000), st.sampled_from([1, 7, 64, 16_384]))
def test_gather_equals_indexing(mapped_X, idx, rows):
    X, M = mapped_X                    # module-scoped and read only: the same for every input
    idx = np.asarray(idx, dtype=np.int64)
    old = paging.GATHER_ROWS, paging.GATHER_PIECE, paging.CHUNK_BYTES
    paging.GATHER_ROWS, paging.GATHER_PIECE, paging.CHUNK_BYTES = rows, max(rows, 100), 1   # the sorted path
    try:
        assert np.array_equal(paging.gather(M, idx), X[idx])            # repeats and any order
        assert np.array_equal(paging.gather(X, idx), X[idx])            # in memory: take
        view = np.asarray(M)[100:]
        inside = idx[idx < len(view)]
        assert np.array_equal(paging.gather(view, inside), X[100:][inside])
        paging.CHUNK_BYTES = 1 << 30                                  # a small map: read directly
        assert np.array_equal(paging.gather(M, idx), X[idx])
    finally:
        paging.GATHER_ROWS, paging.GATHER_PIECE, paging.CHUNK_BYTES = old


def test_gather_of_labels_and_into_a_buffer(tmp_path):
    y = np.arange(1000, dtype=np.uint8) % 3
    np.save(tmp_path / "y.npy", y)
    labels = np.load(tmp_path / "y.npy", mmap_mode="r")
    idx = np.random.default_rng(1).permutation(1000)
    assert np.array_equal(paging.gather(labels, idx), y[idx])
    out = np.full(1000, 9, dtype=np.uint8)
    assert paging.gather(labels, idx, out) is out and np.array_equal(out, y[idx])


def test_sorted_places_agree_with_argsort():
    idx = np.random.default_rng(2).integers(0, 50, 1000)
    rows, places = paging._sorted_places(idx)
    assert np.array_equal(rows, np.sort(idx)) and np.array_equal(idx[places], rows)
    assert np.array_equal(np.sort(places), np.arange(1000))


@pytest.mark.parametrize("chunk_bytes", [1, 1_000, 50_000, 1 << 30])
@pytest.mark.parametrize("batch", [1, 64, 5_003, 10_000])
def test_epoch_batches_from_a_map_equal_those_in_memory(mapped_X, monkeypatch, chunk_bytes, batch):
    X, M = mapped_X
    monkeypatch.setattr(paging, "CHUNK_BYTES", chunk_bytes)
    Y = np.arange(len(X), dtype=np.float64).reshape(-1, 1)
    order = batching.epoch_order(len(X), 3, 10)
    bounds = batching.batch_bounds(len(X), min(batch, len(X)))
    got = [(xb.copy(), yb) for xb, yb in paging.epoch_batches(M, Y, order, bounds)]
    assert len(got) == len(bounds)
    for (xb, yb), (a, b) in zip(got, bounds):
        assert np.array_equal(xb, X[order[a:b]]) and np.array_equal(yb, Y[order[a:b]])


def test_epoch_order_is_the_documented_permutation_in_half_the_memory():
    for m, seed, epoch in [(1, 0, 0), (300, 10, 0), (300, 10, 9), (12_345, 4, 2)]:
        order = batching.epoch_order(m, epoch, seed)
        assert order.dtype == np.int32
        assert np.array_equal(order, np.random.RandomState(seed + epoch + 1).permutation(m))


def test_scan_covers_the_rows_once(mapped_X):
    X, M = mapped_X
    seen = [(a, b, block.copy()) for a, b, block in paging.scan(M, rows=1_000)]
    assert [(a, b) for a, b, _ in seen] == [(a, min(a + 1_000, len(X))) for a in range(0, len(X), 1_000)]
    assert np.array_equal(np.concatenate([block for _, _, block in seen]), X)


def test_byte_span_of_views(mapped_X):
    _, M = mapped_X
    size = len(M._mmap)
    first, last = paging._byte_span(M, 0, len(M), size)
    assert first == 0 and last == size                          # header, every row (and the margins)
    first, last = paging._byte_span(np.asarray(M)[1000:], 0, 10, size)
    assert first <= 128 + 1000 * 28 - paging.FOLIO_BYTES or first == 0
    assert 128 + 1010 * 28 <= last and first % 4096 == 0
    assert paging._byte_span(M, 5, 5, size) == (0, 0)
    assert paging._byte_span(M[::-1], 0, 3, size) is None           # rows at decreasing addresses


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_shuffled_epoch_over_a_map_keeps_the_resident_set_small(tmp_path):
    """Rows in random order from a 160 MB map: read by index, the whole file becomes resident
    (pages come 16 at a time, or a large folio); through epoch_batches, a chunk and a span of the
    file at most; a forward scan in small blocks, a block and its margins."""
    np.save(tmp_path / "X.npy", np.zeros((2_000_000, 20), dtype=np.float32))
    code = (
        "import numpy as np, sys\n"
        "from deepbasics.learn import batching, paging\n"
        "def rss_file():\n"
        "    return int(next(l for l in open('/proc/self/status') if l.startswith('RssFile')).split()[1]) // 1024\n"
        f"X = np.load({str(tmp_path / 'X.npy')!r}, mmap_mode='r')\n"
        "Y = np.zeros((len(X), 1), np.float32)\n"
        "paging.CHUNK_BYTES = 16 << 20\n"
        "order = batching.epoch_order(len(X), 0, 1)\n"
        "before, most = rss_file(), 0\n"
        "for k, (xb, yb) in enumerate(paging.epoch_batches(X, Y, order, batching.batch_bounds(len(X), 256))):\n"
        "    if k % 500 == 0: most = max(most, rss_file())\n"
        "scanned = 0\n"
        "for k, (a, b, block) in enumerate(paging.scan(X, 8_192)):\n"
        "    block.sum()\n"
        "    if k % 20 == 0: scanned = max(scanned, rss_file())\n"
        "X.take(order[:200_000], axis=0)\n"
        "print(most - before, scanned - before, rss_file() - before)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    chunked, scanned, by_index = map(int, out.stdout.split())
    assert chunked < 60, chunked            # MB: far below the 160 MB file
    assert scanned < 30, scanned            # a block and the margins of large folios
    assert by_index > 120, by_index         # the effect the chunks avoid, so this test can fail
