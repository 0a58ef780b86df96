"""Reading a memory-mapped array with the resident memory bounded by what is being read.

    is_mapped(X)                          -> bool
    release_pages(X, start=None, stop=None)   X's pages (rows start..stop, or all) leave the resident set
    gather(X, idx, out=None)              -> out (k, n): out[i] = X[idx[i]], read in file order
    scan(X, rows=SCAN_ROWS)               -> (start, stop, X[start:stop]) blocks, each released after use
    epoch_batches(X, Y, order, bounds)    -> (X[order[a:b]], Y[order[a:b]]) for each (a, b) in bounds

The pages of a file that a process reads through a memory map count in its resident memory until
they are unmapped, and Linux maps them 16 at a time around each fault (64 KiB): rows read in a
random order bring the whole file in after a few rows a page. Two rules keep the resident set to
a block of rows:

1. Read in increasing file order, a block at a time, and release the byte range read and 2 MiB
   either side (``madvise(MADV_DONTNEED, start, length)``: the cost is the pages read, not the
   whole map; the margin covers a large folio mapped whole by one fault).
2. Gather rows wanted in a random order (an epoch's shuffle) by sorting their indices first:
   a sorted gather reads forwards, so rule 1 applies; the rows land at their places in ``out``.

Released pages stay in the operating system's page cache: reading them again is a minor fault,
not a disk read. Every function here gives plain arrays the same results by direct indexing, so
a mapped run and an in-memory run see the same numbers bit for bit.
"""
from __future__ import annotations

import mmap

import numpy as np

SCAN_ROWS = 65_536           # rows a sequential pass reads between two releases
GATHER_ROWS = 16_384         # sorted rows a gather takes between two releases (a file span of ~k/m of X)
GATHER_PIECE = 1 << 21       # indices a gather sorts at a time (one pass over the file each)
CHUNK_BYTES = 128 << 20      # an epoch over a mapped X is gathered this many bytes of rows at a time
# The page cache holds a file in folios of up to 2 MiB, and a fault may map a whole folio: pages
# beyond the rows read. A release reaches this far either side of them (re-reading a released
# page is a minor fault).
FOLIO_BYTES = 2 << 20


def _root(X):
    """The np.memmap behind X (X itself or along ``.base``), or None."""
    seen = 0
    while X is not None and seen < 64:
        if isinstance(X, np.memmap) and getattr(X, "_mmap", None) is not None:
            return X
        X, seen = getattr(X, "base", None), seen + 1
    return None


def _mapping(X):
    """The mmap behind X, or None for ordinary arrays and copy-on-write maps (mode "c": the
    advice would drop their private changes)."""
    root = _root(X)
    return root._mmap if root is not None and getattr(root, "mode", "c") in ("r", "r+", "w+") else None


def is_mapped(X) -> bool:
    """Whether X is a memory map or a view of one (``np.asarray`` of a memmap is a plain view)."""
    return _mapping(X) is not None


def release_pages(X, start: int | None = None, stop: int | None = None, ahead: bool = True) -> None:
    """Let the pages of rows start..stop of a memory-mapped X (or a view of one), and FOLIO_BYTES
    before them (and after them, with ``ahead``), leave the process's resident memory; all of
    the map's pages when no rows are given (or X's rows are not laid out one after another).
    Nothing for ordinary arrays or where there is no madvise."""
    mapping, advice = _mapping(X), getattr(mmap, "MADV_DONTNEED", None)
    if mapping is None or advice is None or not hasattr(mapping, "madvise"):
        return
    span = None if start is None else _byte_span(X, start, len(X) if stop is None else stop, len(mapping), ahead)
    try:
        if span is None:
            mapping.madvise(advice)
        elif span[1] > span[0]:
            mapping.madvise(advice, span[0], span[1] - span[0])
    except (ValueError, OSError):             # a closed mapping, or an OS that refuses
        pass


def _byte_span(X, start: int, stop: int, size: int, ahead: bool = True):
    """The page-aligned bytes [first, last) of the map under rows start..stop of X (a row's
    stride each), FOLIO_BYTES before and (``ahead``) after them, or None when X's rows do not lie
    at increasing addresses."""
    if X.ndim == 0 or X.strides[0] <= 0:
        return None
    if stop <= start:
        return 0, 0
    view = np.frombuffer(_mapping(X), dtype=np.uint8, count=1)       # where the map begins
    at = X.__array_interface__["data"][0] - view.__array_interface__["data"][0]
    del view                                                         # (a buffer export holds the map open)
    first, last = at + start * X.strides[0] - FOLIO_BYTES, at + stop * X.strides[0] + FOLIO_BYTES * ahead
    return max(0, first - first % mmap.PAGESIZE), min(size, -(-last // mmap.PAGESIZE) * mmap.PAGESIZE)


def _sorted_places(idx: np.ndarray):
    """(idx sorted, where each sorted entry sits in idx). One sort of (index << 32 | place) keys:
    NumPy's sort of int64 runs ~10x faster than its argsort."""
    if len(idx) < 2**32 and (not len(idx) or int(idx.max()) < 2**31):
        keys = (idx.astype(np.int64) << 32) | np.arange(len(idx), dtype=np.int64)
        keys.sort()
        return keys >> 32, keys & 0xFFFFFFFF
    places = np.argsort(idx, kind="stable")
    return idx[places], places


def gather(X, idx, out: np.ndarray | None = None) -> np.ndarray:
    """out[i] = X[idx[i]] (rows of X, of X's dtype). From a memory map larger than CHUNK_BYTES,
    GATHER_PIECE indices at a time, the rows are read in increasing file order, GATHER_ROWS at a
    time, and the pages of each span released before the next: the resident set holds ``out``, a
    piece's sorted indices and one span, however spread the indices are. A smaller map is
    gathered directly and released whole after."""
    idx = np.asarray(idx)
    if out is None:
        out = np.empty((len(idx),) + X.shape[1:], dtype=X.dtype)
    if not is_mapped(X):
        return np.take(X, idx, axis=0, out=out)
    if X.nbytes <= CHUNK_BYTES:               # a small map: read as it comes, then let it all go
        np.take(X, idx, axis=0, out=out)
        release_pages(X)
        return out
    for first in range(0, len(idx), GATHER_PIECE):         # the sort's memory: a piece's indices
        rows, places = _sorted_places(idx[first:first + GATHER_PIECE])
        for a in range(0, len(rows), GATHER_ROWS):
            part = rows[a:a + GATHER_ROWS]
            out[first + places[a:a + GATHER_ROWS]] = X.take(part, axis=0)
            release_pages(X, int(part[0]), int(part[-1]) + 1)
    return out


def scan(X, rows: int = SCAN_ROWS):
    """(start, stop, X[start:stop]) for consecutive blocks of rows; each block's pages are
    released when the next is asked for (copy what must outlive that). Pages mapped ahead of a
    block are left for the next block's release, which reaches back over them."""
    for start in range(0, len(X), rows):
        stop = min(start + rows, len(X))
        yield start, stop, X[start:stop]
        release_pages(X, start, stop, ahead=stop == len(X))


def epoch_batches(X, Y, order: np.ndarray, bounds):
    """(X[order[a:b]], Y[order[a:b]]) for each (a, b) in ``bounds`` (consecutive, from 0).

    In memory: ``take`` by index, batch by batch. From a memory map: the order's rows are
    gathered CHUNK_BYTES at a time (``gather``: one sorted pass over the file per chunk) and the
    batches are slices of the chunk; a batch is a view that the next chunk overwrites. The rows,
    and so every number, are the same either way."""
    if not is_mapped(X):
        for a, b in bounds:
            idx = order[a:b]
            yield X.take(idx, axis=0), Y.take(idx, axis=0)
        return
    batch = max(b - a for a, b in bounds)
    per_chunk = max(1, CHUNK_BYTES // max(1, batch * X[0].nbytes)) * batch
    buffer = np.empty((min(per_chunk, len(order)),) + X.shape[1:], dtype=X.dtype)
    first = 0
    for a, b in bounds:
        if a >= first + len(buffer) or a == 0:
            first = a
            part = order[first:first + len(buffer)]
            gather(X, part, buffer[:len(part)])
        yield buffer[a - first:b - first], Y.take(order[a:b], axis=0)
