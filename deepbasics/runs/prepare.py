"""A run's data: read (into memory, or from a memory-mapped cache), split, standardised.

    prepared = prepare(cfg)
    prepared.X_train, prepared.y_train, prepared.X_val, ...    # views of one array

Every row sits in one array X (m, n) of the training dtype (``train.dtype``), in split order —
the training rows, then validation, then test — standardised with the training rows' statistics
(``splits.Standardizer``); the parts are slices of it, so the data are held once:

    ram   the reader's X (float64 or float32 from the file on), then X in split order: at most
          twice the data while the second is written, once after
    map   the file converted once into a memory-mapped cache (``data.mapped``), and X in split
          order written into the cache beside it; memory holds y and a block of rows

Both give the same numbers bit for bit: the same statistics (summed row after row, in blocks)
and the same (x - mean) / scale, computed in float64 and stored in the training dtype.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..data import datasets
from ..data.splits import ROWS_PER_BLOCK, Split, Standardizer, split
from ..errors import ConfigError, DeepBasicsError
from ..learn.paging import gather, scan
from .schema import TABLES, Config

MAP_ABOVE = 0.25          # "auto" maps a table whose X would take more than this share of free memory


@dataclass(eq=False)
class Prepared:
    """The data of a run. ``dataset`` describes it (task, classes, names); its X and y are the
    rows in split order, standardised (X is a read-only memory map when the run maps its data)."""
    dataset: datasets.Dataset
    split: Split
    scaler: Standardizer
    n_train: int
    n_val: int

    @property
    def X(self) -> np.ndarray:
        return self.dataset.X

    @property
    def y(self) -> np.ndarray:
        return self.dataset.y

    @property
    def X_train(self) -> np.ndarray:
        return self.X[:self.n_train]

    @property
    def y_train(self) -> np.ndarray:
        return self.y[:self.n_train]

    @property
    def X_val(self) -> np.ndarray:
        return self.X[self.n_train:self.n_train + self.n_val]

    @property
    def y_val(self) -> np.ndarray:
        return self.y[self.n_train:self.n_train + self.n_val]

    @property
    def X_test(self) -> np.ndarray:
        return self.X[self.n_train + self.n_val:]

    @property
    def y_test(self) -> np.ndarray:
        return self.y[self.n_train + self.n_val:]

    def fingerprint(self) -> str:
        """SHA-256 of the standardised training data: a resumed run must see the same numbers."""
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        h = hashlib.sha256()
        for a in (self.X_train, self.y_train):          # block by block: no copy of the data
            wide = np.int64 if a.dtype.kind in "iub" else None   # labels hash alike in any integer type
            for _, _, block in scan(a.reshape(len(a), -1) if len(a) else a, ROWS_PER_BLOCK):
                h.update(memoryview(np.ascontiguousarray(block, dtype=wide)).cast("B"))
        return h.hexdigest()


def prepare(cfg: Config) -> Prepared:
    """Load the data set, split it and standardise it (fitted on the training split)."""
    data = _load(cfg, maps(cfg))
    classify = data.task != "regression"
    parts = split(data.y, cfg.split.fractions, seed=cfg.split.seed, stratify=cfg.split.stratify and classify,
                  shuffle=cfg.split.shuffle)
    order = np.concatenate([parts.train, parts.val, parts.test])
    n_train = len(parts.train)
    if data.source is not None:
        X, scaler = _mapped_in_split_order(data.source, order, n_train, cfg.data.standardize)
    else:
        scaler = Standardizer.fit(data.X, order[:n_train]) if cfg.data.standardize \
            else Standardizer.identity(data.X.shape[1])
        out = np.empty((len(order), data.X.shape[1]), dtype=np.dtype(cfg.train.dtype))
        X = scaler.transform_rows(data.X, order, out)
    y = gather(data.y, order)
    return Prepared(data.dataset._replace(X=X, y=y), parts, scaler, n_train, len(parts.val))


def maps(cfg: Config) -> bool:
    """Whether the run reads its table from a memory map: data.memory "map", or "auto" when X
    would take more than MAP_ABOVE of the memory free now (a CSV's X takes about its file's size
    in float64, half in float32)."""
    d = cfg.data
    if d.name not in TABLES or d.memory == "ram" or not os.path.isfile(d.path):
        return False                                    # (a missing file: the reader says so)
    if d.memory == "map":
        return True
    return _table_bytes(d, np.dtype(cfg.train.dtype).itemsize) > MAP_ABOVE * _free_memory()


class _Loaded:
    """The data as read: a Dataset (raw rows, file order) and, when mapped, the cache's table."""

    def __init__(self, dataset: datasets.Dataset, source=None):
        self.dataset, self.source = dataset, source

    X = property(lambda self: self.dataset.X)
    y = property(lambda self: self.dataset.y)
    task = property(lambda self: self.dataset.task)


def _load(cfg: Config, mapping: bool) -> _Loaded:
    d, options = cfg.data, cfg.data.options()
    if d.fingerprint is not None:
        _check_fingerprint(d.path, d.fingerprint)
    if mapping:
        from ..data import mapped
        table = mapped.convert(d.name, dtype=cfg.train.dtype, **options)
        return _Loaded(datasets.Dataset(table.X, table.y, table.task, table.feature_names, table.classes,
                                        table.name), table)
    if d.name in datasets.FILES:
        options["dtype"] = cfg.train.dtype               # X in the training dtype from the reader on
    data = datasets.load(d.name, **options)
    if d.name in datasets.GENERATED and d.features:      # derived inputs, from the raw plane
        data = data._replace(X=datasets.plane_features(data.X, d.features), feature_names=tuple(d.features))
    if d.name in datasets.BUNDLED and d.features:        # some of a bundled table's columns
        try:
            data = datasets.select_features(data, d.features)
        except DeepBasicsError as err:
            raise ConfigError("", "data.features", str(err), line=f"data.features: {err}") from None
    return _Loaded(data)


def _check_fingerprint(path: str, fingerprint: str) -> None:
    """The file's content is the one data.fingerprint names (the start of its SHA-256)."""
    digits = fingerprint.lower()
    found = datasets.file_fingerprint(path, len(digits))
    if found != digits:
        raise ConfigError("", "data.fingerprint", "", line=(
            f"data file {path} is not the one data.fingerprint names (its SHA-256 starts {found}, not {digits}); "
            f"put the original file there, or remove data.fingerprint to train on this one"))


def _mapped_in_split_order(table, order: np.ndarray, n_train: int, standardize: bool):
    """(X[order] standardised, as a memory map in the cache; the Standardizer): see
    ``mapped.split_ordered``. The file's tag is a digest of the order and the choices."""
    from ..data import mapped
    digest = hashlib.sha256(memoryview(np.ascontiguousarray(order)).cast("B"))
    digest.update(f"{order.dtype.name}/{n_train}/{bool(standardize)}".encode())
    X, mean, scale = mapped.split_ordered(table, order, n_train, digest.hexdigest()[:32], standardize)
    return X, Standardizer(mean, scale)


def _table_bytes(d, itemsize: int) -> float:
    """About how many bytes X of a CSV or Parquet table takes in memory."""
    if d.name == "parquet":
        import pyarrow.parquet as pq
        meta = pq.ParquetFile(d.path).metadata
        return float(meta.num_rows) * max(meta.num_columns - 1, 1) * itemsize
    return os.path.getsize(d.path) * itemsize / 8


def _free_memory() -> float:
    """Bytes of memory available now (Linux's MemAvailable; else the physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
