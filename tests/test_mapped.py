"""The memory-mapped cache (data.mapped): a CSV or Parquet file converted once, block by block, into
an entry whose X equals the in-memory reader's bit for bit and whose errors are the reader's; the
derived copies, the statistics and the standardisation shared with the in-memory path; releasing
read pages; and memory that stays far below the data."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings

from deepbasics.data import datasets, mapped, readers
from deepbasics.learn import batching, paging
from deepbasics.errors import DeepBasicsError
from test_readers import CSV_ERRORS, PARQUET_ERRORS, good_parquet_bytes, messy_csv, write, write_parquet

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """Every test its own cache folder, and files cut into many small blocks."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("DEEPBASICS_CACHE", str(folder))
    monkeypatch.setattr(mapped, "CSV_BLOCK_BYTES", 256)
    monkeypatch.setattr(mapped, "PARQUET_BLOCK_ROWS", 7)
    return folder


def in_memory(name, path, **options):
    return datasets.load(name, path=str(path), **options)


def same(table, ds):
    """A MappedTable and a Dataset hold the same data, X bit for bit."""
    assert isinstance(table.X, np.memmap) and not table.X.flags.writeable
    assert table.X.dtype == ds.X.dtype and table.X.shape == ds.X.shape
    assert np.asarray(table.X).tobytes() == ds.X.tobytes()
    assert isinstance(table.y, np.memmap) and np.array_equal(table.y, ds.y)
    if ds.task == "regression":
        assert table.y.dtype == ds.y.dtype and table.y.tobytes() == ds.y.tobytes()
    else:                                  # class indices in the smallest type that holds them
        assert table.y.dtype == np.min_scalar_type(max(len(ds.classes) - 1, 0))
    assert (table.task, table.feature_names, table.classes, table.name) == \
        (ds.task, ds.feature_names, ds.classes, ds.name)


def table_files(tmp_path, X, labels, stem="t"):
    """The same table as CSV (numbers as repr: exact) and Parquet (row groups cut across blocks)."""
    names = [f"f{j}" for j in range(X.shape[1])]
    lines = [",".join([*names, "target"])]
    lines += [",".join([*(repr(v) for v in row), str(label)]) for row, label in zip(X.tolist(), labels.tolist())]
    (tmp_path / f"{stem}.csv").write_text("\n".join(lines) + "\n")
    columns = {name: X[:, j] for j, name in enumerate(names)}
    columns["target"] = labels
    pq.write_table(pa.table(columns), tmp_path / f"{stem}.parquet", row_group_size=23)
    return {"csv": tmp_path / f"{stem}.csv", "parquet": tmp_path / f"{stem}.parquet"}


def leftovers(folder: Path) -> list:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- where the cache is -----------------------------------------------------------------------------
def test_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("DEEPBASICS_CACHE", str(tmp_path / "mine"))
    assert mapped.cache_folder() == tmp_path / "mine"
    monkeypatch.delenv("DEEPBASICS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mapped.cache_folder() == tmp_path / "xdg" / "deepbasics" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mapped.cache_folder() == tmp_path / "home" / ".cache" / "deepbasics" / "data"


# -- the same numbers as the in-memory readers --------------------------------------------------------
LABELS = {
    "text": lambda rng, m: np.array(["cat", "dog", " emu "])[rng.integers(0, 3, m)],
    "integers": lambda rng, m: rng.integers(-2, 3, m) * 10,
    "regression": lambda rng, m: rng.standard_normal(m) * 1e3,
}


@pytest.mark.parametrize("labels", sorted(LABELS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["csv", "parquet"])
def test_bit_for_bit_the_readers(tmp_path, cache, name, dtype, labels):
    rng = np.random.default_rng(3)
    m = 301
    X = rng.standard_normal((m, 4)) * np.array([1e-300, 1.0, 1e5, 1e30 if dtype == "float32" else 1e300])
    X[0, 1], X[1, 2], X[2, 0] = -0.0, 5e-324, 1e-40
    paths = table_files(tmp_path, X, LABELS[labels](rng, m))
    table = mapped.convert(name, paths[name], "target", dtype=dtype)
    ds = in_memory(name, paths[name], target="target", dtype=dtype)
    same(table, ds)
    assert {"regression": "regression", "integers": "multiclass", "text": "multiclass"}[labels] == table.task
    assert table.folder == cache / table.key and table.key.startswith(f"{name}-")
    assert sorted(p.name for p in table.folder.iterdir()) == ["X.npy", "meta.json", "y.npy"]
    X_again = np.load(table.folder / "X.npy", mmap_mode="r", allow_pickle=False)
    assert X_again.tobytes() == ds.X.tobytes()
    meta = json.loads((table.folder / "meta.json").read_text())
    assert (meta["m"], meta["n"], meta["task"], meta["dtype"]) == (m, 4, ds.task, dtype)
    assert meta["feature_names"] == list(ds.feature_names) and meta["classes"] == list(ds.classes)
    assert meta["source"]["size"] == os.path.getsize(paths[name]) and meta["reader_version"] == mapped.READER_VERSION
    subset = mapped.convert(name, paths[name], "target", features=["f3", "f1"], dtype=dtype, task="regression"
                            if labels != "text" else "auto")
    same(subset, in_memory(name, paths[name], target="target", features=["f3", "f1"], dtype=dtype,
                           task="regression" if labels != "text" else "auto"))


QUIRKY_CSV = {
    "quoted fields": ('"a","b,c",kind\n' + '"1","2.5","big, red"\n3,"-4","say ""hi"""\n5,6e1,"two\nlines"\n' * 20,
                      "kind", None),
    "byte order mark and blank rows": ("\ufeff\n  \na , b,t\n" + "1,2,x\n\n   \n3,4,y\n,,\n \t, ,\n5,6,x\n\n,,\n" * 20,
                                       "t", None),
    "blank rows, a column not read": ("id,a,t\n" + "1,2,x\n,,\n3,4,y\n" * 40, "t", ["a"]),
    "spreadsheet tail": ("a,b,t\n" + "1.5,2,x\n3,4,y\n" * 40 + ",,\n" * 200, "t", None),
    "windows line ends, blanks around": ("a,t\r\n" + " 1 , cat \r\n2,dog\r\n" * 50, "t", None),
    "blanks around numbers, a column not read": ("a,b,t\n" + " 1 ,x, cat \n2,y,dog\n" * 50, "t", ["a"]),
    "semicolons": ("a;b;t\n" + "1.5;2;x\n3;4;y\n" * 50, "t", None),
}


@pytest.mark.parametrize("case", sorted(QUIRKY_CSV))
def test_quirky_csv_as_the_reader_reads_it(tmp_path, case):
    text, target, features = QUIRKY_CSV[case]
    delimiter = ";" if case == "semicolons" else ","
    path = write(tmp_path, text)
    for dtype in ("float64", "float32"):
        table = mapped.convert("csv", path, target, features=features, delimiter=delimiter, dtype=dtype)
        same(table, in_memory("csv", path, target=target, features=features, delimiter=delimiter, dtype=dtype))


def test_parquet_types_as_the_reader_reads_them(tmp_path):
    m = 40
    columns = {"a": np.arange(m) / 7, "n": np.arange(m, dtype=np.int32), "f": np.arange(m, dtype=np.float32) / 3,
               "ok": np.arange(m) % 3 == 0, "big": np.full(m, 2**53 + 1, dtype=np.int64),
               "label": pa.array(["u", "v"] * (m // 2)).dictionary_encode(),
               "flag": np.arange(m) % 2 == 0}
    path = write_parquet(tmp_path, columns, row_group_size=9)
    for target in ("label", "flag", "n"):
        features = [name for name in ("a", "n", "f", "ok", "big") if name != target]
        for dtype in ("float64", "float32"):
            same(mapped.convert("parquet", path, target, features=features, dtype=dtype),
                 in_memory("parquet", path, target=target, features=features, dtype=dtype))


# -- converted once --------------------------------------------------------------------------------------
def refuse_reading(monkeypatch):
    """Any parse of a source file from now on fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("the source was read again")
    for module, names in ((pa_csv, ["open_csv", "read_csv"]), (pq, ["ParquetFile", "read_table"]),
                          (readers, ["read_csv", "read_parquet", "_csv_layout", "_open_parquet"]),
                          (mapped, ["_convert_csv", "_convert_parquet"])):
        for attribute in names:
            monkeypatch.setattr(module, attribute, refuse)


@pytest.mark.parametrize("name", ["csv", "parquet"])
def test_a_second_call_reopens_the_entry_without_reading_the_source(tmp_path, monkeypatch, cache, name):
    rng = np.random.default_rng(0)
    paths = table_files(tmp_path, rng.standard_normal((50, 3)), rng.integers(0, 2, 50))
    first = mapped.convert(name, paths[name], "target", dtype="float32")
    with monkeypatch.context() as patched:
        refuse_reading(patched)
        again = mapped.convert(name, str(paths[name]), "target", dtype="float32")
    assert again.key == first.key and np.asarray(again.X).tobytes() == np.asarray(first.X).tobytes()
    assert again.y.tolist() == first.y.tolist() and again.classes == first.classes
    assert leftovers(cache) == [first.key]
    other = mapped.convert(name, paths[name], "target", dtype="float64")            # another option
    assert other.key != first.key
    stat = os.stat(paths[name])
    os.utime(paths[name], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))         # touched: converted again
    touched = mapped.convert(name, paths[name], "target", dtype="float32")
    assert touched.key not in (first.key, other.key) and len(leftovers(cache)) == 3


def test_the_key_covers_the_ends_of_the_file(tmp_path):
    path = Path(write(tmp_path, "a,t\n" + "1,0\n2,1\n" * 400_000))              # 3.2 MB: head, middle, tail
    source = mapped.fingerprint(path)
    text = path.read_bytes()
    stat = os.stat(path)
    for where in (10, len(text) - 3):
        changed = text[:where] + (b"7" if text[where:where + 1] != b"7" else b"8") + text[where + 1:]
        path.write_bytes(changed)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))                  # same size and mtime
        assert mapped.fingerprint(path)["sha256_first_last_mib"] != source["sha256_first_last_mib"]
    path.write_bytes(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert mapped.fingerprint(path) == source


def test_a_broken_entry_is_built_again(tmp_path, cache):
    path = write(tmp_path, "a,b,t\n" + "1,2,x\n3,4,y\n" * 30)
    table = mapped.convert("csv", path, "t")
    expected = np.asarray(table.X).copy()
    with open(table.folder / "X.npy", "r+b") as f:
        f.truncate(200)
    again = mapped.convert("csv", path, "t")
    assert again.key == table.key and np.array_equal(again.X, expected)


def test_an_interrupted_conversion_leaves_nothing(tmp_path, monkeypatch, cache):
    path = write(tmp_path, "a,b,t\n" + "1,2,x\n3,4,y\n" * 30)

    def interrupted(self):
        raise KeyboardInterrupt
    with monkeypatch.context() as patched:
        patched.setattr(mapped._GrowingNpy, "finish", interrupted)
        with pytest.raises(KeyboardInterrupt):
            mapped.convert("csv", path, "t")
    assert leftovers(cache) == []
    crashed = cache / ".tmp-csv-0123-abcd"                     # what a killed process leaves
    crashed.mkdir()
    (crashed / "X.npy").write_bytes(b"half")
    old = time.time() - 2 * mapped.STALE_SECONDS
    os.utime(crashed / "X.npy", (old, old))
    os.utime(crashed, (old, old))
    fresh = cache / ".tmp-csv-4567-efgh"                       # a conversion still under way elsewhere
    fresh.mkdir()
    table = mapped.convert("csv", path, "t")
    assert leftovers(cache) == sorted([table.key, fresh.name])


def test_a_file_written_to_during_the_conversion_is_not_kept(tmp_path, monkeypatch, cache):
    path = write(tmp_path, "a,b,t\n" + "1,2,x\n3,4,y\n" * 30)
    build = mapped._build

    def appending(*args):
        meta = build(*args)
        with open(path, "a") as f:
            f.write("5,6,x\n")
        return meta
    monkeypatch.setattr(mapped, "_build", appending)
    with pytest.raises(DeepBasicsError, match="changed while it was being converted into the data cache"):
        mapped.convert("csv", path, "t")
    assert leftovers(cache) == []


def test_progress_bar_on_a_terminal_only(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, "a,b,t\n" + "1,2,x\n3,4,y\n" * 30)
    mapped.convert("csv", path, "t")
    assert capsys.readouterr().err == ""

    class Terminal:
        def __init__(self):
            self.text = []

        def write(self, text):
            self.text.append(text)

        def flush(self):
            pass

        def isatty(self):
            return True
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    mapped.convert("csv", path, "t", dtype="float32")
    assert "caching data.csv" in "".join(terminal.text)
    terminal.text.clear()
    mapped.convert("csv", path, "t", dtype="float32", features=["a"], progress=False)
    assert terminal.text == []


# -- the readers' errors, and nothing left behind ----------------------------------------------------------
def reader_message(name, path, **options) -> str:
    """The in-memory reader's message (``readers.read_csv`` / ``read_parquet`` themselves)."""
    read = readers.read_csv if name == "csv" else readers.read_parquet
    with pytest.raises(DeepBasicsError) as err:
        read(str(path), **options)
    return str(err.value)


def same_error(cache, name, path, **options):
    """The reader's message, word for word, and nothing new in the cache."""
    expected = reader_message(name, path, **options)
    before = leftovers(cache)
    with pytest.raises(DeepBasicsError) as err:
        mapped.convert(name, path, **options)
    assert str(err.value) == expected
    assert leftovers(cache) == before


def same_outcome(cache, name, path, **options):
    """The reader's error, or (when the reader reads the file) its data."""
    try:
        expected = datasets.load(name, path=str(path), **options)
    except DeepBasicsError:
        same_error(cache, name, path, **options)
        return "error"
    same(mapped.convert(name, path, **options), expected)
    return "read"


@pytest.mark.parametrize("case", sorted(CSV_ERRORS))
def test_csv_errors_are_the_readers(tmp_path, cache, case):
    text, target, _ = CSV_ERRORS[case]
    features = ["a", "c"] if case == "feature column not found" else None
    path = write(tmp_path, text)
    for dtype in ("float64", "float32"):
        same_error(cache, "csv", path, target=target, features=features, dtype=dtype)


@pytest.mark.parametrize("case", sorted(PARQUET_ERRORS))
def test_parquet_errors_are_the_readers(tmp_path, cache, case):
    content, target, _ = PARQUET_ERRORS[case]
    if content is None:
        with pytest.raises(DeepBasicsError, match="data file .* does not exist"):
            mapped.convert("parquet", tmp_path / "nope.parquet", target)
        assert leftovers(cache) == []
        return
    if isinstance(content, dict):
        path = write_parquet(tmp_path, content)
    else:
        path = write(tmp_path, content(good_parquet_bytes(tmp_path)), "data.parquet")
    for dtype in ("float64", "float32"):
        same_error(cache, "parquet", path, target=target, dtype=dtype)


def test_errors_in_later_blocks_name_the_data_row(tmp_path, monkeypatch, cache):
    """A bad cell is found and named block by block, without the in-memory reader (whose X would
    not fit for a file bigger than memory); only a ragged row is left to it, for its numbering."""
    read_csv, read_parquet, calls = readers.read_csv, readers.read_parquet, []
    monkeypatch.setattr(readers, "read_csv", lambda *a, **k: calls.append("csv") or read_csv(*a, **k))
    monkeypatch.setattr(readers, "read_parquet", lambda *a, **k: calls.append("parquet") or read_parquet(*a, **k))

    def check(name, path, **options):
        outcome = same_outcome(cache, name, path, **options)
        made = calls[:]
        calls.clear()
        return outcome, made[2:] if outcome == "error" else made[1:]     # after the expectation's own calls

    rows = [f"{i},{i * 0.5},{i % 3}" for i in range(3000)]
    for where, bad in ((2001, "2001,oops,1"), (2002, "2002,,1"), (2003, "2003, NA ,1"), (2004, "2004,inf,1"),
                       (2005, "2005,1e300,1"), (2006, "2006,3, "), (2007, "2007,7")):
        broken = list(rows)
        broken[where] = bad
        broken[10] = ",,"                                      # a blank row: not counted
        path = write(tmp_path, "a,b,t\n" + "\n".join(broken) + "\n", name=f"bad{where}.csv")
        for dtype in ("float64", "float32"):
            for features in (None, ["b"]):
                outcome, made = check("csv", path, target="t", features=features, dtype=dtype)
                assert outcome == ("read" if where == 2005 and dtype == "float64" else "error")
                assert made == (["csv"] if where == 2007 else []), (where, dtype, features)
    m = 200
    for values in (np.where(np.arange(m) == 150, np.nan, np.arange(m, dtype=float)),
                   np.where(np.arange(m) == 151, 1e300, np.arange(m, dtype=float))):
        path = write_parquet(tmp_path, {"a": values, "t": np.arange(m) % 2}, name="bad.parquet", row_group_size=40)
        for dtype in ("float64", "float32"):
            assert check("parquet", path, target="t", dtype=dtype)[1] == []
    path = write_parquet(tmp_path, {"a": np.arange(m, dtype=float), "t": pa.array([0, 1] * 80 + [None] + [1] * 39)},
                         name="bad.parquet", row_group_size=40)
    assert check("parquet", path, target="t") == ("error", [])


def test_bad_options(tmp_path, cache):
    path = write(tmp_path, "a,t\n1,0\n2,1\n")
    with pytest.raises(DeepBasicsError, match="convert reads csv or parquet files, got 'npz'"):
        mapped.convert("npz", path, "t")
    with pytest.raises(DeepBasicsError, match="dtype must be float64 or float32"):
        mapped.convert("csv", path, "t", dtype="float16")
    with pytest.raises(DeepBasicsError, match="task must be auto, classification or regression"):
        mapped.convert("csv", path, "t", task="ranking")
    same_error(cache, "csv", path, target="t", delimiter=";;")
    same_error(cache, "csv", path, target="")
    same_error(cache, "csv", path, target="a", features=["a"])


@settings(max_examples=120, deadline=None)
@given(messy_csv())
def test_property_messy_csv_gives_the_readers_arrays_or_message(tmp_path_factory, case):
    """The readers' own messy CSV text, cut into 64-byte blocks."""
    text, delimiter, features = case
    folder = tmp_path_factory.mktemp("m")
    path = folder / "m.csv"
    path.write_bytes(text.encode())
    os.environ["DEEPBASICS_CACHE"] = str(folder / "cache")    # the fixture's folder is per test, not per example
    mapped.CSV_BLOCK_BYTES = 64
    try:
        expected = datasets.load("csv", path=str(path), target="t", features=features, delimiter=delimiter)
    except DeepBasicsError as exc:              # (datasets.load adds nothing to the reader's message here)
        with pytest.raises(DeepBasicsError) as err:
            mapped.convert("csv", path, "t", features=features, delimiter=delimiter)
        assert str(err.value) == str(exc)
        assert leftovers(folder / "cache") == []
        return
    same(mapped.convert("csv", path, "t", features=features, delimiter=delimiter), expected)


# -- derived copies, statistics, standardising ---------------------------------------------------------------
def test_feature_stats_equal_numpy_bit_for_bit(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((1000, 5)) * np.array([1e-3, 1, 1e3, 1e8, 3]) + np.array([0, 1e6, -5, 0, 1e-9])
    np.save(tmp_path / "X.npy", X)
    mapped_X = np.load(tmp_path / "X.npy", mmap_mode="r")
    order = rng.permutation(1000)
    for rows in (order[:700], slice(None), slice(3, 900, 7), range(999, -1, -3), np.arange(1000)[::-1]):
        R = X[rows] if not isinstance(rows, range) else X[list(rows)]
        for source in (X, mapped_X, X.astype(np.float32)):
            want = R if source.dtype == np.float64 else R.astype(np.float32).astype(np.float64)
            for block in (1, 64, 65_536):
                mean, std = mapped.feature_stats(source, rows, block=block)
                assert mean.tobytes() == want.mean(axis=0).tobytes()
                assert std.tobytes() == want.std(axis=0).tobytes()
    with pytest.raises(DeepBasicsError, match="at least one row"):
        mapped.feature_stats(X, slice(0, 0))


def test_standardize_block_in_float64(tmp_path):
    block = np.array([[1.0, 2.0], [3.0, 1e-30]], dtype=np.float32)
    mean, scale = np.array([0.5, 1.0]), np.array([3.0, 7.0])
    out = mapped.standardize_block(block, mean, scale, "float32")
    assert out.dtype == np.float32
    assert out.tobytes() == ((block.astype(np.float64) - mean) / scale).astype(np.float32).tobytes()
    assert mapped.standardize_block(block, mean, scale, "float64").dtype == np.float64


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_derived_is_the_in_memory_path_bit_for_bit(tmp_path, monkeypatch, cache, dtype):
    rng = np.random.default_rng(2)
    m = 1000
    paths = table_files(tmp_path, rng.standard_normal((m, 3)) * 10 + 4, rng.integers(0, 3, m))
    table = mapped.convert("csv", paths["csv"], "target", dtype=dtype)
    monkeypatch.setattr(mapped, "BLOCK_ROWS", 128)
    order = rng.permutation(m)
    mean, std = mapped.feature_stats(table.X, order[:800])
    scale = np.where(std > 0, std, 1.0)
    out = mapped.derived(table, order, mean, scale, "split0-std", "float32")
    in_ram = datasets.load("csv", path=str(paths["csv"]), target="target", dtype=dtype).X
    assert (mean.tobytes(), std.tobytes()) == tuple(s.tobytes() for s in mapped.feature_stats(in_ram, order[:800]))
    expected = mapped.standardize_block(in_ram[order], mean, scale, "float32")
    assert isinstance(out, np.memmap) and not out.flags.writeable and out.dtype == np.float32
    assert out.shape == (m, 3) and np.asarray(out).tobytes() == expected.tobytes()
    assert (table.folder / "derived-split0-std-float32.npy").is_file()
    assert not [p for p in table.folder.iterdir() if p.name.startswith(".tmp")]

    def refuse(*args):
        raise AssertionError("written again")
    with monkeypatch.context() as patched:
        patched.setattr(mapped, "_write_derived", refuse)
        again = mapped.derived(table.X, order, mean, scale, "split0-std", "float32")   # X alone finds its entry
    assert np.asarray(again).tobytes() == expected.tobytes()
    own = mapped.derived(table, order[:10], mean, scale, "head")                         # X's dtype
    assert own.dtype == np.dtype(dtype) and np.array_equal(own, mapped.standardize_block(in_ram[order[:10]],
                                                                                         mean, scale, dtype))


def test_derived_refuses_bad_input(tmp_path, cache):
    table = mapped.convert("csv", write(tmp_path, "a,b,t\n" + "1,2,x\n3,5,y\n" * 5), "t")
    mean, scale = np.zeros(2), np.ones(2)
    for bad, message in ((dict(tag="../up"), "tag must be"), (dict(tag=".hidden"), "tag must be"),
                         (dict(order=np.array([0, 10])), "outside 0..9"), (dict(order=np.array([0.5])), "1-D array"),
                         (dict(mean=np.zeros(3)), "shape \\(2,\\)"), (dict(dtype="int8"), "dtype must be")):
        args = dict(order=np.arange(10), mean=mean, scale=scale, tag="t", dtype=None) | bad
        with pytest.raises(DeepBasicsError, match=message):
            mapped.derived(table, args["order"], args["mean"], args["scale"], args["tag"], args["dtype"])
    with pytest.raises(DeepBasicsError, match="MappedTable or its memory-mapped X"):
        mapped.derived(np.zeros((3, 2)), np.arange(3), mean, scale, "t")
    assert sorted(p.name for p in table.folder.iterdir()) == ["X.npy", "meta.json", "y.npy"]


# -- letting go of read pages -----------------------------------------------------------------------------
def test_release_is_a_no_op_for_arrays_and_copy_on_write_maps(tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    mapped.release(X)
    mapped.release(X[1:])
    np.save(tmp_path / "X.npy", X)
    private = np.load(tmp_path / "X.npy", mmap_mode="c")
    private[0, 0] = 99.0
    mapped.release(private[1:])                              # MADV_DONTNEED would drop the change
    assert private[0, 0] == 99.0
    shared = np.load(tmp_path / "X.npy", mmap_mode="r")
    assert paging._mapping(np.asarray(shared)[1:][:, 2]) is shared._mmap


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_release_hands_read_pages_back(tmp_path):
    """A process that has read a 200 MB memory map holds it in its resident set until release."""
    path = tmp_path / "big.npy"
    big = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(25_000_000 // 8, 8))
    big[:] = 1.0
    big.flush()
    del big
    code = ("import numpy as np\n"
            "from deepbasics.data.mapped import release\n"
            "def rss(): return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20\n"
            f"X = np.load({str(path)!r}, mmap_mode='r')\n"
            "base = rss(); total = float(X.sum()); read = rss(); release(np.asarray(X)[5:, :3]); after = rss()\n"
            "print(base, read, after, total)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         timeout=300).stdout.split()
    base, read, after = (float(v) for v in out[:3])
    assert read - base > 150 and after - base < 30, out
    assert float(out[3]) == 25_000_000


# -- memory stays far below the data -------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_converting_a_large_csv_keeps_memory_far_below_the_data(tmp_path):
    """3,000,000 x 32 float64 (732 MiB) from an ~860 MB CSV: the conversion's peak resident memory
    stays under a third of X above the process's memory before it (what it holds is a few blocks
    and the target column, about 45 bytes a row while it is encoded)."""
    m, n = 3_000_000, 32
    rng = np.random.default_rng(0)
    path = tmp_path / "big.csv"
    with open(path, "wb") as f:
        for start in range(0, m, 250_000):
            block = np.round(rng.standard_normal((250_000, n)), 5)
            columns = {f"f{j}": block[:, j] for j in range(n)}
            columns["t"] = rng.integers(0, 2, 250_000)
            options = pa_csv.WriteOptions(include_header=start == 0, quoting_style="none")
            pa_csv.write_csv(pa.table(columns), f, write_options=options)
    # VmHWM, the peak of this process's own memory map (ru_maxrss would count the forking parent's)
    code = ("import time\n"
            "from deepbasics.data import mapped\n"
            "def status(key):\n"
            "    return next(int(l.split()[1]) / 1024 for l in open('/proc/self/status') if l.startswith(key))\n"
            "base = status('VmRSS:'); start = time.perf_counter()\n"
            f"table = mapped.convert('csv', {str(path)!r}, 't', progress=False)\n"
            "took = time.perf_counter() - start\n"
            "print(base, status('VmHWM:'), took, table.X.shape[0], table.X.nbytes / 2**20)\n")
    env = {**os.environ, "DEEPBASICS_CACHE": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    base, peak, took, rows, data = (float(v) for v in out.stdout.split())
    assert rows == m and data == m * n * 8 / 2**20
    assert peak - base < data / 3, out.stdout


# -- labels in little memory --------------------------------------------------------------------------
@pytest.mark.parametrize("values", [
    np.array([3, 1, 1, 7, 3] * 40, dtype=np.int8), np.array([3.0, 1.0, 1.0, 7.0, 3.0] * 40),
    np.array([-2, 5] * 100, dtype=np.int64), np.arange(300) % 260, np.array([0.5, 1.5, 0.5] * 70),
    np.arange(200, dtype=np.float32) / 7])
def test_labels_encoded_a_block_at_a_time_and_compact(monkeypatch, values):
    """encode_target reads numbers a block at a time (the same y, task and classes as in one
    piece) and, with compact, numbers the classes in the smallest unsigned type."""
    whole = readers.encode_target(values.astype(np.float64))
    monkeypatch.setattr(readers, "ENCODE_ROWS", 16)
    y, task, classes = readers.encode_target(values)
    assert (task, classes) == whole[1:] and y.dtype == whole[0].dtype and np.array_equal(y, whole[0])
    small, task, classes = readers.encode_target(values, compact=True)
    assert (task, classes) == whole[1:] and np.array_equal(small, whole[0])
    if task != "regression":
        assert small.dtype == np.min_scalar_type(len(classes) - 1)


def test_small_ints_keep_every_value():
    for values in (np.array([0, 1, 1], np.int64), np.array([-3, 200], np.int64), np.array([2**40], np.int64)):
        small = mapped._small_ints(values)
        assert np.array_equal(small, values) and small.dtype.itemsize <= values.dtype.itemsize
    assert mapped._small_ints(np.array([0, 1], np.int64)).dtype == np.uint8
    assert mapped._small_ints(np.array([2**60 + 1], np.int64)).dtype == np.float64     # as other numbers go
