"""Datasets and splits: shapes, determinism without global state, the user's files and their errors."""
import numpy as np
import pytest

from deepbasics.data import datasets
from deepbasics.errors import DeepBasicsError
from deepbasics.data.splits import Standardizer, default_fractions, split

GENERATED = ["moons", "circles", "spirals", "xor", "blobs"]


@pytest.mark.parametrize("name", GENERATED)
def test_generated_sets_are_deterministic_and_leave_global_state_alone(name):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    fn = datasets.GENERATED[name][0]
    X1, y1 = fn(n_samples=200, seed=7)
    X2, y2 = fn(n_samples=200, seed=7)
    X3, _ = fn(n_samples=200, seed=8)
    assert np.array_equal(np.random.get_state()[1], before)     # the global generator was not touched
    assert X1.shape == (200, 2) and X1.dtype == np.float64 and y1.dtype == np.int64
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert set(np.unique(y1)) <= set(range(5))


def test_moons_is_the_documents_data():
    from sklearn.datasets import make_moons
    X, y = datasets.moons(900, 0.2, 3)
    Xr, yr = make_moons(n_samples=900, noise=0.2, random_state=np.random.RandomState(3))
    assert np.array_equal(X, Xr) and np.array_equal(y, yr)


@pytest.mark.parametrize("n, noise, seed", [(2, 0.2, 0), (3, 0.0, 1), (101, 0.05, 7), (900, 0.2, 3),
                                            (1000, 0.3, 2**32 - 1)])
def test_moons_equals_scikit_learn_bit_for_bit(n, noise, seed):
    from sklearn.datasets import make_moons
    X, y = datasets.moons(n, noise, seed)
    Xr, yr = make_moons(n_samples=n, noise=noise, random_state=np.random.RandomState(seed))
    assert X.tobytes() == Xr.astype(np.float64).tobytes() and np.array_equal(y, yr)


def test_xor_labels_follow_the_quadrants_without_noise():
    X, y = datasets.xor(n_samples=500, noise=0.0, seed=1)
    assert np.array_equal(y, ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int))


def test_spirals_has_balanced_arms():
    X, y = datasets.spirals(n_samples=301, n_classes=3, seed=0)
    assert np.bincount(y).tolist() == [101, 100, 100]
    assert np.all(np.linalg.norm(X, axis=1) < 1.5)


@pytest.mark.parametrize("name,shape,k", [("digits", (1797, 64), 10), ("breast_cancer", (569, 30), 2),
                                          ("iris", (150, 4), 3), ("wine", (178, 13), 3)])
def test_bundled_sets(name, shape, k):
    ds = datasets.load(name)
    assert ds.X.shape == shape and ds.n_classes == k and ds.y.max() == k - 1
    assert ds.task == ("binary" if k == 2 else "multiclass")
    assert len(ds.feature_names) == shape[1]


@pytest.mark.parametrize("kwargs,match", [
    ({"n_samples": 0}, "n_samples"), ({"noise": -1.0}, "noise"), ({"seed": -3}, "seed"),
    ({"factor": 1.5}, "factor")])
def test_bad_generator_options(kwargs, match):
    with pytest.raises(DeepBasicsError, match=match):
        datasets.circles(**kwargs)


def test_load_rejects_unknown_names_and_options():
    with pytest.raises(DeepBasicsError, match="unknown dataset 'moon'"):
        datasets.load("moon")
    with pytest.raises(DeepBasicsError, match="does not take option 'factor'"):
        datasets.load("moons", factor=0.5)


# -- files ---------------------------------------------------------------------------------------
def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_numeric_and_text_labels(tmp_path):
    path = write(tmp_path, "a,b,kind\n1,2,cat\n3,4,dog\n5,6,cat\n")
    ds = datasets.load("csv", path=str(path), target="kind")
    assert ds.X.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert ds.y.tolist() == [0, 1, 0] and ds.classes == ("cat", "dog") and ds.task == "binary"
    assert ds.feature_names == ("a", "b")
    ds = datasets.load("csv", path=str(write(tmp_path, "x,y\n1,3\n2,1\n3,2\n", "n.csv")), target="y")
    assert ds.y.tolist() == [2, 0, 1] and ds.classes == ("1", "2", "3") and ds.task == "multiclass"


def test_csv_float_target_is_regression(tmp_path):
    ds = datasets.load("csv", path=str(write(tmp_path, "x,t\n1,0.5\n2,1.5\n3,2.25\n")), target="t")
    assert ds.task == "regression" and ds.y.dtype == np.float64 and ds.classes == ()


def test_csv_features_subset(tmp_path):
    path = write(tmp_path, "id,name,a,t\n1,x,2.0,0\n2,y,3.0,1\n")
    ds = datasets.load("csv", path=str(path), target="t", features=["a"])
    assert ds.X.tolist() == [[2.0], [3.0]]


@pytest.mark.parametrize("text,target,match", [
    ("a,b,t\n1,x,0\n2,3,1\n", "t", "column 'b' is not numeric \\(data row 1: 'x'\\)"),
    ("a,b,t\n1,,0\n2,3,1\n", "t", "column 'b' has a missing value \\(data row 1\\)"),
    ("a,b,t\n1,NaN,0\n2,3,1\n", "t", "column 'b' has a missing value"),
    ("a,b,t\n1,inf,0\n2,3,1\n", "t", "column 'b' has an infinite value"),
    ("a,b,t\n1,2,0\n", "label", "target column 'label' not found in .*its columns are: a, b, t"),
    ("", "t", "is empty"),
    ("a,b,t\n", "t", "has a header but no data rows"),
    ("a,b,t\n1,2\n", "t", "data row 1 has 2 fields but the header has 3"),
    ("a,t\n1,0\n2,\n", "t", "target column 't' has a missing value \\(data row 2\\)"),
    ("a,t\n1,0\n2,0\n", "t", "single class"),
])
def test_csv_errors_name_the_problem(tmp_path, text, target, match):
    with pytest.raises(DeepBasicsError, match=match):
        datasets.load("csv", path=str(write(tmp_path, text)), target=target)


def test_csv_missing_file():
    with pytest.raises(DeepBasicsError, match="does not exist"):
        datasets.load("csv", path="/nonexistent/x.csv", target="t")


def test_npz(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, features=np.arange(6.0).reshape(3, 2), labels=np.array([1, 0, 1]))
    ds = datasets.load("npz", path=str(path), x="features", y="labels")
    assert ds.X.shape == (3, 2) and ds.y.tolist() == [1, 0, 1]


@pytest.mark.parametrize("X,y,match", [
    (np.array([[1.0, np.nan], [2, 3]]), np.array([0, 1]), "NaN or infinite"),
    (np.array([[1.0, np.inf], [2, 3]]), np.array([0, 1]), "NaN or infinite"),
    (np.arange(4.0), np.array([0, 1, 0, 1]), "must be 2-D"),
    (np.ones((4, 2)), np.array([0, 1, 0]), "4 rows but 'y' has 3 values"),
    (np.ones((0, 2)), np.zeros(0), "empty"),
    (np.array([[1, 2], [3, 4]], dtype=object), np.array([0, 1]), "Python objects"),
    (np.array([["a", "b"], ["c", "d"]]), np.array([0, 1]), "must be numeric"),
])
def test_npz_errors(tmp_path, X, y, match):
    path = tmp_path / "bad.npz"
    np.savez(path, X=X, y=y)
    with pytest.raises(DeepBasicsError, match=match):
        datasets.load("npz", path=str(path))


def test_npz_missing_array_and_not_a_zip(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.ones((2, 2)))
    with pytest.raises(DeepBasicsError, match="array 'y' not found"):
        datasets.load("npz", path=str(path))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(DeepBasicsError, match="cannot read"):
        datasets.load("npz", path=str(junk))


# -- splits --------------------------------------------------------------------------------------
def test_default_fractions_follow_the_document():
    assert default_fractions(9_999) == (0.70, 0.15, 0.15)
    assert default_fractions(10_000) == (0.98, 0.01, 0.01)


def test_split_is_a_stratified_partition():
    y = np.array([0] * 600 + [1] * 300)
    s = split(y, seed=4)
    assert s.sizes() == (630, 135, 135)
    everything = np.concatenate([s.train, s.val, s.test])
    assert np.array_equal(np.sort(everything), np.arange(900))
    for part in (s.val, s.test):
        assert np.bincount(y[part]).tolist() == [90, 45]        # 2:1 as in the whole
    assert not np.all(np.diff(s.train) > 0)                      # shuffled, not sorted
    again = split(y, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(s[:3], again[:3]))
    assert "train 630 / validation 135 / test 135 (70/15/15, stratified, seed 4)" in s.describe()


def test_large_sets_use_98_1_1():
    assert split(np.zeros(20_000), seed=0).sizes() == (19_600, 200, 200)


def test_split_overrides_and_no_split():
    y = np.arange(100) % 2
    assert split(y, [0.8, 0.2, 0.0]).sizes() == (80, 20, 0)
    s = split(y, [1.0, 0.0, 0.0])
    assert np.array_equal(s.train, np.arange(100))                # nothing held out: the data's order


@pytest.mark.parametrize("fractions", [[0.5, 0.5], [0.7, 0.2, 0.2], [0.0, 0.5, 0.5], [1.2, -0.1, -0.1]])
def test_bad_fractions(fractions):
    with pytest.raises(DeepBasicsError, match="fractions"):
        split(np.zeros(100), fractions)


def test_too_few_examples_for_a_split():
    with pytest.raises(DeepBasicsError, match="too few"):
        split(np.array([0, 1, 0]))
    with pytest.raises(DeepBasicsError, match="empty"):
        split(np.zeros(0))


def test_standardizer_fitted_on_training_rows_only():
    X = np.array([[0.0, 5.0], [2.0, 5.0], [100.0, 7.0]])
    s = Standardizer.fit(X[:2])
    assert s.mean.tolist() == [1.0, 5.0] and s.scale.tolist() == [1.0, 1.0]   # constant column: scale 1
    assert s.transform(X)[2].tolist() == [99.0, 2.0]
    assert np.allclose(s.inverse(s.transform(X)), X)


def test_a_stratified_split_holds_a_byte_a_row_not_sorted_copies():
    """The parts are cut by a byte per row and read off the shuffled order: the same parts as
    ordering each class's rows by their place in the shuffle (the definition), for int and text labels."""
    rng = np.random.default_rng(3)
    for labels in (rng.integers(0, 4, 1000), np.array(["b", "a", "c"])[rng.integers(0, 3, 1000)]):
        s = split(labels, (0.6, 0.2, 0.2), seed=5)
        order = np.random.default_rng(5).permutation(1000)
        place = np.empty(1000, dtype=np.int64)
        place[order] = np.arange(1000)
        for part in (s.train, s.val, s.test):
            assert np.all(np.diff(place[part]) > 0)          # in shuffled order
        assert sorted(np.concatenate([s.train, s.val, s.test]).tolist()) == list(range(1000))
        for c in np.unique(labels):                           # every class cut 60/20/20
            assert abs(np.sum(labels[s.val] == c) - 0.2 * np.sum(labels == c)) <= 1


# -- the regression sets, columns by name, fingerprints -----------------------------------------------
@pytest.mark.parametrize("name", datasets.REGRESSION)
def test_regression_sets_are_deterministic_values_in_the_square(name):
    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    fn = datasets.GENERATED[name][0]
    X1, y1 = fn(n_samples=300, seed=4)
    X2, y2 = fn(n_samples=300, seed=4)
    assert np.array_equal(np.random.get_state()[1], before)
    assert X1.shape == (300, 2) and y1.shape == (300,) and y1.dtype == np.float64
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert np.all(np.abs(X1) <= 1)
    data = datasets.load(name, n_samples=300, seed=4)
    assert data.task == "regression" and data.classes == () and data.feature_names == ("x1", "x2")
    assert np.array_equal(data.y, y1)


def test_the_plane_and_the_bumps_without_noise():
    X, y = datasets.plane(n_samples=500, noise=0.0, seed=1)
    assert np.allclose(y, (X[:, 0] + X[:, 1]) / 2)
    X, y = datasets.gaussians(n_samples=20000, noise=0.0, seed=1)
    for cx, cy, sign in datasets.BUMPS:          # near each centre the value is that bump's sign
        near = (X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2 < 0.05 ** 2
        assert near.any() and np.all(np.sign(y[near]) == sign) and np.all(np.abs(y[near]) > 0.8)
    assert -1.2 < y.min() < -0.8 and 0.8 < y.max() < 1.2


def test_select_features_keeps_named_columns_in_order():
    iris = datasets.load("iris")
    two = datasets.select_features(iris, ["petal width (cm)", "sepal length (cm)"])
    assert two.feature_names == ("petal width (cm)", "sepal length (cm)")
    assert np.array_equal(two.X, iris.X[:, [3, 0]]) and two.y is iris.y
    with pytest.raises(DeepBasicsError, match="no feature 'petals'.*sepal length"):
        datasets.select_features(iris, ["petals"])
    with pytest.raises(DeepBasicsError, match="twice"):
        datasets.select_features(iris, ["sepal length (cm)", "sepal length (cm)"])


def test_file_fingerprint_is_the_start_of_the_sha256(tmp_path):
    import hashlib
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,2\n" * 100_000)
    assert datasets.file_fingerprint(path) == hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert datasets.file_fingerprint(path, 40) == hashlib.sha256(path.read_bytes()).hexdigest()[:40]
    with pytest.raises(DeepBasicsError, match="does not exist"):
        datasets.file_fingerprint(tmp_path / "missing.csv")
