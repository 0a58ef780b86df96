"""The user's tables read through Apache Arrow: CSV and Parquet at the speed of the disk.

    read_csv(path, target, features=None, delimiter=",", task="auto", dtype="float64") -> Table
    read_parquet(path, target, features=None, task="auto", dtype="float64")             -> Table
    encode_target(values, task="auto", source="target")                                 -> (y, task, classes)

A ``Table`` holds X (m, n) in the requested dtype ("float64" or "float32"), y (m,) (int64 class
indices 0..k-1, or float64 values for regression), the task, the n feature names and the k class
names. Only the feature and target columns are read. Arrow parses the text on every core into
columns; each column is then copied once into one preallocated (m, n) array, a few thousand rows
at a time (those rows of X stay in the cache while their n columns are written), and Arrow's
memory is let go block by block.

The rules are the same for both formats:

* features are numbers as Arrow reads them (decimal or exponent notation, inf and nan spellings;
  not Python's "1_000" nor other scripts' digits); a missing cell (empty, NA, NaN, null, None or
  ?, any case, surrounding blanks ignored), a non-number or an infinite value is an error naming
  the column and the data row (rows counted from 1 after the header, blank rows not counted);
* the target column's labels are stripped of surrounding blanks; numbers with at most
  ``MAX_CLASSES_AUTO`` distinct whole values, or any text, are classes (sorted, numbered 0..k-1,
  ``classes`` keeping their spelling); other numbers are a regression target (``encode_target``).

A CSV file is read twice only when something is wrong with it: the first read converts the
features to floating point straight away; if that meets a cell that is not a finite number, a
row with the wrong number of fields, or a blank row it cannot place, a second read keeps every
cell as text and finds the first problem in reading order with whole-column operations (or,
when the only oddity was blank rows, builds X from that text).
"""
from __future__ import annotations

import csv
import io
import mmap
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ..errors import DeepBasicsError

MAX_CLASSES_AUTO = 20        # an integer target with at most this many values is read as classes
DTYPES = {"float64": np.float64, "float32": np.float32}
TASKS = ("auto", "classification", "regression")
MISSING = ("", "na", "nan", "null", "none", "?")      # a cell, stripped and lower-cased, that means "no value"
ROWS_PER_BLOCK = 65_536      # Parquet rows decoded at a time
ROWS_PER_COPY = 4_096        # rows of X written column by column at a time (4096 x 20 float64: 640 KiB)


# -- Arrow <-> NumPy, from the buffers ------------------------------------------------------------
# pyarrow's own bridges (to_numpy, pa.array, pa.scalar) consult pandas, and so import it when it is
# installed (about half a second); the few conversions the readers need go through the buffers.
_NUMPY_TYPES = {pa.float64(): np.float64, pa.float32(): np.float32, pa.bool_(): np.bool_,
                **{getattr(pa, f"{s}int{b}")(): np.dtype(f"{s}int{b}") for s in ("", "u") for b in (8, 16, 32, 64)}}


def _text(items) -> pa.Array:
    """Python strings -> an Arrow string array."""
    encoded = [item.encode("utf-8") for item in items]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(encoded), buffers)


def _mask(mask: np.ndarray) -> pa.Array:
    """A NumPy bool array -> an Arrow bool array."""
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(np.packbits(mask, bitorder="little"))])


def _bits(buffer, offset: int, length: int) -> np.ndarray:
    """``length`` bits of an Arrow bitmap from bit ``offset`` -> a NumPy bool array."""
    raw = np.frombuffer(buffer, dtype=np.uint8)
    return np.unpackbits(raw, count=offset + length, bitorder="little")[offset:].view(np.bool_)


def _numpy(array) -> np.ndarray:
    """An Arrow float64 / float32 / integer / bool array (or chunked array) -> NumPy: a
    read-only view of Arrow's buffer for one chunk without nulls, else a copy; nulls become NaN
    (in a bool array, True)."""
    dtype = np.dtype(_NUMPY_TYPES[array.type])
    if isinstance(array, pa.ChunkedArray):
        parts = [_numpy(chunk) for chunk in array.chunks]
        return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(0, dtype)
    n, offset = len(array), array.offset
    if n == 0:
        return np.empty(0, dtype)
    if dtype == np.bool_:
        values = _bits(array.buffers()[1], offset, n)
    else:
        values = np.frombuffer(array.buffers()[1], dtype=dtype, count=n, offset=offset * dtype.itemsize)
    if array.null_count:
        valid = _bits(array.buffers()[0], offset, n)
        values = values | ~valid if dtype == np.bool_ else np.where(valid, values, np.nan)
    return values


_MISSING = _text(MISSING)
_ZERO, _TRUE, _FALSE = _text(["0", "True", "False"])


class Table(NamedTuple):
    """A table read from a file: the fields of ``datasets.Dataset`` but its name."""
    X: np.ndarray
    y: np.ndarray
    task: str
    feature_names: tuple
    classes: tuple


def check_dtype(dtype) -> type:
    """"float64" or "float32" (or np.float64 / np.float32 / their np.dtype) -> the NumPy type."""
    for name, kind in DTYPES.items():
        if dtype is kind or (isinstance(dtype, str) and dtype == name) or \
                (isinstance(dtype, np.dtype) and dtype == kind):
            return kind
    raise DeepBasicsError(f"dtype must be float64 or float32, got {dtype!r}")


def _one_line(exc: Exception) -> str:
    """An exception's message on one line (Arrow's can hold several)."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def check_task(task) -> str:
    """"auto", "classification" or "regression"."""
    if task not in TASKS:
        raise DeepBasicsError(f"task must be auto, classification or regression, got {task!r}")
    return task


# -- the target -----------------------------------------------------------------------------------
def encode_target(values, task: str = "auto", source: str = "target", compact: bool = False):
    """Labels -> (y, task, classes).

    ``values``: label strings (a list, a NumPy string array or an Arrow string array), or a NumPy
    array of numbers. Strings that all read as numbers count as numbers. task "auto": numbers with
    at most MAX_CLASSES_AUTO distinct whole values, or any non-numbers, are classes; other numbers
    are a regression target. Classes are sorted (numerically when they are numbers) and numbered
    0..k-1; ``classes`` keeps their original spelling (numbers as "3" or "0.5"). Class indices are
    int64, or with ``compact`` the smallest unsigned type that holds them (uint8 up to 256).
    """
    check_task(task)
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        numbers = values if values.dtype.kind in "iu" else values.astype(np.float64, copy=False)
        return _encode_numbers(numbers, task, source, compact)
    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = _text([str(v) for v in (values.tolist() if isinstance(values, np.ndarray) else values)])
    return _encode_strings(values, task, source, compact)


ENCODE_ROWS = 1 << 20          # labels checked and numbered this many at a time (memory: a block)


def _blocks(values: np.ndarray):
    return (values[a:a + ENCODE_ROWS] for a in range(0, len(values), ENCODE_ROWS))


def _encode_numbers(numbers: np.ndarray, task: str, source: str, compact: bool = False):
    """Numbers (m,), integers or float64 -> (y, task, classes); see ``encode_target``."""
    floats = numbers.dtype.kind == "f"
    finite = not floats or all(bool(np.isfinite(b).all()) for b in _blocks(numbers))
    whole = finite and (not floats or all(bool((b == np.round(b)).all()) for b in _blocks(numbers)))
    if task == "auto" and not whole:
        task = "regression"
    if task == "regression":
        if not finite:
            raise DeepBasicsError(f"{source} contains NaN or infinite values")
        return _own(numbers.astype(np.float64, copy=False)), "regression", ()
    uniq, y = _unique_whole(numbers, compact) if whole else (None, None)
    if uniq is None:
        uniq, y = np.unique(numbers.astype(np.float64, copy=False), return_inverse=True)
    if task == "auto" and len(uniq) > MAX_CLASSES_AUTO:
        return _own(numbers.astype(np.float64, copy=False)), "regression", ()
    return _classes(y, tuple(_tidy(v) for v in uniq), source, compact)


def _unique_whole(numbers: np.ndarray, compact: bool = False):
    """np.unique(numbers, return_inverse=True) for whole numbers in a range no wider than the
    array, by counting instead of sorting (linear time, a block at a time), the inverse of the
    smallest type when ``compact``; (None, None) for a wider range."""
    low, high = float(numbers.min()), float(numbers.max())
    if high - low >= max(1024, len(numbers)):
        return None, None
    span = int(high - low) + 1
    counts = np.zeros(span, dtype=np.int64)
    for b in _blocks(numbers):
        counts += np.bincount((b - low).astype(np.int64), minlength=span)
    present = np.flatnonzero(counts)
    index = np.empty(span, dtype=np.min_scalar_type(max(len(present) - 1, 0)) if compact else np.int64)
    index[present] = np.arange(len(present))
    y = np.empty(len(numbers), dtype=index.dtype)
    for a, b in zip(range(0, len(numbers), ENCODE_ROWS), _blocks(numbers)):
        y[a:a + len(b)] = index[(b - low).astype(np.int64)]
    return present + low, y


def _encode_strings(labels, task: str, source: str, compact: bool = False):
    """Label strings (an Arrow array) -> (y, task, classes); numbers when every label reads as one."""
    try:
        numbers = pc.cast(pc.utf8_trim_whitespace(labels), pa.float64())
    except pa.ArrowInvalid:
        numbers = None
    if numbers is not None:
        return _encode_numbers(_numpy(numbers), task, source, compact)
    # Python's float() reads a few spellings Arrow does not ("1_000", other scripts' digits); it
    # decides over the distinct labels, and stops at the first that is not a number.
    uniq = pc.unique(labels)
    codes = _numpy(pc.index_in(labels, value_set=uniq)).astype(np.int64)
    names = uniq.to_pylist()
    try:
        values = np.array([float(v) for v in names])
    except ValueError:
        values = None
    if values is not None:
        return _encode_numbers(values[codes], task, source, compact)
    if task == "regression":
        bad = next(v for v in names if not _is_number(v))
        raise DeepBasicsError(f"{source} must be numeric for regression, found {bad!r}")
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return _classes(rank[codes], tuple(names[i] for i in order), source, compact)


def _own(values: np.ndarray) -> np.ndarray:
    """A writable array: a copy of a read-only view of Arrow's memory."""
    return values if values.flags.writeable else values.copy()


def _classes(y: np.ndarray, classes: tuple, source: str, compact: bool = False):
    if len(classes) < 2:
        raise DeepBasicsError(f"{source} has a single class ({classes[0]!r}); a classifier needs at least two")
    kind = np.min_scalar_type(len(classes) - 1) if compact else np.int64
    return y.astype(kind, copy=False), ("binary" if len(classes) == 2 else "multiclass"), classes


def _is_number(text) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _tidy(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _missing_labels(labels) -> np.ndarray:
    """(m,) bool: the stripped strings that mean "no value" (empty, NA, NaN, null, None, ?; nulls)."""
    return _numpy(pc.or_kleene(pc.is_null(labels), pc.is_in(pc.utf8_lower(labels), value_set=_MISSING)))


def _first(mask: np.ndarray):
    """Index of the first True in a 1-D bool array, or None."""
    i = int(np.argmax(mask)) if len(mask) else 0
    return i if len(mask) and mask[i] else None


# -- choosing the columns -------------------------------------------------------------------------
def _choose_columns(path: Path, header: list, target: str, features) -> list:
    if not isinstance(target, str) or not target:
        raise DeepBasicsError(f"reading {path} needs the name of its target column (data.target)")
    if target not in header:
        raise DeepBasicsError(f"target column {target!r} not found in {path}; its columns are: {', '.join(header)}")
    if features is None:
        features = [h for h in header if h != target]
    elif isinstance(features, str):
        features = [features]
    features = list(features)
    for name in features:
        if name not in header:
            raise DeepBasicsError(f"feature column {name!r} not found in {path}; its columns are: {', '.join(header)}")
        if name == target:
            raise DeepBasicsError(f"column {name!r} is the target; it cannot also be a feature")
    if not features:
        raise DeepBasicsError(f"{path} has no feature columns besides the target {target!r}")
    return features


def _fill(X: np.ndarray, columns: list) -> bool:
    """Move Arrow columns of numbers (each of X.shape[0] values) into X, column j into X[:, j].

    Goes block of rows by block of rows (the record batches, zero-copy slices of the columns), so
    that the block of X being written stays in the cache; ``columns`` is emptied and each block's
    Arrow memory let go once copied, so that memory holds little more than X at the end. A null
    becomes NaN. Returns whether every value written is finite.
    """
    table = pa.Table.from_arrays(columns, names=[str(j) for j in range(len(columns))])
    columns.clear()
    batches = table.to_batches()
    del table
    finite, row = True, 0
    for b in range(len(batches)):
        batch, batches[b] = batches[b], None
        block = X[row:row + batch.num_rows]
        _copy(block, [_floats(batch.column(j), X.dtype) for j in range(batch.num_columns)])
        finite = finite and bool(np.isfinite(block).all())
        row += batch.num_rows
    pa.default_memory_pool().release_unused()          # the freed blocks back to the system, not kept
    return finite


def _copy(block: np.ndarray, columns: list) -> None:
    """block[:, j] = columns[j], ROWS_PER_COPY rows at a time, so that the rows being written
    stay in the cache while each of their n columns is written (a float32 block takes a value
    beyond float32's range as inf)."""
    with np.errstate(over="ignore"):
        for start in range(0, len(block), ROWS_PER_COPY):
            rows = slice(start, start + ROWS_PER_COPY)
            part = block[rows]
            for j, column in enumerate(columns):
                part[:, j] = column[rows]


def _floats(array: pa.Array, dtype) -> np.ndarray:
    """A numeric Arrow array as a NumPy array X can take (nulls as NaN): a view when it is already
    of X's type or float64, else through float64. Whole numbers go through float64 for a float32
    X too, so a column rounds to float32 the same way whether it was read as text, as integers or
    as float64."""
    kind = array.type
    if kind == pa.float64() or (kind == pa.float32() and dtype == np.float32):
        return _numpy(array)
    return _numpy(pc.cast(array, pa.float64(), safe=False))


# -- CSV --------------------------------------------------------------------------------------------
class _CsvLayout(NamedTuple):
    header: list             # column names, stripped
    skip: int                # physical lines up to and including the header
    delimiter: str
    block_size: int          # bytes Arrow parses at a time: room for many rows as long as the header


def _csv_layout(path: Path, delimiter: str) -> _CsvLayout:
    """The header row: the first row with a non-blank cell (after a UTF-8 byte order mark), as
    Python's csv module reads it. A header with no such row after it is an error."""
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise DeepBasicsError(f"delimiter must be one character (not a quote or a line break), got {delimiter!r}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            rows = (row for row in reader if any(cell.strip() for cell in row))
            header = next(rows, None)
            skip = reader.line_num
            if header is not None and next(rows, None) is None:
                raise DeepBasicsError(f"{path} has a header but no data rows")
    except FileNotFoundError:
        raise DeepBasicsError(f"data file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DeepBasicsError(f"cannot read {path} as CSV text: {_one_line(exc)}") from None
    if header is None:
        raise DeepBasicsError(f"{path} is empty: expected a header row and data rows")
    width = 4 * sum(len(cell) + 1 for cell in header)         # UTF-8: at most 4 bytes a character
    return _CsvLayout([cell.strip() for cell in header], skip, delimiter, max(1 << 20, 64 * width))


def _quoted(path: Path, lines: int) -> bool:
    """Whether a quote character follows the first ``lines`` lines (the header), searched for in
    the mapped file at memory speed. A file without one cannot hold a line break inside a value,
    and Arrow then cuts it into blocks at any line break (a quarter less work than tracking
    quotes). Unsure (a lone carriage return in the header's lines) counts as quoted."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as text:
        end = 0
        for _ in range(lines):
            end = text.find(b"\n", end) + 1
            if end == 0:
                return True
        if text[:end].replace(b"\r\n", b"\n").find(b"\r") >= 0:
            return True
        return text.find(b'"', end) >= 0


def _blank_row(text: str, delimiter: str) -> bool:
    """Whether a row's text holds only blank cells (such rows are skipped, as blank lines are)."""
    try:
        return all(not cell.strip() for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row)
    except csv.Error:
        return False


def _read_arrow_csv(path: Path, layout: _CsvLayout, types: dict, threads: bool, on_bad_row, quoted=True):
    """Arrow's parse of the data rows: columns named "0", "1", ... by position, those in ``types``
    only. Rows with the wrong number of fields go to ``on_bad_row`` and are left out. ``quoted``
    False (no quote after the header) lets Arrow cut the text into blocks at any line break."""
    names = [str(i) for i in range(len(layout.header))]
    return pa_csv.read_csv(
        path,
        read_options=pa_csv.ReadOptions(use_threads=threads, column_names=names, skip_rows=layout.skip,
                                        block_size=layout.block_size),
        parse_options=pa_csv.ParseOptions(delimiter=layout.delimiter, newlines_in_values=quoted,
                                          invalid_row_handler=on_bad_row),
        convert_options=pa_csv.ConvertOptions(column_types=types, include_columns=list(types),
                                              null_values=[""], strings_can_be_null=False,
                                              quoted_strings_can_be_null=True))


def read_csv(path, target: str, features=None, delimiter: str = ",", task: str = "auto",
             dtype="float64") -> Table:
    """Read a CSV file with a header row: the numeric ``features`` columns (default: all but the
    target) into X (m, n) of ``dtype``, and the ``target`` column encoded by ``encode_target``.

    Quoted fields (with the delimiter, doubled quotes or line breaks inside), a UTF-8 byte order
    mark, blank lines and blank rows are read as Python's csv module reads them. Errors name the
    column and the data row of the first problem in reading order.
    """
    path, kind, task = Path(path), check_dtype(dtype), check_task(task)
    layout = _csv_layout(path, delimiter)
    features = _choose_columns(path, layout.header, target, features)
    where = {h: str(i) for i, h in enumerate(layout.header)}          # a repeated name: its last column
    found = _csv_as_numbers(path, layout, features, target, kind, where)
    if found is None:                                  # something is off: read it all again, as text
        found = _csv_as_text(path, layout, features, target, kind, where)
    X, labels = found
    y, task, classes = _encode_strings(labels, task, f"target column {target!r}")
    return Table(X, y, task, tuple(features), classes)


def _csv_as_numbers(path: Path, layout: _CsvLayout, features: list, target: str, kind, where: dict):
    """The first read, features straight to float64 on every core: (X, stripped labels), or None
    when a cell, a row or a blank row needs a closer look.

    Blank rows (",,,", which a spreadsheet leaves at the end) hold a null in every feature column
    and an empty label; they are dropped here when every column of the file is read, since only
    then is the whole row known to be blank.
    """
    types = {where[name]: pa.float64() for name in features}
    types[where[target]] = pa.string()
    ragged = []

    def on_bad_row(row):                               # a row of blank cells is skipped, like a blank line
        if not _blank_row(row.text, layout.delimiter):
            ragged.append(row.actual_columns)
        return "skip"

    try:
        table = _read_arrow_csv(path, layout, types, True, on_bad_row, _quoted(path, layout.skip))
    except pa.ArrowInvalid:
        return None                                    # a cell that is not a number
    except OSError as exc:
        raise DeepBasicsError(f"cannot read {path} as CSV text: {_one_line(exc)}") from None
    if ragged or not table.num_rows:
        return None
    labels = pc.utf8_trim_whitespace(table.column(where[target]))
    columns = [table.column(where[name]) for name in features]
    if any(column.null_count for column in columns):
        if len(types) < len(layout.header):
            return None
        blank = _empty(labels)
        for column in columns:
            blank &= _numpy(pc.is_null(column))
        table, labels = table.filter(_mask(~blank)), labels.filter(_mask(~blank))
        columns = [table.column(where[name]) for name in features]
        if any(column.null_count for column in columns) or not table.num_rows:
            return None
    X = np.empty((table.num_rows, len(features)), dtype=kind)
    del table                                          # X's fill lets Arrow's blocks go one by one
    if not _fill(X, columns) or _missing_labels(labels).any():
        return None
    return X, labels


def _csv_as_text(path: Path, layout: _CsvLayout, features: list, target: str, kind, where: dict):
    """Every cell as text: the first problem in reading order as an error, else (X, stripped
    labels) without the blank rows.

    A data row is a row with a non-blank cell, counted from 1. Rows with the wrong number of fields
    are left out of Arrow's table; when some are not blank, a second read on one thread numbers
    them (``_number_rows``) so that they take their place among the data rows.
    """
    header, delimiter = layout.header, layout.delimiter
    as_text = {str(i): pa.string() for i in range(len(header))}
    ragged, numbered = [], []

    def on_bad_row(row):
        if not _blank_row(row.text, delimiter):
            ragged.append(row.actual_columns)
        return "skip"

    def number_bad_row(row):
        numbered.append((row.number, row.actual_columns, _blank_row(row.text, delimiter)))
        return "skip"

    try:
        table = _read_arrow_csv(path, layout, as_text, True, on_bad_row)
        if ragged:
            table = _read_arrow_csv(path, layout, as_text, False, number_bad_row)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DeepBasicsError(f"cannot read {path} as CSV text: {_one_line(exc)}") from None
    numbers = {where[name]: _text_numbers(table.column(where[name])) for name in features}
    labels = pc.utf8_trim_whitespace(table.column(where[target]))
    blank = _empty(labels)
    for _, empty, _, _ in numbers.values():
        blank &= empty
    maybe = np.flatnonzero(blank)                   # blank in the columns needed: and in the others?
    for column in (str(i) for i in range(len(header)) if str(i) not in numbers and str(i) != where[target]):
        if len(maybe):
            blank[maybe] &= _empty(pc.utf8_trim_whitespace(table.column(column).take(_indices(maybe))))
    problems = []                                   # (data row, order in the row, message)
    if numbered:
        data_row, problem = _number_rows(path, numbered, layout.skip, blank, len(header))
        problems.append(problem)
    else:
        data_row = np.cumsum(~blank)                # table row i -> its data row
    X = np.empty((int((~blank).sum()), len(features)), dtype=kind)
    for j, name in enumerate(features):
        values, problem = _column_problem(*numbers[where[name]], blank, kind)
        if problem is not None:
            i, what, cell, value = problem
            row = int(data_row[i])
            problems.append((row, 1 + j, _cell_message(path, name, row, what, cell, value, kind)))
        elif not problems:
            X[:, j] = values[~blank]
    i = _first(_missing_labels(labels) & ~blank)
    if i is not None:
        problems.append((int(data_row[i]), 1 + len(features),
                         f"{path}: target column {target!r} has a missing value (data row {int(data_row[i])})"))
    if problems:
        raise DeepBasicsError(min(problems)[2])
    if not len(X):
        raise DeepBasicsError(f"{path} has a header but no data rows")
    return X, labels.filter(_mask(~blank))


def _indices(rows: np.ndarray) -> pa.Array:
    """NumPy row indices -> an Arrow int64 array (for ``take``)."""
    return pa.Array.from_buffers(pa.int64(), len(rows), [None, pa.py_buffer(rows.astype(np.int64))])


def _number_rows(path: Path, numbered: list, skip: int, blank: np.ndarray, width: int):
    """The data rows of the table's rows, given the rows Arrow left out as (its number, fields,
    blank); and the first row with the wrong number of fields as a problem.

    Arrow numbers rows from ``skip`` + 1 (blank lines not counted); with the ids 1..total of all
    rows, the table's rows are the ids not left out, in order, and the data row of an id is the
    number of non-blank rows up to it.
    """
    ids = np.array([number - skip if number is not None else 0 for number, _, _ in numbered], dtype=np.int64)
    total = len(blank) + len(ids)
    kept = np.ones(total + 1, dtype=bool)
    kept[0] = False
    if ids.min() < 1 or ids.max() > total:
        raise DeepBasicsError(f"cannot read {path} as CSV text: a row has {numbered[0][1]} fields but the "
                              f"header has {width}")
    kept[ids] = False
    blank_of_id = np.ones(total + 1, dtype=bool)
    blank_of_id[kept] = blank
    blank_of_id[ids] = [b for _, _, b in numbered]
    data_row_of_id = np.cumsum(~blank_of_id)
    i, fields = min((i, k) for (_, k, b), i in zip(numbered, ids) if not b)
    row = int(data_row_of_id[i])
    return data_row_of_id[kept], (row, 0, f"{path}: data row {row} has {fields} fields but the header has {width}")


def _empty(cells) -> np.ndarray:
    """(m,) bool: the empty strings (from the offsets, without reading the text)."""
    return _numpy(pc.binary_length(cells)) == 0


def _text_numbers(column):
    """A feature column's text -> (its cells, stripped of surrounding blanks; which are empty; the
    float64 values of the cells before the first one Arrow cannot read, empty ones as 0; that
    cell's index, or None).

    Whole-array operations: one cast of the column as it is (a column with no blanks around its
    cells is read in one go), else of the stripped column, and when that fails, casts that halve
    the rows still suspect until the first unreadable cell is found.
    """
    empty = _empty(column)
    try:
        return column, empty, _numpy(pc.cast(pc.if_else(_mask(empty), _ZERO, column), pa.float64())), None
    except pa.ArrowInvalid:
        pass
    cells = pc.utf8_trim_whitespace(column)
    empty = _empty(cells)
    return (cells, empty, *_numbers_until_unreadable(pc.if_else(_mask(empty), _ZERO, cells)))


def _column_problem(cells, empty: np.ndarray, values: np.ndarray, unreadable, blank: np.ndarray, kind):
    """(values, the first bad cell outside the blank rows as (row index, what is wrong, the cell,
    its value) or None): "missing" when empty or a marker (NA, NaN, null, None, ?), "text" when no
    number, "infinite" when not finite in X's dtype. Only the first bad cell's text is looked at."""
    with np.errstate(over="ignore"):
        infinite = ~np.isfinite(values.astype(kind, copy=False))
    firsts = [i for i in (_first(empty & ~blank), unreadable, _first(infinite)) if i is not None]
    if not firsts:
        return values, None
    i = min(firsts)
    cell = cells[i].as_py()
    what = "missing" if cell.lower() in MISSING else "text" if i == unreadable else "infinite"
    return values, (i, what, cell, None if i == unreadable else values[i])


def _cell_message(path: Path, name: str, row: int, what: str, cell, value, kind) -> str:
    if what == "missing":
        return f"{path}: column {name!r} has a missing value (data row {row}); fill or drop such rows first"
    if what == "text":
        return (f"{path}: column {name!r} is not numeric (data row {row}: {cell!r}); "
                f"encode it as numbers or leave it out with data.features")
    if kind == np.float32 and np.isfinite(value):
        return (f"{path}: column {name!r} has a value too large for float32 (data row {row}: {cell!r}); "
                f"read it as float64")
    return f"{path}: column {name!r} has an infinite value (data row {row})"


def _numbers_until_unreadable(cells):
    """(float64 values of the cells before the first one Arrow cannot read as a number, its index or
    None when it reads them all): one cast of the column; when that fails, the span that holds
    the first failure is halved until one cell is left (each half cast at once)."""
    try:
        return _numpy(pc.cast(cells, pa.float64())), None
    except pa.ArrowInvalid:
        pass
    low, high = 0, len(cells)                    # cells[:low] read; cells[low:high] holds a failure
    while high - low > 1:
        middle = (low + high) // 2
        try:
            pc.cast(cells.slice(low, middle - low), pa.float64())
            low = middle
        except pa.ArrowInvalid:
            high = middle
    return _numpy(pc.cast(cells.slice(0, low), pa.float64())), low


# -- Parquet ----------------------------------------------------------------------------------------
def _number_type(kind) -> bool:
    return (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
            or pa.types.is_boolean(kind))


def _label_type(kind) -> bool:
    return (_number_type(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)
            or (pa.types.is_dictionary(kind) and (pa.types.is_string(kind.value_type)
                                                  or pa.types.is_large_string(kind.value_type))))


def _open_parquet(path: Path):
    if not path.exists():
        raise DeepBasicsError(f"data file {str(path)!r} does not exist")
    try:
        if path.is_file() and path.stat().st_size == 0:
            raise DeepBasicsError(f"{path} is empty: expected a Parquet file")
        # pages streamed through a 1 MiB buffer rather than each row group read whole first: the
        # same speed from a local disk, and memory holds X plus about a block
        return pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
    except (pa.ArrowException, OSError) as exc:
        raise DeepBasicsError(f"cannot read {path} as Parquet: {_one_line(exc)}") from None


def read_parquet(path, target: str, features=None, task: str = "auto", dtype="float64") -> Table:
    """Read a Parquet file: the numeric ``features`` columns (default: all but the target) into
    X (m, n) of ``dtype`` and the ``target`` column encoded by ``encode_target``.

    Feature columns hold numbers (integers, floating point, decimals or booleans); the target holds
    numbers or text. The file is decoded a block of rows at a time straight into X, so memory
    holds X plus one block. A null or NaN is a missing value; errors name the column and the row.
    """
    path, kind, task = Path(path), check_dtype(dtype), check_task(task)
    file = _open_parquet(path)
    schema = file.schema_arrow
    features = _choose_columns(path, schema.names, target, features)
    for name in features:
        if not _number_type(schema.field(name).type):
            raise DeepBasicsError(_parquet_text_feature(path, file, name, schema.field(name).type))
    label_type = schema.field(target).type
    if not _label_type(label_type):
        raise DeepBasicsError(f"{path}: target column {target!r} holds Parquet type {label_type}; "
                              f"it must hold numbers or text labels")
    m = file.metadata.num_rows
    if m == 0:
        raise DeepBasicsError(f"{path} has columns but no data rows")
    X = np.empty((m, len(features)), dtype=kind)
    labels, row, finite = [], 0, True
    wanted = set(features) | {target}
    needed = [name for name in schema.names if name in wanted]
    try:
        for batch in file.iter_batches(batch_size=ROWS_PER_BLOCK, columns=needed, use_threads=True):
            if row + batch.num_rows > m:
                raise DeepBasicsError(f"cannot read {path} as Parquet: its pages hold more than the {m} rows "
                                      f"its footer promises")
            block = X[row:row + batch.num_rows]
            _copy(block, [_floats(batch.column(name), kind) for name in features])
            finite = finite and bool(np.isfinite(block).all())
            labels.append(batch.column(target))
            row += batch.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise DeepBasicsError(f"cannot read {path} as Parquet: {_one_line(exc)}") from None
    if row != m:
        raise DeepBasicsError(f"cannot read {path} as Parquet: its footer promises {m} rows, its pages hold {row}")
    pa.default_memory_pool().release_unused()          # the decoded blocks back to the system, not kept
    labels = pa.chunked_array(labels, label_type)
    source = f"target column {target!r}"
    if pa.types.is_boolean(label_type):
        labels = pc.if_else(labels, _TRUE, _FALSE)
    if _number_type(labels.type):
        values = _numpy(pc.cast(labels, pa.float64(), safe=False))
        missing = np.isnan(values)
    else:
        labels = pc.utf8_trim_whitespace(pc.cast(labels, pa.string()))
        missing = _missing_labels(labels)
    problems = []
    if not finite:
        bad = ~np.isfinite(X)
        r, j = divmod(int(np.argmax(bad)), X.shape[1])          # the first in reading order
        problems.append((r, j, _parquet_cell(path, file, features[j], r, X[r, j], kind)))
    r = _first(missing)
    if r is not None:
        problems.append((r, len(features), f"{path}: {source} has a missing value (data row {r + 1})"))
    if problems:
        raise DeepBasicsError(min(problems)[2])
    if _number_type(labels.type):
        y, task, classes = encode_target(values, task, source)
    else:
        y, task, classes = _encode_strings(labels, task, source)
    return Table(X, y, task, tuple(features), classes)


def _parquet_text_feature(path: Path, file, name: str, kind) -> str:
    """The message for a feature column of a type that is not numbers, with its first value."""
    try:
        column = file.read(columns=[name]).column(0)
    except (pa.ArrowException, OSError) as exc:
        return f"cannot read {path} as Parquet: {_one_line(exc)}"
    r = _first(_numpy(pc.is_valid(column)))
    where = "" if r is None else f", data row {r + 1}: {str(column[r].as_py())!r}"
    return (f"{path}: column {name!r} is not numeric (Parquet type {kind}{where}); "
            f"encode it as numbers or leave it out with data.features")


def _parquet_cell(path: Path, file, name: str, r: int, value, kind) -> str:
    """The message for a feature cell that is missing (null or NaN) or not finite in X's dtype."""
    if np.isnan(value):
        return f"{path}: column {name!r} has a missing value (data row {r + 1}); fill or drop such rows first"
    if kind == np.float32:
        original = pc.cast(file.read(columns=[name]).column(0), pa.float64())[r].as_py()
        if np.isfinite(original):
            return (f"{path}: column {name!r} has a value too large for float32 (data row {r + 1}: {original!r}); "
                    f"read it as float64")
    return f"{path}: column {name!r} has an infinite value (data row {r + 1})"


# -- what a file holds ----------------------------------------------------------------------------
class Columns(NamedTuple):
    """A table's columns as a front end offers them: names, a kind for each ("number", "incomplete":
    numbers with missing cells, or "text"), and the number of rows."""
    names: tuple
    kinds: tuple
    rows: int


def describe(path, fmt: str, delimiter: str = ",") -> Columns:
    """The columns of a CSV ("csv") or Parquet ("parquet") file, for choosing the target and the
    features before reading it: a column is "number" when Arrow reads its every cell as a number,
    "incomplete" when some of them are missing (null, NaN or a missing-value spelling), else
    "text". ``read_csv``/``read_parquet`` then read the chosen columns with their own rules (a
    missing cell is an error there)."""
    path = Path(path)
    if fmt == "parquet":
        file = _open_parquet(path)
        try:
            table = file.read()
        except (pa.ArrowException, OSError) as exc:
            raise DeepBasicsError(f"cannot read {path} as Parquet: {_one_line(exc)}") from None
        kinds = tuple(_kind(table.column(i), _number_type) for i in range(table.num_columns))
        return Columns(tuple(table.column_names), kinds, table.num_rows)
    if fmt != "csv":
        raise DeepBasicsError(f"a table file is csv or parquet, got {fmt!r}")
    layout = _csv_layout(path, delimiter)
    names = [str(i) for i in range(len(layout.header))]
    try:
        table = pa_csv.read_csv(
            path, read_options=pa_csv.ReadOptions(column_names=names, skip_rows=layout.skip,
                                                  block_size=layout.block_size),
            parse_options=pa_csv.ParseOptions(delimiter=layout.delimiter, invalid_row_handler=lambda row: "skip"),
            convert_options=pa_csv.ConvertOptions(null_values=[v for m in MISSING for v in (m, m.upper())],
                                                  strings_can_be_null=True))
    except (pa.ArrowException, OSError) as exc:
        raise DeepBasicsError(f"cannot read {path} as CSV: {_one_line(exc)}") from None
    def numeric(kind) -> bool:                          # what read_csv takes as numbers
        return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_null(kind)
    kinds = tuple(_kind(table.column(i), numeric) for i in range(table.num_columns))
    return Columns(tuple(layout.header), kinds, table.num_rows)


def _kind(column, numeric) -> str:
    """"number", "incomplete" (numbers, some missing: null or NaN) or "text"."""
    if not numeric(column.type):
        return "text"
    if pa.types.is_null(column.type) or column.null_count:
        return "incomplete"
    if pa.types.is_floating(column.type) and pc.any(pc.is_nan(column)).as_py():
        return "incomplete"
    return "number"
