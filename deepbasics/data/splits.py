"""Train / validation / test splits and standardisation fitted on the training split only.

The document's convention for the split sizes, by the number of examples m:

    m < 10,000     70% train, 15% validation, 15% test
    m >= 10,000    98% train,  1% validation,  1% test   (large sets need only a sliver to measure)

The examples are shuffled before splitting (a ``Generator`` from the split's seed) and, for
classification, the split is stratified: each class is cut in the same proportions, so a rare
class is not left out of the validation or test set by chance.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..errors import DeepBasicsError
from ..learn.paging import gather, release_pages

LARGE = 10_000
SMALL_FRACTIONS = (0.70, 0.15, 0.15)
LARGE_FRACTIONS = (0.98, 0.01, 0.01)


def default_fractions(m: int) -> tuple[float, float, float]:
    """The document's (train, validation, test) fractions for m examples."""
    return SMALL_FRACTIONS if m < LARGE else LARGE_FRACTIONS


def check_fractions(fractions, key: str = "fractions") -> tuple[float, float, float]:
    """Three numbers >= 0 summing to 1, train > 0."""
    try:
        f = tuple(float(v) for v in fractions)
    except (TypeError, ValueError):
        raise DeepBasicsError(f"{key} must be three numbers [train, validation, test], got {fractions!r}") from None
    if len(f) != 3 or any(not math.isfinite(v) or v < 0 for v in f) or f[0] <= 0 or abs(sum(f) - 1) > 1e-9:
        raise DeepBasicsError(f"{key} must be three numbers >= 0 [train, validation, test] summing to 1 "
                              f"with train > 0, got {list(fractions)!r}")
    return f


class Split(NamedTuple):
    """Row indices of each part (disjoint, together all rows) and how they were chosen."""
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    fractions: tuple
    stratified: bool
    seed: int

    def sizes(self) -> tuple[int, int, int]:
        return len(self.train), len(self.val), len(self.test)

    def describe(self) -> str:
        """One line, e.g. 'split: train 630 / validation 135 / test 135 (70/15/15, stratified, seed 0)'."""
        pct = "/".join(f"{100 * f:g}" for f in self.fractions)
        how = ("stratified, " if self.stratified else "") + f"seed {self.seed}"
        n_tr, n_va, n_te = self.sizes()
        return f"split: train {n_tr} / validation {n_va} / test {n_te} ({pct}, {how})"

    def to_dict(self) -> dict:
        n_tr, n_va, n_te = self.sizes()
        return {"train": n_tr, "validation": n_va, "test": n_te, "fractions": list(self.fractions),
                "stratified": self.stratified, "seed": self.seed}


def _counts(n: int, fractions) -> tuple[int, int]:
    """(validation, test) counts for n examples: rounded, never more than n - 1 together."""
    n_val, n_test = round(n * fractions[1]), round(n * fractions[2])
    while n_val + n_test >= n and n_val + n_test > 0:          # keep at least one for training
        if n_test >= n_val:
            n_test -= 1
        else:
            n_val -= 1
    return n_val, n_test


def _class_sizes(labels: np.ndarray):
    """(the classes, sorted; how many rows each has). Labels 0..k-1 (what the readers give) are
    counted, not sorted."""
    if labels.dtype.kind in "iu" and len(labels) and labels.min() >= 0:
        counts = np.bincount(labels)
        classes = np.flatnonzero(counts)
        return classes, counts[classes]
    return np.unique(labels, return_counts=True)


def _shuffled(m: int, rng: np.random.Generator) -> np.ndarray:
    """``rng.permutation(m)`` as int32 when m allows (half the memory; the same swaps)."""
    order = np.arange(m, dtype=np.int32 if m < 2**31 else np.int64)
    rng.shuffle(order)
    return order


def _largest_remainder(total: int, weights: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Integers summing to ``total``, proportional to ``weights``, none above its cap."""
    if caps.sum() < total:             # e.g. one example per class: none can be spared
        raise DeepBasicsError(f"too few examples per class to hold out {total} for a stratified split "
                              f"(each class keeps one for training); give more data, or set "
                              f"split.stratify = false")
    exact = total * weights / weights.sum()
    out = np.minimum(np.floor(exact).astype(int), caps)
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    i = 0
    while out.sum() < total:
        c = order[i % len(order)]
        if out[c] < caps[c]:
            out[c] += 1
        i += 1
    return out


def split(y, fractions=None, *, seed: int = 0, stratify: bool = True, shuffle: bool = True) -> Split:
    """Cut m examples into train / validation / test index sets.

    y          (m,) labels (used only when ``stratify``) or anything with a length
    fractions  (train, validation, test); None: the document's convention for m
    stratify   cut every class in the same proportions (classification)
    shuffle    False keeps the rows' order: the first rows train, the last rows test
    """
    y = np.asarray(y)
    m = len(y)
    if m == 0:
        raise DeepBasicsError("the data set is empty: nothing to split")
    f = default_fractions(m) if fractions is None else check_fractions(fractions)
    n_val, n_test = _counts(m, f)
    if (f[1] > 0 and n_val == 0) or (f[2] > 0 and n_test == 0):
        raise DeepBasicsError(f"{m} examples are too few for a {'/'.join(f'{100 * v:g}' for v in f)} split; "
                              f"give more data or set split.fractions (e.g. [1, 0, 0])")
    if n_val == n_test == 0:              # nothing held out: every row trains, in the data's order
        empty = np.zeros(0, dtype=np.int64)
        return Split(np.arange(m), empty, empty, f, False, int(seed))
    rng = np.random.default_rng(seed)
    order = _shuffled(m, rng) if shuffle else np.arange(m)
    if not (stratify and shuffle):
        val, test = order[m - n_test - n_val:m - n_test], order[m - n_test:]
        return Split(np.sort(order[:m - n_test - n_val]) if not shuffle else order[:m - n_test - n_val],
                     val, test, f, False, int(seed))
    part = _stratified_parts(gather(y, order), n_val, n_test)  # of each row of ``order``
    train, val, test = (order[part == k] for k in (0, 1, 2))
    return Split(train, val, test, f, True, int(seed))


def _stratified_parts(labels: np.ndarray, n_val: int, n_test: int) -> np.ndarray:
    """0 (train), 1 (validation) or 2 (test), a byte for each of the shuffled rows whose labels
    are given: each class's first rows in that order go to validation, its next to test, in
    proportion to the class's size (largest remainders). Memory: a class's positions at a time."""
    classes, sizes = _class_sizes(labels)
    # A class keeps at least one example for training when it can.
    caps = np.maximum(sizes - 1, 0)
    val_k = _largest_remainder(n_val, sizes.astype(float), caps) if n_val else np.zeros_like(sizes)
    test_k = _largest_remainder(n_test, sizes.astype(float), caps - val_k) if n_test else np.zeros_like(sizes)
    part = np.zeros(len(labels), dtype=np.int8)
    for c, nv, nt in zip(classes, val_k, test_k):
        if nv + nt:
            at = _first_places(labels, c, nv + nt)              # the class's first rows, in shuffled order
            part[at[:nv]], part[at[nv:]] = 1, 2
    return part


def _first_places(labels: np.ndarray, c, k: int, block: int = 1 << 20) -> np.ndarray:
    """np.flatnonzero(labels == c)[:k], a block at a time: memory for k places, not every row."""
    found, count = [], 0
    for a in range(0, len(labels), block):
        if count >= k:
            break
        at = np.flatnonzero(labels[a:a + block] == c)[:k - count] + a
        found.append(at)
        count += len(at)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


ROWS_PER_BLOCK = 65_536      # rows a standardiser reads at a time: memory stays a block, not the data


class Standardizer(NamedTuple):
    """x' = (x - mean) / scale per feature, fitted on the training rows only.

    mean, scale: (n,) float64. A constant feature gets scale 1 (it becomes 0 rather than NaN).
    """
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X_train: np.ndarray, rows=None) -> "Standardizer":
        """mean = sum_i x_i / m, std = sqrt(sum_i (x_i - mean)^2 / m) over the rows of X_train
        (or X_train[rows], in that order), read a block of rows at a time in float64
        (``feature_stats``): equal to ``X.mean(axis=0)`` and ``X.std(axis=0)`` bit for bit,
        whether X is in memory or a memory map, without a copy of the data."""
        mean, std = feature_stats(X_train, slice(None) if rows is None else rows)
        return cls(mean, np.where(std > 0, std, 1.0))

    @classmethod
    def identity(cls, n: int) -> "Standardizer":
        return cls(np.zeros(n), np.ones(n))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale

    def transform_rows(self, X: np.ndarray, rows, out: np.ndarray) -> np.ndarray:
        """out[k] = (X[rows[k]] - mean) / scale, computed in float64 and stored in out's dtype
        (``standardize_block``), ROWS_PER_BLOCK rows at a time: the split's parts in one
        array, standardised, with no other copy of the data."""
        for a in range(0, len(rows), ROWS_PER_BLOCK):
            out[a:a + ROWS_PER_BLOCK] = standardize_block(X[rows[a:a + ROWS_PER_BLOCK]], self.mean, self.scale,
                                                          out.dtype.name)
        return out

    def inverse(self, X: np.ndarray) -> np.ndarray:
        return X * self.scale + self.mean


# -- statistics and the standardising formula, in blocks of rows (memory: a block, not the data) --
def standardize_block(block, mean, scale, dtype) -> np.ndarray:
    """(x - mean) / scale for a block of rows (k, n), computed in float64, returned in ``dtype``.

    The one formula both the mapped and the in-memory paths use, so that they agree bit for bit.
    """
    kind = np.dtype(dtype)
    out = (np.asarray(block, dtype=np.float64) - np.asarray(mean, dtype=np.float64)) \
        / np.asarray(scale, dtype=np.float64)
    return out.astype(kind, copy=False)


def gather_rows(X, idx: np.ndarray) -> np.ndarray:
    """X[idx] as an in-memory array; from a memory map, read forwards with the pages released as
    it goes (``learn.paging.gather``: rows spread over the file would otherwise bring it all in)."""
    return gather(X, np.asarray(idx))


def _row_blocks(X, rows_or_slice, block: int):
    """(number of rows, a function giving block b of them as a C-ordered float64 array)."""
    if isinstance(rows_or_slice, (slice, range)):
        rows = range(len(X))[rows_or_slice] if isinstance(rows_or_slice, slice) else rows_or_slice

        def piece(start):
            part = rows[start:start + block]
            stop = part.stop if part.stop >= 0 else None
            return X[part.start:stop:part.step] if len(part) else X[:0]
    else:
        rows = np.asarray(rows_or_slice)
        if rows.ndim != 1 or (len(rows) and rows.dtype.kind not in "iu"):
            raise DeepBasicsError(f"rows must be a slice or a 1-D array of row indices, got {rows.dtype} "
                                  f"of shape {rows.shape}")

        def piece(start):
            return gather_rows(X, rows[start:start + block])

    def get(start):
        values = np.array(piece(start), dtype=np.float64, order="C")     # a copy: X's pages can go
        if isinstance(rows_or_slice, (slice, range)):
            release_pages(X, rows[start:start + block].start, rows[start:start + block].stop)
        return values
    return len(rows), get


def feature_stats(X, rows_or_slice, block: int = ROWS_PER_BLOCK):
    """(mean (n,), std (n,)) in float64 of the rows ``rows_or_slice`` of X (m, n): a slice, a range
    or a 1-D int array of k row indices, read ``block`` rows at a time (each block a C-ordered
    float64 copy), in two passes over the same blocks:

        mean = (sum over the rows of x) / k,   std = sqrt((sum over the rows of (x - mean)^2) / k)

    Each sum runs row after row across the blocks (a block's reduction starts from the running
    sum), the order NumPy sums a C-ordered array along axis 0: the result equals
    ``R.mean(axis=0)`` and ``R.std(axis=0)`` for R = X[rows] in float64, bit for bit, whether X is
    in memory or memory-mapped, and memory holds a block, not R.
    """
    count, get = _row_blocks(X, rows_or_slice, int(block))
    if count == 0:
        raise DeepBasicsError("feature statistics need at least one row")

    def row_sum(term) -> np.ndarray:
        total = np.zeros((1, X.shape[1]))
        for start in range(0, count, block):
            total = np.concatenate([total, term(get(start))]).sum(axis=0, keepdims=True)
        return total[0]
    mean = row_sum(lambda b: b) / count
    return mean, np.sqrt(row_sum(lambda b: np.square(b - mean)) / count)
