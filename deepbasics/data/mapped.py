"""Tables bigger than memory: a CSV or Parquet file converted once into a cached, memory-mapped .npy.

    cache_folder()                                                            -> Path
    convert(name, path, target, features=None, task="auto", dtype="float64",
            delimiter=",", progress=True)                                    -> MappedTable
    derived(table_or_X, order, mean, scale, tag, dtype=None)                  -> np.memmap (k, n)
    split_ordered(table, order, n_fit, tag, standardize=True)                -> (np.memmap (k, n), mean, scale)
    standardize_block(block, mean, scale, dtype)                              -> ndarray
    feature_stats(X, rows_or_slice, block=65_536)                             -> (mean (n,), std (n,))
    release(X)                                                                -> None

``convert`` streams the file through Arrow a block of rows at a time into X (m, n) of ``dtype``
on disk, holding in memory one block plus the target column (encoded at the end by the readers'
rules), and returns X opened read-only with ``np.load(..., mmap_mode="r")``. The values are bit
for bit those of ``readers.read_csv`` / ``readers.read_parquet`` (the same Arrow float64 parse,
the same cast to float32), and the errors are theirs, word for word.

The cache (``cache_folder()``) holds one folder per entry, named by its key:

    <cache>/<key>/X.npy            (m, n) float64 or float32, C order
    <cache>/<key>/y.npy            (m,) class indices 0..k-1 (uint8 up to 256 classes), or float64
                                   regression values
    <cache>/<key>/meta.json        feature names, classes, task, m, n, dtype, the source file's
                                   fingerprint and the options, the reader version
    <cache>/<key>/derived-<tag>-<dtype>.npy    (k, n) rows reordered and standardised (``derived``)

key = "<format>-" + the first 32 hex digits of SHA-256 over the source's fingerprint (resolved
path, size in bytes, mtime_ns, and a SHA-256 of its first and last MiB), the target, the
features as given, the delimiter, the task, the dtype and ``READER_VERSION``. A file that is
edited, touched or moved gets a new key; a later call with the same key reopens the entry after
reading just those 2 MiB of the source. An entry is built in a temporary folder ``.tmp-<key>-*``
beside it and renamed into place when complete, so a folder named by a key is always whole.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ..errors import DeepBasicsError
from ..fileio import atomic_write_text
from ..learn import paging
from ..learn.paging import release_pages as release  # noqa: F401  (mapped.release: part of this API)
from . import readers
from .splits import ROWS_PER_BLOCK as BLOCK_ROWS, gather_rows as _rows, standardize_block
from .splits import feature_stats  # noqa: F401  (the statistics, beside the formula, in splits)

CACHE_ENV = "DEEPBASICS_CACHE"
READER_VERSION = 2               # part of every key: raise it when the conversion's output changes
FORMATS = ("csv", "parquet")
MIB = 1 << 20
STALE_SECONDS = 86_400           # a temporary folder untouched this long is left from a crash
# Bytes of CSV text Arrow parses at a time (None: the readers' choice, 1 MiB or more), and rows of
# Parquet decoded at a time: a quarter of the readers' block, as fast, peaks lower (a 1M x 20 file:
# +117 MB instead of +160 MB above the interpreter). Tests set both small to cut files into blocks.
CSV_BLOCK_BYTES: int | None = None
PARQUET_BLOCK_ROWS = 16_384
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def cache_folder() -> Path:
    """Where entries live: ``$DEEPBASICS_CACHE`` when set, else the user's cache directory
    (``$XDG_CACHE_HOME``, or ~/.cache) / deepbasics / data."""
    setting = os.environ.get(CACHE_ENV, "")
    if setting:
        return Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "") or str(Path.home() / ".cache")
    return Path(base) / "deepbasics" / "data"


class MappedTable(NamedTuple):
    """A converted table: ``datasets.Dataset``'s fields, then where it lives.

    X              (m, n) read-only np.memmap of X.npy, float64 or float32
    y              (m,) read-only np.memmap of y.npy: class indices 0..k-1 in the smallest unsigned
                   type that holds them (uint8 up to 256 classes), or float64 values (regression)
    task           "binary", "multiclass" or "regression"
    feature_names  n names
    classes        k class names (the original labels), () for regression
    name           the source file's name ("data.csv")
    key            the entry's folder name
    folder         the entry's folder (Path)
    """
    X: np.memmap
    y: np.memmap
    task: str
    feature_names: tuple
    classes: tuple
    name: str
    key: str
    folder: Path


# -- the key ----------------------------------------------------------------------------------------
def fingerprint(path) -> dict:
    """The source file as the key sees it: resolved path, size, mtime_ns and the SHA-256 of its
    first min(size, 1 MiB) bytes followed by its last min(size, 1 MiB) bytes."""
    path = Path(path)
    try:
        resolved = path.resolve()
        stat = resolved.stat()
        if not resolved.is_file():
            raise DeepBasicsError(f"data file {str(path)!r} is not a file")
        digest = hashlib.sha256()
        with open(resolved, "rb") as f:
            head = f.read(MIB)
            digest.update(head)
            if stat.st_size > MIB:
                f.seek(stat.st_size - MIB)
                head = f.read(MIB)
            digest.update(head)
    except FileNotFoundError:
        raise DeepBasicsError(f"data file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise DeepBasicsError(f"cannot read {path}: {exc.strerror or exc}") from None
    return {"path": str(resolved), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "sha256_first_last_mib": digest.hexdigest()}


def entry_key(name: str, source: dict, target, features, task: str, dtype, delimiter) -> str:
    """"<name>-<32 hex digits>": SHA-256 of the fingerprint and the options (see the module)."""
    if isinstance(features, str):
        features = [features]
    spec = {"reader": READER_VERSION, "format": name, "source": source, "target": target,
            "features": None if features is None else [str(f) for f in features],
            "delimiter": delimiter if name == "csv" else None, "task": task,
            "dtype": np.dtype(dtype).name}
    text = json.dumps(spec, sort_keys=True, default=repr)
    return f"{name}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:32]}"


# -- converting -------------------------------------------------------------------------------------
def convert(name: str, path, target: str, features=None, task: str = "auto", dtype="float64",
            delimiter: str = ",", progress: bool = True) -> MappedTable:
    """The file at ``path`` ("csv" or "parquet") as a cache entry: converted on the first call,
    reopened on later ones with the same key (see the module: the key covers the source file's
    resolved path, size, mtime_ns and a SHA-256 of its first and last MiB, and the options).

    The arguments are those of ``datasets.load(name, path=..., ...)``, which gives the same X
    (bit for bit) and y in memory; the errors are the readers' one-line messages, and after an
    error nothing is left in the cache. ``progress``: a tqdm bar of the source's bytes read, on a
    terminal (stderr) only.
    """
    if name not in FORMATS:
        raise DeepBasicsError(f"convert reads {' or '.join(FORMATS)} files, got {name!r}")
    kind, task = readers.check_dtype(dtype), readers.check_task(task)
    if features is not None and not isinstance(features, str):
        features = list(features)                # read twice (the key, the columns): not an iterator
    path = Path(path)
    source = fingerprint(path)
    key = entry_key(name, source, target, features, task, kind, delimiter)
    cache = cache_folder()
    folder = cache / key
    table = _open_entry(folder, path.name)
    if table is not None:
        return table
    if folder.exists():                         # an entry that no longer opens: build it again
        shutil.rmtree(folder, ignore_errors=True)
    _sweep(cache)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=cache))
    except OSError as exc:
        raise DeepBasicsError(f"cannot write the data cache {cache}: {exc.strerror or exc}") from None
    try:
        meta = _build(work, name, path, target, features, task, kind, delimiter, progress)
        if fingerprint(path) != source:          # written to while read: the entry may mix versions
            raise DeepBasicsError(f"{path} changed while it was being converted into the data cache; "
                                  f"convert it again once it is complete")
        meta.update(reader_version=READER_VERSION, format=name, source=source, target=target,
                    delimiter=delimiter if name == "csv" else None, requested_task=task,
                    pyarrow=pa.__version__)
        _write_meta(work, meta)
        try:
            os.rename(work, folder)
        except OSError:
            if _open_entry(folder, path.name) is None:  # not another process's finished entry
                raise
            shutil.rmtree(work, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise DeepBasicsError(f"cannot convert {path} into the data cache {cache}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    table = _open_entry(folder, path.name)
    if table is None:
        raise DeepBasicsError(f"the data cache entry {folder} cannot be read back after writing it")
    return table


def _build(work: Path, name, path: Path, target, features, task, kind, delimiter, progress) -> dict:
    """X.npy and y.npy in ``work``; returns the entry's description for meta.json."""
    out = _GrowingNpy(work / "X.npy", kind)
    bar = _Bar(os.path.getsize(path), progress, f"caching {path.name}")
    try:
        if name == "csv":
            y, task, classes, features = _convert_csv(path, out, target, features, delimiter, task, kind, bar)
        else:
            y, task, classes, features = _convert_parquet(path, out, target, features, task, kind, bar)
        m = out.finish()
    finally:
        out.close()
        bar.close()
    if task != "regression":                   # class indices: a byte a row up to 256 classes
        y = y.astype(np.min_scalar_type(max(len(classes) - 1, 0)))
    with open(work / "y.npy", "wb") as f:
        np.save(f, y, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    return {"feature_names": list(features), "classes": list(classes), "task": task, "m": m,
            "n": len(features), "dtype": np.dtype(kind).name, "y_dtype": y.dtype.name}


def _write_meta(work: Path, meta: dict) -> None:
    with open(work / "meta.json", "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    try:                                       # the folder's listing reaches the disk before the rename
        fd = os.open(work, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _open_entry(folder: Path, name: str) -> MappedTable | None:
    """The entry in ``folder``, or None when there is none or it does not open whole."""
    if not (folder / "meta.json").is_file():
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        m, n = int(meta["m"]), int(meta["n"])
        X = np.load(folder / "X.npy", mmap_mode="r", allow_pickle=False)
        y = np.load(folder / "y.npy", mmap_mode="r", allow_pickle=False)
        if X.shape != (m, n) or X.dtype != np.dtype(meta["dtype"]) or y.shape != (m,) \
                or len(meta["feature_names"]) != n:
            return None
        return MappedTable(X, y, str(meta["task"]), tuple(meta["feature_names"]), tuple(meta["classes"]),
                           name, folder.name, folder)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _sweep(cache: Path) -> None:
    """Remove the temporary folders and files a crashed conversion left (untouched for a day)."""
    now = time.time()
    for leftover in [*cache.glob(".tmp-*"), *cache.glob("*/.tmp-*")]:
        try:
            times = [leftover.stat().st_mtime, *(p.stat().st_mtime for p in leftover.glob("*"))]
            if now - max(times) > STALE_SECONDS:
                shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
        except OSError:
            pass


class _GrowingNpy:
    """An (m, n) .npy file written a block of rows at a time, m known only at the end.

    The header is written first for shape (0, n): NumPy pads it so that a first dimension of up to
    21 digits fits in the same bytes, and ``finish`` rewrites it in place with (m, n). The data
    goes through ordinary writes (not a writable mapping), so the pages written never count in
    the process's resident memory.
    """

    def __init__(self, path: Path, kind):
        self.path, self.dtype, self.n, self.rows, self.start = path, np.dtype(kind), None, 0, 0
        self.file = open(path, "wb")
        self.scratch = np.empty((0, 0), dtype=self.dtype)

    def block(self, rows: int) -> np.ndarray:
        """A (rows, n) array to fill with the next rows before writing them: one buffer, grown when
        needed and reused, since the allocator would keep much of a fresh block for every block."""
        if self.scratch.shape[0] < rows or self.scratch.shape[1] != self.n:
            self.scratch = np.empty((max(rows, 2 * self.scratch.shape[0]), self.n), dtype=self.dtype)
        return self.scratch[:rows]

    def _header(self, m: int) -> None:
        np.lib.format.write_array_header_1_0(self.file, {
            "descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (m, self.n)})

    def restart(self, n: int) -> None:
        """Start (again) from the first row, n columns: a header for (0, n) and no data."""
        self.file.seek(0)
        self.file.truncate()
        self.n, self.rows = n, 0
        self._header(0)
        self.start = self.file.tell()

    def write(self, block: np.ndarray) -> None:
        self.file.write(np.ascontiguousarray(block, dtype=self.dtype))
        self.rows += len(block)

    def finish(self) -> int:
        """Write the final header and flush to disk; returns m."""
        if self.n is None:
            raise DeepBasicsError(f"{self.path}: nothing was written")
        self.file.seek(0)
        self._header(self.rows)
        if self.file.tell() != self.start:
            raise DeepBasicsError(f"{self.rows} rows do not fit the .npy header of {self.path}")
        self.file.flush()
        os.fsync(self.file.fileno())
        return self.rows

    def close(self) -> None:
        self.file.close()


class _Bar:
    """A tqdm bar of bytes read, shown only when asked for and stderr is a terminal."""

    def __init__(self, total: int, show: bool, desc: str):
        self.total, self.bar = total, None
        if show and getattr(sys.stderr, "isatty", lambda: False)():
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                            file=sys.stderr, leave=False, dynamic_ncols=True, mininterval=0.2)

    def to(self, done: float) -> None:
        """The source has been read up to byte ``done`` (back to 0 when a pass starts again)."""
        if self.bar is not None:
            done = int(min(max(done, 0), self.total))
            if done < self.bar.n:
                self.bar.reset(total=self.total)
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _from_reader(table: readers.Table, out: _GrowingNpy):
    """The conversion's result from the readers' in-memory table. The streaming passes leave a file
    to the reader when only it can word the error (it raises); should it read the file instead,
    its table is what the entry holds."""
    out.restart(table.X.shape[1])
    for start in range(0, len(table.X), BLOCK_ROWS):
        out.write(table.X[start:start + BLOCK_ROWS])
    return table.y, table.task, table.classes, table.feature_names


# -- CSV --------------------------------------------------------------------------------------------
def _convert_csv(path: Path, out: _GrowingNpy, target, features, delimiter, task, kind, bar: _Bar):
    """Stream the CSV into ``out``: (y, task, classes, feature names).

    The same two reads as ``readers.read_csv``, block by block: first the needed columns with the
    features parsed as float64 (dropping blank rows when every column is read); a block that needs
    a closer look (a null cell, a bad or infinite number, a missing label, a ragged row) starts a
    second pass over every column as text, which drops blank rows and names the first bad cell with
    the readers' functions. A ragged non-blank row or a parse error is left to ``readers.read_csv``
    itself, which numbers rows across the whole file.
    """
    layout = readers._csv_layout(path, delimiter)
    features = readers._choose_columns(path, layout.header, target, features)
    where = {h: str(i) for i, h in enumerate(layout.header)}          # a repeated name: its last column
    with open(path, "rb") as source:
        out.restart(len(features))
        labels = _csv_numbers_pass(path, source, layout, features, target, where, out, bar)
    if labels is None:
        with open(path, "rb") as source:
            out.restart(len(features))
            labels = _csv_text_pass(path, source, layout, features, target, where, out, bar)
    pa.default_memory_pool().release_unused()          # the blocks' memory back to the system, not kept
    if labels is None or not out.rows:
        return _from_reader(readers.read_csv(path, target, features, delimiter, task, kind), out)
    y, task, classes = _encode_labels(labels, task, f"target column {target!r}")
    return y, task, classes, features


def _encode_labels(chunks: list, task, source: str):
    """``readers._encode_strings`` of the stripped label chunks, in less memory when every label
    reads as a number: each chunk is cast to float64 straight into one (m,) array, which is what
    that function encodes then (Arrow's cast of the whole column is the casts of its chunks), with
    no copy of the column as a whole; text labels go to it as they are. Empties ``chunks``."""
    values = np.empty(sum(len(chunk) for chunk in chunks))
    row = 0
    try:
        for chunk in chunks:
            values[row:row + len(chunk)] = readers._numpy(pc.cast(chunk, pa.float64()))
            row += len(chunk)
    except pa.ArrowInvalid:
        del values
        labels = pa.chunked_array(chunks, pa.string())
        chunks.clear()
        return readers._encode_strings(labels, task, source, compact=True)
    chunks.clear()
    return readers.encode_target(values, task, source, compact=True)


def _open_csv(source, layout, types: dict, on_bad_row, quoted: bool):
    """Arrow's streaming reader with ``readers._read_arrow_csv``'s options: columns named "0", "1",
    ... by position, those in ``types`` only; rows with the wrong number of fields go to
    ``on_bad_row``."""
    names = [str(i) for i in range(len(layout.header))]
    return pa_csv.open_csv(
        source,
        read_options=pa_csv.ReadOptions(use_threads=True, column_names=names, skip_rows=layout.skip,
                                        block_size=CSV_BLOCK_BYTES or layout.block_size),
        parse_options=pa_csv.ParseOptions(delimiter=layout.delimiter, newlines_in_values=quoted,
                                          invalid_row_handler=on_bad_row),
        convert_options=pa_csv.ConvertOptions(column_types=types, include_columns=list(types),
                                              null_values=[""], strings_can_be_null=False,
                                              quoted_strings_can_be_null=True))


def _quoted(path: Path, lines: int) -> bool:
    """``readers._quoted`` (whether a quote follows the header's ``lines`` lines, or a lone carriage
    return sits among them) read through a 4 MiB buffer instead of a map of the whole file, whose
    pages would all count in the process's resident memory while the search runs."""
    with open(path, "rb") as f:
        text, end = b"", 0
        for _ in range(lines):
            while (stop := text.find(b"\n", end)) < 0:
                more = f.read(4 * MIB)
                if not more:
                    return True
                text += more
            end = stop + 1
        if text[:end].replace(b"\r\n", b"\n").find(b"\r") >= 0 or text.find(b'"', end) >= 0:
            return True
        while chunk := f.read(4 * MIB):
            if b'"' in chunk:
                return True
    return False


def _ragged_rows(delimiter: str):
    """(handler for Arrow's invalid rows, the list of non-blank ones it met): blank rows are
    skipped, like blank lines."""
    ragged = []

    def on_bad_row(row):
        if not readers._blank_row(row.text, delimiter):
            ragged.append(row.actual_columns)
        return "skip"
    return on_bad_row, ragged


def _csv_numbers_pass(path, source, layout, features, target, where, out: _GrowingNpy, bar: _Bar):
    """The first read: label chunks (stripped, blank rows dropped), or None when a block needs
    the text pass."""
    types = {where[name]: pa.float64() for name in features}
    types[where[target]] = pa.string()
    every_column = len(types) == len(layout.header)
    on_bad_row, ragged = _ragged_rows(layout.delimiter)
    labels = []
    try:
        for batch in _open_csv(source, layout, types, on_bad_row, _quoted(path, layout.skip)):
            found = _numbers_block(batch, features, target, where, every_column, out)
            if found is None or ragged:
                return None
            X, block_labels = found
            if len(X):
                out.write(X)
                labels.extend(block_labels.chunks)
            bar.to(source.tell())
    except (pa.ArrowInvalid, OSError):
        return None                              # a cell that is not a number, or worse: the text pass
    return None if ragged else labels


def _numbers_block(batch, features, target, where, every_column: bool, out: _GrowingNpy):
    """One block of the first read, as ``readers._csv_as_numbers`` takes the whole file: (X block,
    stripped labels), or None when a cell needs a closer look. Blank rows (a null in every feature
    and no label) are dropped when every column is read, since only then is the whole row known
    to be blank; a block of blank rows only gives an empty X."""
    table = pa.Table.from_batches([batch])
    labels = pc.utf8_trim_whitespace(table.column(where[target]))
    columns = [table.column(where[name]) for name in features]
    if any(column.null_count for column in columns):
        if not every_column:
            return None
        blank = readers._empty(labels)
        for column in columns:
            blank &= readers._numpy(pc.is_null(column))
        table, labels = table.filter(readers._mask(~blank)), labels.filter(readers._mask(~blank))
        columns = [table.column(where[name]) for name in features]
        if any(column.null_count for column in columns):
            return None
    X = out.block(table.num_rows)
    readers._copy(X, [readers._floats(column, X.dtype) for column in columns])
    if not np.isfinite(X).all() or readers._missing_labels(labels).any():
        return None
    return X, labels


def _csv_text_pass(path, source, layout, features, target, where, out: _GrowingNpy, bar: _Bar):
    """The second read, every column as text: label chunks, or None when ``readers.read_csv``
    must decide (a ragged non-blank row, a parse error). Raises the first bad cell's error.

    After a bad cell the rest of the file is still parsed: in ``readers.read_csv`` a parse error
    anywhere, or a ragged row before the cell, is what gets reported.
    """
    as_text = {str(i): pa.string() for i in range(len(layout.header))}
    on_bad_row, ragged = _ragged_rows(layout.delimiter)
    labels, rows, problem = [], 0, None
    try:
        for batch in _open_csv(source, layout, as_text, on_bad_row, True):
            if ragged:
                return None
            if problem is None:
                X, block_labels, problem = _text_block(path, batch, features, target, where, rows, out)
                if problem is None and len(X):
                    out.write(X)
                    labels.append(block_labels)
                    rows += len(X)
            bar.to(source.tell())
    except (pa.ArrowInvalid, OSError):
        return None
    if ragged:
        return None
    if problem is not None:
        raise DeepBasicsError(problem)
    return labels


def _text_block(path, batch, features, target, where, rows_before: int, out: _GrowingNpy):
    """One block of text, as ``readers._csv_as_text`` reads the whole file: (X block, stripped
    labels of the non-blank rows, the message of the block's first problem in reading order or
    None). Data rows are counted from 1 over the non-blank rows, ``rows_before`` in earlier blocks."""
    numbers = {where[name]: readers._text_numbers(batch.column(where[name])) for name in features}
    labels = pc.utf8_trim_whitespace(batch.column(where[target]))
    blank = readers._empty(labels)
    for _, empty, _, _ in numbers.values():
        blank &= empty
    for column in (str(i) for i in range(batch.num_columns) if str(i) not in numbers and str(i) != where[target]):
        if blank.any():                          # blank in the columns needed: and in the others?
            blank &= readers._empty(pc.utf8_trim_whitespace(batch.column(column)))
    data_row = rows_before + np.cumsum(~blank)
    X, kind = out.block(int((~blank).sum())), out.dtype.type
    problems = []
    for j, name in enumerate(features):
        values, problem = readers._column_problem(*numbers[where[name]], blank, kind)
        if problem is not None:
            i, what, cell, value = problem
            row = int(data_row[i])
            problems.append((row, 1 + j, readers._cell_message(path, name, row, what, cell, value, kind)))
        elif not problems:
            X[:, j] = values[~blank]
    i = readers._first(readers._missing_labels(labels) & ~blank)
    if i is not None:
        row = int(data_row[i])
        problems.append((row, 1 + len(features), f"{path}: target column {target!r} has a missing value (data row {row})"))
    if problems:
        return X, labels, min(problems)[2]
    return X, labels.filter(readers._mask(~blank)), None


# -- Parquet ----------------------------------------------------------------------------------------
def _convert_parquet(path: Path, out: _GrowingNpy, target, features, task, kind, bar: _Bar):
    """Stream the Parquet file into ``out`` as ``readers.read_parquet`` reads it: (y, task,
    classes, feature names). Column types the reader refuses are left to it for the message; the
    first bad cell (in reading order) is named with its functions, once the rest of the file has
    been decoded without a read error."""
    file = readers._open_parquet(path)
    schema = file.schema_arrow
    features = readers._choose_columns(path, schema.names, target, features)
    label_type = schema.field(target).type
    m = file.metadata.num_rows
    if m == 0 or not readers._label_type(label_type) or \
            not all(readers._number_type(schema.field(name).type) for name in features):
        return _from_reader(readers.read_parquet(path, target, features, task, kind), out)
    wanted = set(features) | {target}
    needed = [name for name in schema.names if name in wanted]
    out.restart(len(features))
    labels, row, bad, size = [], 0, None, os.path.getsize(path)
    try:
        for batch in file.iter_batches(batch_size=PARQUET_BLOCK_ROWS, columns=needed, use_threads=True):
            if row + batch.num_rows > m:
                raise DeepBasicsError(f"cannot read {path} as Parquet: its pages hold more than the {m} rows "
                                      f"its footer promises")
            if bad is None:
                bad = _parquet_block(batch, features, target, label_type, row, out, labels)
            row += batch.num_rows
            bar.to(size * row / m)
    except (pa.ArrowException, OSError) as exc:
        raise DeepBasicsError(f"cannot read {path} as Parquet: {readers._one_line(exc)}") from None
    if row != m:
        raise DeepBasicsError(f"cannot read {path} as Parquet: its footer promises {m} rows, its pages hold {row}")
    pa.default_memory_pool().release_unused()          # the blocks' memory back to the system, not kept
    source = f"target column {target!r}"
    if bad is not None:
        r, j, value = bad
        raise DeepBasicsError(readers._parquet_cell(path, file, features[j], r, value, kind) if j < len(features)
                              else f"{path}: {source} has a missing value (data row {r + 1})")
    if isinstance(labels[0], np.ndarray):
        y, task, classes = readers.encode_target(np.concatenate(labels) if len(labels) > 1 else labels[0],
                                                 task, source, compact=True)
    else:
        y, task, classes = readers._encode_strings(pa.chunked_array(labels, pa.string()), task, source, compact=True)
    return y, task, classes, features


def _parquet_block(batch, features, target, label_type, row0: int, out: _GrowingNpy, labels: list):
    """Write one decoded block to ``out`` and keep its labels (float64 values, or stripped text, as
    ``readers.read_parquet`` turns the whole column into); or return its first bad cell as (data
    row index, column index (n for the target), value), the first in reading order."""
    block = out.block(batch.num_rows)
    readers._copy(block, [readers._floats(batch.column(name), block.dtype) for name in features])
    column = batch.column(target)
    if pa.types.is_boolean(label_type):
        column = pc.if_else(column, readers._TRUE, readers._FALSE)
    if pa.types.is_integer(column.type) and not column.null_count and len(column):
        values = _small_ints(readers._numpy(column))
        missing = np.zeros(len(values), dtype=bool)
    elif readers._number_type(column.type):
        values = readers._numpy(pc.cast(column, pa.float64(), safe=False))
        missing = np.isnan(values)
    else:
        values = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
        missing = readers._missing_labels(values)
    problems = []
    if not np.isfinite(block).all():
        r, j = divmod(int(np.argmax(~np.isfinite(block))), block.shape[1])
        problems.append((r, j, block[r, j]))
    r = readers._first(missing)
    if r is not None:
        problems.append((r, len(features), None))
    if problems:
        r, j, value = min(problems, key=lambda p: p[:2])
        return row0 + r, j, value
    out.write(block)
    labels.append(values)
    return None


def _small_ints(values: np.ndarray) -> np.ndarray:
    """Integer labels in the smallest type that holds this block's range (a byte a row for 0/1),
    or as float64 (what other numbers become) beyond 2**53, where float64 would round them."""
    low, high = int(values.min()), int(values.max())
    if max(-low, high) > 2**53:
        return values.astype(np.float64)
    return values.astype(np.result_type(np.min_scalar_type(low), np.min_scalar_type(high)), copy=False)


# -- derived copies, standardising, statistics --------------------------------------------------------
def derived(table_or_X, order, mean, scale, tag: str, dtype=None) -> np.memmap:
    """The rows X[order] standardised, (x - mean) / scale (``standardize_block``), as a read-only
    np.memmap (k, n) of ``dtype`` (default: X's) stored in the entry as derived-<tag>-<dtype>.npy.

    ``table_or_X``: a MappedTable, or the X of one. ``order``: (k,) int row indices. ``tag``: a
    short name the caller derives from the split and the standardisation (letters, digits, _ . -).
    Written ``BLOCK_ROWS`` rows at a time, beside the file and renamed into place; a later call
    with the same tag, k, n and dtype reopens the file without reading X.
    """
    if isinstance(table_or_X, MappedTable):
        X, folder = table_or_X.X, table_or_X.folder
    elif isinstance(table_or_X, np.memmap) and getattr(table_or_X, "filename", None):
        X, folder = table_or_X, Path(table_or_X.filename).parent
    else:
        raise DeepBasicsError("derived needs a MappedTable or its memory-mapped X")
    kind = readers.check_dtype(X.dtype if dtype is None else dtype)
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise DeepBasicsError(f"tag must be 1-64 letters, digits, '_', '.' or '-' (not starting with '.' "
                              f"or '-'), got {tag!r}")
    order = np.asarray(order)
    m, n = X.shape
    if order.ndim != 1 or (len(order) and order.dtype.kind not in "iu"):
        raise DeepBasicsError(f"order must be a 1-D array of row indices, got {order.dtype} of shape {order.shape}")
    if len(order) and (int(order.min()) < 0 or int(order.max()) >= m):
        raise DeepBasicsError(f"order holds row indices outside 0..{m - 1}")
    mean, scale = np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64)
    if mean.shape != (n,) or scale.shape != (n,):
        raise DeepBasicsError(f"mean and scale must have shape ({n},), got {mean.shape} and {scale.shape}")
    path = folder / f"derived-{tag}-{np.dtype(kind).name}.npy"
    try:
        found = np.load(path, mmap_mode="r", allow_pickle=False)
        if found.shape == (len(order), n) and found.dtype == kind:
            return found
    except (OSError, ValueError):
        pass
    _write_derived(path, X, order.astype(np.int64, copy=False), mean, scale, kind)
    return np.load(path, mmap_mode="r", allow_pickle=False)


def split_ordered(table: MappedTable, order, n_fit: int, tag: str, standardize: bool = True):
    """(Xs, mean, scale): the rows X[order] as a read-only np.memmap of X's dtype, standardised
    with the statistics of its first ``n_fit`` rows (``feature_stats``; mean 0 and scale 1 when
    ``standardize`` is False), stored in the entry as derived-<tag>-<dtype>.npy with the
    statistics beside it (.json). A later call with the same tag reopens both.

    Three passes, each with the resident memory of a block: the rows gathered in ``order``
    (``paging.gather``, CHUNK_BYTES of rows at a time) into a temporary file; the statistics
    read forwards from it; the standardised rows written from it. The numbers are those of the
    in-memory path bit for bit: the same rows in the same order, the same sums, the same formula.
    """
    X, order = table.X, np.asarray(order)
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise DeepBasicsError(f"tag must be 1-64 letters, digits, '_', '.' or '-', got {tag!r}")
    path = table.folder / f"derived-{tag}-{X.dtype.name}.npy"
    found = _open_split_ordered(path, (len(order), X.shape[1]), X.dtype)
    if found is not None:
        return found
    raw = _write_rows(path.parent, ".tmp-rows-", (len(order), X.shape[1]), X.dtype,
                      (paging.gather(X, order[a:a + rows]) for a, rows in _chunks(len(order), X)))
    try:
        rows = np.load(raw, mmap_mode="r", allow_pickle=False)
        if standardize:
            mean, std = feature_stats(rows, slice(0, n_fit))
            scale = np.where(std > 0, std, 1.0)
            done = _write_rows(path.parent, ".tmp-derived-", rows.shape, X.dtype,
                               (standardize_block(b, mean, scale, X.dtype) for _, _, b in paging.scan(rows)))
        else:
            mean, scale, done = np.zeros(X.shape[1]), np.ones(X.shape[1]), raw
        del rows
        atomic_write_text(path.with_suffix(".json"),          # floats as repr: they read back bit for bit
                          json.dumps({"mean": mean.tolist(), "scale": scale.tolist()}))
        os.replace(done, path)
    finally:
        _unlink(raw)
    return _open_split_ordered(path, (len(order), X.shape[1]), X.dtype)


def _chunks(k: int, X):
    """(first row, rows) of the pieces of k rows of X to gather at a time."""
    rows = max(1, paging.CHUNK_BYTES // max(1, X[:1].nbytes))
    return ((a, rows) for a in range(0, k, rows))


def _open_split_ordered(path: Path, shape: tuple, kind):
    """(X, mean, scale) of a split-ordered file written before, or None."""
    try:
        stats = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        found = np.load(path, mmap_mode="r", allow_pickle=False)
        mean, scale = np.array(stats["mean"], dtype=np.float64), np.array(stats["scale"], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if found.shape != shape or found.dtype != kind or mean.shape != scale.shape != (shape[1],):
        return None
    return found, mean, scale


def _write_rows(folder: Path, prefix: str, shape: tuple, kind, blocks) -> str:
    """A temporary .npy in ``folder`` of ``shape`` and ``kind`` from consecutive row blocks,
    flushed to disk; returns its path (the caller renames or removes it)."""
    try:
        fd, work = tempfile.mkstemp(prefix=prefix, suffix=".npy", dir=folder)
    except OSError as exc:
        raise DeepBasicsError(f"cannot write into the data cache {folder}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            np.lib.format.write_array_header_1_0(f, {
                "descr": np.lib.format.dtype_to_descr(np.dtype(kind)), "fortran_order": False, "shape": shape})
            for block in blocks:
                f.write(np.ascontiguousarray(block, dtype=kind))
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        _unlink(work)
        raise DeepBasicsError(f"cannot write into the data cache {folder}: {exc.strerror or exc}") from None
    except BaseException:
        _unlink(work)
        raise
    return work


def _write_derived(path: Path, X, order: np.ndarray, mean, scale, kind) -> None:
    blocks = (standardize_block(_rows(X, order[a:a + BLOCK_ROWS]), mean, scale, kind)
              for a in range(0, len(order), BLOCK_ROWS))
    work = _write_rows(path.parent, ".tmp-derived-", (len(order), X.shape[1]), kind, blocks)
    try:
        os.replace(work, path)
    except OSError as exc:
        _unlink(work)
        raise DeepBasicsError(f"cannot write {path}: {exc.strerror or exc}") from None


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# -- letting go of read pages ----------------------------------------------------------------------
