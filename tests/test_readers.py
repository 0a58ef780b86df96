"""The CSV and Parquet readers: what they read, that every format gives the same arrays, and the
one-line errors (column and data row of the first problem)."""
import csv
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepbasics.data import datasets, readers
from deepbasics.errors import DeepBasicsError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, text, name="data.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return str(path)


def write_parquet(tmp_path, columns: dict, name="data.parquet", **options):
    path = tmp_path / name
    pq.write_table(pa.table(columns), path, **options)
    return str(path)


def write_table(tmp_path, X, labels, names, stem="t"):
    """The same table as CSV (numbers as repr, exact), Parquet and NPZ."""
    with open(tmp_path / f"{stem}.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow([*names, "target"])
        for row, label in zip(X.tolist(), labels.tolist()):
            out.writerow([*(repr(v) for v in row), label])
    columns = {name: X[:, j] for j, name in enumerate(names)}
    columns["target"] = labels
    pq.write_table(pa.table(columns), tmp_path / f"{stem}.parquet", row_group_size=max(1, len(X) // 3))
    np.savez(tmp_path / f"{stem}.npz", X=X, y=labels)
    return {kind: str(tmp_path / f"{stem}.{kind}") for kind in ("csv", "parquet", "npz")}


def load(kind, path, **options):
    if kind == "npz":
        return datasets.load("npz", path=path, **options)
    return datasets.load(kind, path=path, target="target", **options)


# -- what the CSV reader reads ------------------------------------------------------------------------
def test_csv_quoted_fields(tmp_path):
    text = ('"a","b,c",kind\n'
            '"1","2.5","big, red"\n'
            '3,"-4","say ""hi"""\n'
            '5,6e1,"two\nlines"\n'
            '7,8,"big, red"\n')
    ds = datasets.load("csv", path=write(tmp_path, text), target="kind")
    assert ds.feature_names == ("a", "b,c")
    assert ds.X.tolist() == [[1, 2.5], [3, -4], [5, 60], [7, 8]]
    assert ds.classes == ("big, red", 'say "hi"', "two\nlines") and ds.y.tolist() == [0, 1, 2, 0]


def test_csv_byte_order_mark_blank_lines_and_blank_rows(tmp_path):
    text = "\ufeff\n  \na , b,t\n1,2,x\n\n   \n3,4,y\n,,\n \t, ,\n5,6,x\n\n,,\n"
    ds = datasets.load("csv", path=write(tmp_path, text), target="t")
    assert ds.feature_names == ("a", "b")
    assert ds.X.tolist() == [[1, 2], [3, 4], [5, 6]] and ds.y.tolist() == [0, 1, 0]


def test_csv_a_row_is_blank_only_when_every_cell_is(tmp_path):
    text = "id,a,t\n1,2,x\n,,\n3,4,y\n"
    ds = datasets.load("csv", path=write(tmp_path, text), target="t", features=["a"])
    assert ds.X.tolist() == [[2], [4]]
    with pytest.raises(DeepBasicsError, match=re.escape("column 'a' has a missing value (data row 2)")):
        datasets.load("csv", path=write(tmp_path, text.replace(",,", "9,,")), target="t", features=["a"])


def test_csv_windows_line_ends_and_surrounding_blanks(tmp_path):
    ds = datasets.load("csv", path=write(tmp_path, "a,t\r\n 1 , cat \r\n2,dog\r\n"), target="t")
    assert ds.X.tolist() == [[1], [2]] and ds.classes == ("cat", "dog")


def test_csv_text_integer_and_regression_targets(tmp_path):
    ds = datasets.load("csv", path=write(tmp_path, "x,t\n1,b\n2,a\n3,c\n4,a\n"), target="t")
    assert ds.task == "multiclass" and ds.classes == ("a", "b", "c") and ds.y.tolist() == [1, 0, 2, 0]
    ds = datasets.load("csv", path=write(tmp_path, "x,t\n1,10\n2,-1\n3,10\n"), target="t")
    assert ds.task == "binary" and ds.classes == ("-1", "10") and ds.y.tolist() == [1, 0, 1]
    assert ds.y.dtype == np.int64
    ds = datasets.load("csv", path=write(tmp_path, "x,t\n1,0.5\n2,1.5\n3,-2\n"), target="t")
    assert ds.task == "regression" and ds.y.tolist() == [0.5, 1.5, -2.0] and ds.y.dtype == np.float64
    ds.y[0] = 7.0                                       # the caller's own array, not Arrow's memory
    rows = "\n".join(f"{i},{i}" for i in range(25))     # more whole values than MAX_CLASSES_AUTO
    ds = datasets.load("csv", path=write(tmp_path, "x,t\n" + rows + "\n"), target="t")
    assert ds.task == "regression"
    ds = datasets.load("csv", path=write(tmp_path, "x,t\n1,0\n2,1\n3,1\n"), target="t", task="regression")
    assert ds.task == "regression" and ds.y.tolist() == [0.0, 1.0, 1.0]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_csv_custom_delimiter(tmp_path, delimiter):
    text = f"a{delimiter}b{delimiter}t\n1,5{delimiter}2{delimiter}x\n3{delimiter}4{delimiter}y\n"
    with pytest.raises(DeepBasicsError, match="column 'a' is not numeric \\(data row 1: '1,5'\\)"):
        datasets.load("csv", path=write(tmp_path, text), target="t", delimiter=delimiter)
    text = text.replace("1,5", "1.5")
    ds = datasets.load("csv", path=write(tmp_path, text), target="t", delimiter=delimiter)
    assert ds.X.tolist() == [[1.5, 2], [3, 4]] and ds.classes == ("x", "y")


def test_csv_reads_only_the_needed_columns(tmp_path):
    text = "id,note,a,t\n1,\"free, text\",2.0,0\nx,,3.0,1\n"
    ds = datasets.load("csv", path=write(tmp_path, text), target="t", features=["a"])
    assert ds.X.tolist() == [[2.0], [3.0]] and ds.feature_names == ("a",)


def test_csv_float32(tmp_path):
    ds = datasets.load("csv", path=write(tmp_path, "a,b,t\n0.1,2,0\n1e30,-3.5,1\n"), target="t", dtype="float32")
    assert ds.X.dtype == np.float32
    assert ds.X.tobytes() == np.array([[0.1, 2], [1e30, -3.5]]).astype(np.float32).tobytes()


def test_csv_load_does_not_import_pandas(tmp_path):
    """pyarrow's to_numpy / pa.array consult pandas, which costs about half a second to import."""
    path = write(tmp_path, "a,b,t\n1,2,x\n3,4,y\n")
    code = ("import sys\nfrom deepbasics.data import datasets\n"
            f"ds = datasets.load('csv', path={path!r}, target='t')\n"
            "assert ds.X.tolist() == [[1, 2], [3, 4]]\nprint('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# -- Parquet --------------------------------------------------------------------------------------------
def test_parquet_row_groups_and_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "ROWS_PER_BLOCK", 4)          # blocks that straddle the row groups
    monkeypatch.setattr(readers, "ROWS_PER_COPY", 3)           # and copies that split the blocks
    m = 23
    X = np.arange(m * 3, dtype=np.float64).reshape(m, 3) / 7
    path = write_parquet(tmp_path, {"a": X[:, 0], "n": np.arange(m, dtype=np.int32), "b": X[:, 2],
                                    "ok": np.arange(m) % 3 == 0, "label": np.array(["u", "v"] * 11 + ["w"])},
                         row_group_size=5)
    assert pq.ParquetFile(path).num_row_groups == 5
    ds = datasets.load("parquet", path=path, target="label")
    assert ds.feature_names == ("a", "n", "b", "ok")
    assert np.array_equal(ds.X, np.column_stack([X[:, 0], np.arange(m), X[:, 2], np.arange(m) % 3 == 0]))
    assert ds.classes == ("u", "v", "w") and ds.y.tolist() == [0, 1] * 11 + [2]
    ds = datasets.load("parquet", path=path, target="n", features=["b", "a"], dtype="float32")
    assert ds.X.dtype == np.float32 and np.array_equal(ds.X, X[:, [2, 0]].astype(np.float32))
    assert ds.task == "regression" and ds.y.tolist() == list(range(m))


def test_parquet_float32_columns_stay_float32(tmp_path):
    values = np.array([0.1, 1e-40, 3.4e38], dtype=np.float32)
    path = write_parquet(tmp_path, {"a": values, "t": [0, 1, 0]})
    assert np.array_equal(datasets.load("parquet", path=path, target="t", dtype="float32").X[:, 0], values)
    assert np.array_equal(datasets.load("parquet", path=path, target="t").X[:, 0], values.astype(np.float64))


def test_parquet_dictionary_and_boolean_targets(tmp_path):
    labels = pa.array(["b", "a", "b"]).dictionary_encode()
    ds = datasets.load("parquet", path=write_parquet(tmp_path, {"x": [1.0, 2, 3], "t": labels}), target="t")
    assert ds.classes == ("a", "b") and ds.y.tolist() == [1, 0, 1]
    ds = datasets.load("parquet", path=write_parquet(tmp_path, {"x": [1.0, 2, 3], "t": [True, False, True]}),
                       target="t")
    assert ds.classes == ("False", "True") and ds.y.tolist() == [1, 0, 1]


# -- every format gives the same arrays --------------------------------------------------------------
@pytest.mark.parametrize("labels", [np.array([2, 0, 1, 2, 0, 1, 1]), np.array(["b", "a", "c", "a", "b", "b", "c"]),
                                    np.array([0.5, -1.25, 3.0, 1e-3, 2.0, 7.5, 1e10])])
@pytest.mark.parametrize("dtype, scales", [("float64", [1e-300, 1.0, 1e5, 1e300]),
                                           ("float32", [1e-30, 1.0, 1e5, 1e30])])
def test_csv_parquet_and_npz_agree_bit_for_bit(tmp_path, labels, dtype, scales):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((7, 4)) * np.array(scales)
    X[0, 1], X[1, 2] = -0.0, 5e-324
    paths = write_table(tmp_path, X, labels, ["p", "q", "r", "s"])
    sets = {kind: load(kind, path, dtype=dtype) for kind, path in paths.items()}
    expected = X.astype(dtype)
    for name, ds in sets.items():
        assert ds.X.dtype == np.dtype(dtype) and ds.X.tobytes() == expected.tobytes(), name
        assert ds.y.dtype == sets["csv"].y.dtype and ds.y.tobytes() == sets["csv"].y.tobytes(), name
        assert ds.task == sets["csv"].task and ds.classes == sets["csv"].classes, name
        assert ds.feature_names == (("p", "q", "r", "s") if name != "npz" else ("x0", "x1", "x2", "x3"))


def test_npz_float32_stays_float32(tmp_path):
    X = np.arange(6, dtype=np.float32).reshape(3, 2) / 3
    np.savez(tmp_path / "d.npz", X=X, y=np.array([0, 1, 0]))
    ds = datasets.load("npz", path=str(tmp_path / "d.npz"), dtype="float32")
    assert ds.X.dtype == np.float32 and ds.X.tobytes() == X.tobytes()
    assert datasets.load("npz", path=str(tmp_path / "d.npz")).X.dtype == np.float64
    Xi = np.array([[2**24 + 1, 3]], dtype=np.int64).repeat(2, axis=0)    # whole numbers round via float64
    np.savez(tmp_path / "i.npz", X=Xi, y=np.array([0, 1]))
    ds = datasets.load("npz", path=str(tmp_path / "i.npz"), dtype="float32")
    assert ds.X.tobytes() == Xi.astype(np.float64).astype(np.float32).tobytes()


numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12).flatmap(lambda m: st.tuples(
    st.lists(st.lists(numbers, min_size=m, max_size=m), min_size=1, max_size=4),
    st.lists(st.integers(0, 3), min_size=m, max_size=m))))
def test_property_csv_and_parquet_give_identical_arrays(tmp_path_factory, table):
    columns, labels = table
    X, y = np.array(columns, dtype=np.float64).T.copy(), np.array(labels)
    if len(np.unique(y)) < 2:
        y = np.arange(len(y)) % 2
    if len(np.unique(y)) < 2:
        return                                           # one row: no classifier target
    paths = write_table(tmp_path_factory.mktemp("t"), X, y, [f"c{j}" for j in range(X.shape[1])])
    from_csv, from_parquet = load("csv", paths["csv"]), load("parquet", paths["parquet"])
    assert from_csv.X.tobytes() == from_parquet.X.tobytes() == X.tobytes()
    assert from_csv.y.tobytes() == from_parquet.y.tobytes() and from_csv.classes == from_parquet.classes


# -- errors ---------------------------------------------------------------------------------------------
CSV_ERRORS = {
    "not numeric": ("a,city,t\n1,2,0\n2,3,1\n3,Paris,0\n", "t",
                    "column 'city' is not numeric (data row 3: 'Paris'); encode it as numbers"),
    "not numeric after blank lines": ("a,city,t\n1,2,0\n\n,,\n  \n3,Paris,0\n", "t",
                                      "column 'city' is not numeric (data row 2: 'Paris')"),
    "not numeric after a line break in a label": ('a,b,t\n1,2,"x\ny"\n3,z,w\n', "t",
                                                  "column 'b' is not numeric (data row 2: 'z')"),
    "missing value": ("a,b,t\n1,2,0\n1, ,0\n", "t", "column 'b' has a missing value (data row 2); fill or drop"),
    "quoted empty": ('a,b,t\n1,"",0\n', "t", "column 'b' has a missing value (data row 1)"),
    "NA marker": ("a,b,t\n1,2,0\n1,NA,0\n", "t", "column 'b' has a missing value (data row 2)"),
    "NaN": ("a,b,t\n1, nan ,0\n", "t", "column 'b' has a missing value (data row 1)"),
    "question mark": ("a,b,t\n1,?,0\n", "t", "column 'b' has a missing value (data row 1)"),
    "infinite": ("a,b,t\n1,2,0\n1,-inf,0\n", "t", "column 'b' has an infinite value (data row 2)"),
    "overflow": ("a,b,t\n1,1e400,0\n", "t", "column 'b' has an infinite value (data row 1)"),
    "first in reading order": ("a,b,t\n1,2,0\n1,x,0\ny,2,1\n", "t", "column 'b' is not numeric (data row 2: 'x')"),
    "earlier column first": ("a,b,t\n1,2,0\nNA,x,0\n", "t", "column 'a' has a missing value (data row 2)"),
    "ragged before a bad cell": ("a,b,t\n1,2,0\n1,2\n1,x,0\n", "t", "data row 2 has 2 fields but the header has 3"),
    "bad cell before a ragged row": ("a,b,t\n1,x,0\n1,2,0,4\n", "t", "column 'b' is not numeric (data row 1: 'x')"),
    "ragged row": ("a,b,t\n1,2,0\n2,3\n", "t", "data row 2 has 2 fields but the header has 3"),
    "target missing": ("a,t\n1,0\n2, \n", "t", "target column 't' has a missing value (data row 2)"),
    "target NA": ("a,t\n1,0\n2,n/a\n3,None\n", "t", "target column 't' has a missing value (data row 3)"),
    "target column not found": ("a,b,t\n1,2,0\n", "label",
                                "target column 'label' not found in .*; its columns are: a, b, t"),
    "feature column not found": ("a,b,t\n1,2,0\n", "t", "feature column 'c' not found in .*; its columns are: a, b, t"),
    "empty file": ("", "t", "is empty: expected a header row and data rows"),
    "blank file": ("\n  \n,,\n", "t", "is empty: expected a header row and data rows"),
    "header only": ("a,b,t\n", "t", "has a header but no data rows"),
    "header and blank rows": ("a,b,t\n,,\n\n", "t", "has a header but no data rows"),
    "no features": ("t\n1\n", "t", "has no feature columns besides the target 't'"),
    "single class": ("a,t\n1,0\n2,0\n", "t", "target column 't' has a single class \\('0'\\)"),
}


@pytest.mark.parametrize("case", sorted(CSV_ERRORS))
def test_csv_errors(tmp_path, case):
    text, target, message = CSV_ERRORS[case]
    features = ["a", "c"] if case == "feature column not found" else None
    path = write(tmp_path, text)
    pattern = message if ".*" in message or "\\(" in message else re.escape(message)
    for dtype in ("float64", "float32"):
        with pytest.raises(DeepBasicsError, match=pattern) as err:
            datasets.load("csv", path=path, target=target, features=features, dtype=dtype)
        assert "\n" not in str(err.value)


def test_csv_errors_on_a_large_file_point_at_the_row(tmp_path):
    rows = [f"{i},{i * 0.5},{i % 3}" for i in range(200_000)]
    rows[150_001] = "150001,oops,1"
    rows[170_000] = "170000,7"
    path = write(tmp_path, "a,b,t\n" + "\n".join(rows) + "\n")
    with pytest.raises(DeepBasicsError, match="column 'b' is not numeric \\(data row 150002: 'oops'\\)"):
        datasets.load("csv", path=path, target="t")
    rows[150_001] = "150001,1,1"
    with pytest.raises(DeepBasicsError, match="data row 170001 has 2 fields but the header has 3"):
        datasets.load("csv", path=write(tmp_path, "a,b,t\n" + "\n".join(rows) + "\n"), target="t")


def test_csv_float32_overflow_says_so(tmp_path):
    path = write(tmp_path, "a,b,t\n1,2,0\n1,1e300,1\n")
    with pytest.raises(DeepBasicsError, match="column 'b' has a value too large for float32 \\(data row 2: '1e300'\\)"):
        datasets.load("csv", path=path, target="t", dtype="float32")
    assert datasets.load("csv", path=path, target="t").X[1, 1] == 1e300


def test_csv_not_text_and_bad_options(tmp_path):
    with pytest.raises(DeepBasicsError, match="cannot read .* as CSV text"):
        datasets.load("csv", path=write(tmp_path, b"a,b,t\n1,2,\xff\xfe\n"), target="t")
    with pytest.raises(DeepBasicsError, match="cannot read .* as CSV text"):
        datasets.load("csv", path=write(tmp_path, b"a,\xff,t\n1,2,0\n"), target="t")
    with pytest.raises(DeepBasicsError, match="does not exist"):
        datasets.load("csv", path=str(tmp_path / "nope.csv"), target="t")
    path = write(tmp_path, "a,t\n1,0\n2,1\n")
    with pytest.raises(DeepBasicsError, match="delimiter must be one character"):
        datasets.load("csv", path=path, target="t", delimiter=";;")
    with pytest.raises(DeepBasicsError, match="dtype must be float64 or float32, got 'float16'"):
        datasets.load("csv", path=path, target="t", dtype="float16")
    with pytest.raises(DeepBasicsError, match="task must be auto, classification or regression"):
        datasets.load("csv", path=path, target="t", task="ranking")
    with pytest.raises(DeepBasicsError, match="column 'a' is the target"):
        datasets.load("csv", path=path, target="a", features=["a"])
    with pytest.raises(DeepBasicsError, match="does not take option 'delimiter'"):
        datasets.load("parquet", path=path, target="t", delimiter=";")
    with pytest.raises(DeepBasicsError, match="needs the name of its target column"):
        datasets.load("parquet", path=path)


def test_text_target_for_regression(tmp_path):
    with pytest.raises(DeepBasicsError, match="target column 't' must be numeric for regression, found 'b'"):
        datasets.load("csv", path=write(tmp_path, "a,t\n1,1.5\n2,b\n3,c\n"), target="t", task="regression")


def good_parquet_bytes(tmp_path):
    return Path(write_parquet(tmp_path, {"a": [1.0, 2.0, 3.0], "t": [0, 1, 0]}, "good.parquet")).read_bytes()


# case -> (the file: its columns, or a function of a good file's bytes giving the bytes), target, message
PARQUET_ERRORS = {
    "text feature": ({"a": [1.0, 2.0, 3.0], "city": [None, "Paris", "Rome"], "t": [0, 1, 0]}, "t",
                     "column 'city' is not numeric (Parquet type string, data row 2: 'Paris'); encode it"),
    "date feature": ({"a": [1.0], "d": pa.array([0], pa.date32()), "t": [0]}, "t",
                     "column 'd' is not numeric (Parquet type date32[day], data row 1: '1970-01-01')"),
    "null feature": ({"a": [1.0, None, 3.0], "b": [1, 2, None], "t": [0, 1, 0]}, "t",
                     "column 'a' has a missing value (data row 2); fill or drop"),
    "null integer feature": ({"b": [1, 2, None], "t": [0, 1, 0]}, "t", "column 'b' has a missing value (data row 3)"),
    "NaN feature": ({"a": [1.0, 2.0, np.nan], "t": [0, 1, 0]}, "t", "column 'a' has a missing value (data row 3)"),
    "infinite feature": ({"a": [1.0, -np.inf, 3.0], "t": [0, 1, 0]}, "t",
                         "column 'a' has an infinite value (data row 2)"),
    "null target": ({"a": [1.0, 2.0, 3.0], "t": [0, None, 1]}, "t",
                    "target column 't' has a missing value (data row 2)"),
    "NaN target": ({"a": [1.0, 2.0, 3.0], "t": [0.5, 1.5, np.nan]}, "t",
                   "target column 't' has a missing value (data row 3)"),
    "NA text target": ({"a": [1.0, 2.0, 3.0], "t": ["x", " NA ", "y"]}, "t",
                       "target column 't' has a missing value (data row 2)"),
    "first in reading order": ({"a": [1.0, 2.0, np.nan], "t": [0, None, 1]}, "t",
                               "target column 't' has a missing value (data row 2)"),
    "target of another type": ({"a": [1.0], "t": pa.array([[1]], pa.list_(pa.int64()))}, "t",
                               "target column 't' holds Parquet type list<.*>; it must hold numbers or text labels"),
    "target column not found": ({"a": [1.0], "t": [0]}, "label",
                                "target column 'label' not found in .*; its columns are: a, t"),
    "no rows": ({"a": pa.array([], pa.float64()), "t": pa.array([], pa.int64())}, "t", "has columns but no data rows"),
    "empty file": (lambda data: b"", "t", "is empty: expected a Parquet file"),
    "not parquet": (lambda data: b"a,t\n1,0\n", "t", "cannot read .* as Parquet: "),
    "truncated": (lambda data: data[:len(data) // 2], "t", "cannot read .* as Parquet: "),
    "corrupt pages": (lambda data: data[:4] + bytes(100) + data[104:], "t", "cannot read .* as Parquet: "),
    "missing file": (None, "t", "data file .* does not exist"),
}


@pytest.mark.parametrize("case", sorted(PARQUET_ERRORS))
def test_parquet_errors(tmp_path, case):
    content, target, message = PARQUET_ERRORS[case]
    if isinstance(content, dict):
        path = write_parquet(tmp_path, content)
    elif content is None:
        path = str(tmp_path / "nope.parquet")
    else:
        path = write(tmp_path, content(good_parquet_bytes(tmp_path)), "data.parquet")
    pattern = message if ".*" in message else re.escape(message)
    for dtype in ("float64", "float32"):
        with pytest.raises(DeepBasicsError, match=pattern) as err:
            datasets.load("parquet", path=path, target=target, dtype=dtype)
        assert "\n" not in str(err.value)


def test_parquet_float32_overflow_says_so(tmp_path):
    path = write_parquet(tmp_path, {"a": [1.0, 1e300], "t": [0, 1]})
    message = "column 'a' has a value too large for float32 (data row 2: 1e+300); read it as float64"
    with pytest.raises(DeepBasicsError, match=re.escape(message)):
        datasets.load("parquet", path=path, target="t", dtype="float32")


def test_encode_target_takes_lists_and_arrays():
    assert readers.encode_target(["b", "a", "b"])[2] == ("a", "b")
    y, task, classes = readers.encode_target(np.array([3, 1, 3]))
    assert y.tolist() == [1, 0, 1] and task == "binary" and classes == ("1", "3")
    y, task, classes = readers.encode_target(["1_0", "2", "1_0"])           # Python's float() spellings
    assert classes == ("2", "10") and y.tolist() == [1, 0, 1]
    assert datasets.encode_target(["x", "y"])[1] == "binary"


# -- the rules, row by row: messy CSV text read as Python's csv module and float() read it ------------
MARKERS = ("", "na", "nan", "null", "none", "?")


def reference_read(path, target, features=None, delimiter=","):
    """The specification, one cell at a time: (X, y, task, classes) or the error message."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f, delimiter=delimiter) if any(cell.strip() for cell in r)]
    if not rows:
        return f"{path} is empty: expected a header row and data rows"
    header, body = [h.strip() for h in rows[0]], rows[1:]
    if not body:
        return f"{path} has a header but no data rows"
    if target not in header:
        return f"target column {target!r} not found in {path}; its columns are: {', '.join(header)}"
    features = [h for h in header if h != target] if features is None else features
    for name in features:
        if name not in header:
            return f"feature column {name!r} not found in {path}; its columns are: {', '.join(header)}"
    if not features:
        return f"{path} has no feature columns besides the target {target!r}"
    where = {h: i for i, h in enumerate(header)}
    X, labels = np.empty((len(body), len(features))), []
    for r, row in enumerate(body, start=1):
        if len(row) != len(header):
            return f"{path}: data row {r} has {len(row)} fields but the header has {len(header)}"
        for j, name in enumerate(features):
            cell = row[where[name]].strip()
            if cell.lower() in MARKERS:
                return f"{path}: column {name!r} has a missing value (data row {r}); fill or drop such rows first"
            try:
                X[r - 1, j] = float(cell)
            except ValueError:
                return (f"{path}: column {name!r} is not numeric (data row {r}: {cell!r}); "
                        f"encode it as numbers or leave it out with data.features")
            if not np.isfinite(X[r - 1, j]):
                return f"{path}: column {name!r} has an infinite value (data row {r})"
        label = row[where[target]].strip()
        if label.lower() in MARKERS:
            return f"{path}: target column {target!r} has a missing value (data row {r})"
        labels.append(label)
    try:
        return (X, *readers.encode_target(labels, "auto", f"target column {target!r}"))
    except DeepBasicsError as exc:
        return str(exc)


GOOD_CELLS = ["1", "2.5", "-3", " 4 ", "1e3", "+2", ".5", "0", "7", '"5"', "-0.0", "1E-310"]
BAD_CELLS = ["", " ", "NA", "nan", " None", "?", "x", "inf", "-inf", "1e400", "-nan", "Infinity", '"a,b"', '" "',
             '"x\ny"', '"NA"', '""']
GOOD_LABELS = ["0", "1", "2", "a", "b", " c ", "1.5", '"q,r"', '"say ""hi"""', '"two\nlines"']
BAD_LABELS = ["", "NA", " ? "]


@st.composite
def messy_csv(draw):
    n = draw(st.integers(2, 4))
    names = ["a", "b", "c"][:n - 1] + ["t"]
    clean = draw(st.booleans())                   # only good cells: the blank and ragged rows decide
    cell = st.sampled_from(GOOD_CELLS if clean else GOOD_CELLS * 2 + BAD_CELLS)
    label = st.sampled_from(GOOD_LABELS if clean else GOOD_LABELS * 2 + BAD_LABELS)
    lines = [",".join(names)]
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["row"] * 12 + ["empty", "spaces", "commas", "ragged"]))
        if kind == "row":
            lines.append(",".join([*(draw(cell) for _ in range(n - 1)), draw(label)]))
        elif kind == "ragged":
            lines.append(",".join(draw(cell) for _ in range(draw(st.sampled_from([1, n - 1, n + 1])))))
        elif kind == "commas":                                   # a row of blank cells
            lines.append(draw(st.sampled_from([",", " , ", '"",'])) * (n - 1))
        else:
            lines.append("" if kind == "empty" else "  ")
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    start = draw(st.sampled_from(["", "\ufeff", "\n", "  \n"]))
    text = start + newline.join(lines) + draw(st.sampled_from(["", newline, newline * 2]))
    delimiter = draw(st.sampled_from([",", ";"]))
    features = draw(st.sampled_from([None, ["a"]]))
    return text.replace(",", delimiter), delimiter, features


@settings(max_examples=250, deadline=None)
@given(messy_csv())
def test_property_csv_reader_follows_the_row_by_row_rules(tmp_path_factory, case):
    text, delimiter, features = case
    path = tmp_path_factory.mktemp("m") / "m.csv"
    path.write_bytes(text.encode())
    expected = reference_read(str(path), "t", features, delimiter)
    try:
        ds = datasets.load("csv", path=str(path), target="t", features=features, delimiter=delimiter)
    except DeepBasicsError as exc:
        assert str(exc) == expected
        return
    assert not isinstance(expected, str), expected
    X, y, task, classes = expected
    assert ds.X.tobytes() == X.tobytes() and ds.y.tolist() == y.tolist()
    assert ds.task == task and ds.classes == classes


# -- describe: a file's columns before it is read -------------------------------------------------------
def test_describe_names_each_csv_columns_kind_and_counts_the_rows(tmp_path):
    path = write(tmp_path, "\ufeffx, y ,label,when\n1,2.5,cat,2020-01-01\n3,NA,dog,2020-01-02\n\n5,1e3,cat,x\n")
    got = readers.describe(path, "csv")
    assert got.names == ("x", "y", "label", "when") and got.rows == 3
    assert got.kinds == ("number", "incomplete", "text", "text")
    # a "number" column is one read_csv takes as a feature (a missing value is its own error there)
    assert readers.read_csv(path, "label", features=["x"]).X[:, 0].tolist() == [1.0, 3.0, 5.0]
    with pytest.raises(DeepBasicsError, match="missing value"):
        readers.read_csv(path, "label", features=["y"])


def test_describe_reads_a_parquet_files_schema(tmp_path):
    path = write_parquet(tmp_path, {"a": [1.0, 2.0], "n": [1, 2], "flag": [True, False], "s": ["p", "q"],
                                    "gap": [1.0, None], "nan": [float("nan"), 1.0]})
    got = datasets.describe_table(path, "parquet")
    assert got.names == ("a", "n", "flag", "s", "gap", "nan") and got.rows == 2
    assert got.kinds == ("number", "number", "number", "text", "incomplete", "incomplete")


def test_describe_errors_are_the_readers_one_liners(tmp_path):
    with pytest.raises(DeepBasicsError, match="is empty"):
        readers.describe(write(tmp_path, ""), "csv")
    with pytest.raises(DeepBasicsError, match="cannot read .* as Parquet"):
        readers.describe(write(tmp_path, "a,b\n1,2\n", name="x.parquet"), "parquet")
    with pytest.raises(DeepBasicsError, match="csv or parquet"):
        readers.describe(write(tmp_path, "a\n1\n"), "npz")
