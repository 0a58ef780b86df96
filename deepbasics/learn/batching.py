"""Mini-batches: which examples each update of an epoch sees.

Batch GD is batch_size = m, stochastic GD is batch_size = 1, mini-batch GD anything between;
the last, partial batch is kept (the document's ``random_mini_batches``), unless the fit drops
it (``drop_last``): then the engine is told it has m_used = (m // batch_size) * batch_size
examples and a ``Truncated`` order, the first m_used entries of each epoch's order of all m.

Shuffling follows the document's protocol, generalised: epoch e (from 0) is ordered by
``RandomState(shuffle_seed + e + 1).permutation(m)``; the document uses shuffle_seed = 10.
Each epoch's order depends only on (shuffle_seed, e), so a resumed run shuffles exactly as an
uninterrupted one, and nothing touches NumPy's global random state.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import DeepBasicsError
from .paging import is_mapped, release_pages, scan  # noqa: F401  (is_mapped, release_pages: read here too)


class Truncated(NamedTuple):
    """The order of a fit that drops the last partial batch: epoch e uses the first entries of
    the order ``seed`` gives all ``n`` examples (identity when ``seed`` is None). It takes the
    place of ``shuffle_seed`` below, so the engines need not know about ``drop_last``."""
    seed: int | None
    n: int


def draw_seed() -> int:
    """A fresh seed from the operating system's entropy (``SeedSequence``), for a shuffle or a
    model given none; never NumPy's global random state."""
    return int(np.random.SeedSequence().generate_state(1)[0])


def epoch_order(m: int, epoch: int, shuffle_seed: int | None, rs: np.random.RandomState | None = None) -> np.ndarray:
    """The order of the m examples in epoch ``epoch``; identity when ``shuffle_seed`` is None.

    ``rs``, if given, is re-seeded and used instead of a new RandomState: the same numbers
    (``RandomState(s)`` is ``RandomState().seed(s)``), but seeding costs ~5 us where making a
    RandomState costs ~100 us, which is most of a small network's epoch.
    ``shuffle_seed`` may be a ``Truncated``: then the first m of the order of its n examples.
    """
    if isinstance(shuffle_seed, Truncated):
        return epoch_order(shuffle_seed.n, epoch, shuffle_seed.seed, rs)[:m]
    order = np.arange(m, dtype=np.int32 if m < 2**31 else np.int64)    # int32: half the memory
    if shuffle_seed is None:
        return order
    if rs is None:
        rs = np.random.RandomState(0)
    rs.seed(shuffle_seed + epoch + 1)
    rs.shuffle(order)                  # = rs.permutation(m): the same swaps whatever the integer type
    return order


def epoch_orders(m: int, epochs, shuffle_seed: int | None) -> np.ndarray:
    """The orders of several epochs as the rows of an array (len(epochs), m)."""
    rs = np.random.RandomState(0)
    return np.stack([epoch_order(m, e, shuffle_seed, rs) for e in epochs]) if len(epochs) else np.zeros((0, m), int)


def steps_per_epoch(m: int, batch_size: int | None, drop_last: bool = False) -> int:
    """Updates in an epoch of m examples: ceil(m / b), or floor(m / b) when the last, partial
    batch is dropped, where b = min(batch_size, m) (None: b = m, batch GD). Always >= 1 for
    m >= 1, since b <= m; it is ``len(batch_bounds(m, b))``, or that of ``batch_bounds(m_used, b)``
    with m_used = floor(m / b) * b under ``drop_last``."""
    b = m if batch_size is None else min(batch_size, m)
    return m // b if drop_last else -(-m // b)


def batch_bounds(m: int, batch_size: int) -> list[tuple[int, int]]:
    """[(start, stop), ...] covering 0..m in steps of batch_size, the last one partial."""
    return [(start, min(start + batch_size, m)) for start in range(0, m, batch_size)]


# -- examples as the engines read them ------------------------------------------------------------
def all_finite(arr: np.ndarray, rows: int = 16384) -> bool:
    """Whether every value is finite, checked a block of rows at a time: np.isfinite on the
    whole array would hold a boolean copy of it (a quarter of a float32 dataset's size)."""
    return all(bool(np.isfinite(block).all()) for _, _, block in scan(arr, rows))


def as_features(X, name: str = "X") -> np.ndarray:
    """Examples as rows: a finite 2-D float array of shape (m, n) with m >= 1."""
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise DeepBasicsError(f"{name} could not be read as an array: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise DeepBasicsError(f"{name} must be numeric, got values of type {arr.dtype}")
    if arr.ndim == 1:
        raise DeepBasicsError(f"{name} must be 2-D (examples as rows), got shape {arr.shape}; "
                              f"use X.reshape(-1, 1) for a single feature")
    if arr.ndim != 2:
        raise DeepBasicsError(f"{name} must be 2-D (examples as rows), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise DeepBasicsError(f"{name} is empty: it has no examples (rows)")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if not all_finite(arr):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise DeepBasicsError(f"{name} contains {bad} NaN or infinite value(s); clean or impute them first")
    return arr
