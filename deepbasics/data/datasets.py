"""Datasets, examples as rows: X (m, n) float64, y (m,) int64 class labels (0..k-1) or float64 values.

Synthetic 2-D sets, each drawn from its own ``RandomState``/``Generator`` built from ``seed``
(NumPy's global random state is never touched, so the same seed gives the same data anywhere):

    moons(n_samples=900, noise=0.2, seed=3)     the document's data set: scikit-learn's make_moons
        drawn from RandomState(seed), the same numbers as the document's
        make_moons(n_samples=900, noise=.2) after seeding the global generator with 3
    circles(n_samples, noise, factor, seed)     two concentric circles (make_circles)
    spirals(n_samples, noise, n_classes, seed)  interleaved arms r = t, angle = 4t + 2 pi c / k
    xor(n_samples, noise, seed)                 U[-1, 1]^2, label = [x1 > 0] xor [x2 > 0]
    blobs(n_samples, n_features, centers, cluster_std, seed)   Gaussian blobs (make_blobs)

and two to regress (a continuous target, as TensorFlow Playground's regression sets):

    plane(n_samples, noise, seed)               a tilted plane, y = (x1 + x2) / 2 + noise
    gaussians(n_samples, noise, seed)           a mixture of six Gaussian bumps, alternately + and -

scikit-learn's bundled sets (shipped inside scikit-learn, nothing is downloaded):

    digits (1797, 64) 10 classes · breast_cancer (569, 30) 2 · iris (150, 4) 3 · wine (178, 13) 3

The user's own data, read by ``readers`` through Apache Arrow (CSV and Parquet) or NumPy (npz):

    read_csv(path, target, features, delimiter, task, dtype)   a header row, numeric feature columns
    read_parquet(path, target, features, task, dtype)          numeric feature columns
    read_npz(path, x="X", y="y", dtype)                        arrays X (m, n) and y (m,)

``load(name, **options)`` returns a ``Dataset`` for any of these; ``select_features`` keeps some of
its columns, ``describe_table`` lists a CSV or Parquet file's columns before it is read, and
``file_fingerprint`` names a file's content.
"""
from __future__ import annotations

import hashlib
import math
import numbers
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import DeepBasicsError, check_nonnegative, check_positive_int


class Dataset(NamedTuple):
    """A loaded data set.

    X              (m, n) float64 features, finite (float32 for a file read with dtype="float32")
    y              (m,) int64 class indices 0..k-1 (classification) or (m,) float64 (regression)
    task           "binary", "multiclass" or "regression"
    feature_names  n names
    classes        k class names as strings (the original labels), () for regression
    name           where it came from ("moons", "data.csv", ...)
    """
    X: np.ndarray
    y: np.ndarray
    task: str
    feature_names: tuple
    classes: tuple
    name: str

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise DeepBasicsError(f"seed must be a whole number in 0..2**32-1, got {seed!r}")
    return int(seed)


def _size(n_samples, at_least: int, what: str) -> int:
    n = check_positive_int("n_samples", n_samples)
    if n < at_least:
        raise DeepBasicsError(f"{what} needs n_samples >= {at_least}, got {n}")
    return n


def moons(n_samples: int = 900, noise: float = 0.2, seed: int = 3):
    """Two interleaving half circles with Gaussian noise: scikit-learn's make_moons, bit for bit.

    With t_k evenly spaced in [0, pi] (n // 2 points on the upper moon, the rest on the lower):
    upper (label 0) = (cos t, sin t), lower (label 1) = (1 - cos t, 0.5 - sin t). The rows are
    shuffled by permuting arange(n) with the RandomState, then noise * N(0, 1) is added to every
    coordinate, drawing from the same RandomState in the same order as scikit-learn does (so the
    data equals make_moons(n, noise=noise, random_state=RandomState(seed)); a test checks it).
    Written here so that loading moons does not import scikit-learn (about a second)."""
    n_samples = check_positive_int("n_samples", n_samples)
    noise = check_nonnegative("noise", noise)
    if n_samples < 2:
        raise DeepBasicsError("moons needs n_samples >= 2 (one point per moon at least)")
    rng = np.random.RandomState(seed)
    n_out = n_samples // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_samples - n_out)
    X = np.vstack([np.append(np.cos(t_out), 1 - np.cos(t_in)),
                   np.append(np.sin(t_out), 1 - np.sin(t_in) - 0.5)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.int64), np.ones(n_samples - n_out, dtype=np.int64)])
    order = np.arange(n_samples)
    rng.shuffle(order)
    X, y = X[order], y[order]
    X += rng.normal(scale=noise, size=X.shape)
    return X.astype(np.float64), y


def circles(n_samples: int = 900, noise: float = 0.1, factor: float = 0.5, seed: int = 0):
    """A circle of radius 1 (label 0) around one of radius ``factor`` (label 1), Gaussian noise."""
    from sklearn.datasets import make_circles
    n = _size(n_samples, 2, "circles")
    noise = check_nonnegative("noise", noise)
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not 0 < factor < 1:
        raise DeepBasicsError(f"factor must satisfy 0 < factor < 1, got {factor!r}")
    X, y = make_circles(n_samples=n, noise=noise, factor=float(factor),
                        random_state=np.random.RandomState(_seed(seed)))
    return X.astype(np.float64), y.astype(np.int64)


def spirals(n_samples: int = 900, noise: float = 0.2, n_classes: int = 2, seed: int = 0):
    """``n_classes`` interleaved spiral arms; class c gets every k-th example.

    For t evenly spaced in [0, 1]: r = t, angle = 4 t + 2 pi c / k + noise * N(0, 1),
    x = (r sin angle, r cos angle). Two turns' worth of angle makes the classes wrap around
    each other, which a straight-line classifier cannot separate.
    """
    n = _size(n_samples, 2, "spirals")
    noise = check_nonnegative("noise", noise)
    k = check_positive_int("n_classes", n_classes)
    if k < 2:
        raise DeepBasicsError(f"spirals needs n_classes >= 2, got {k}")
    rng = np.random.default_rng(_seed(seed))
    y = np.arange(n) % k
    t = np.empty(n)
    for c in range(k):
        members = y == c
        t[members] = np.linspace(0.05, 1.0, int(members.sum()))
    angle = 4.0 * t + 2 * math.pi * y / k + noise * rng.standard_normal(n)
    X = np.column_stack([t * np.sin(angle), t * np.cos(angle)])
    return X.astype(np.float64), y.astype(np.int64)


def xor(n_samples: int = 900, noise: float = 0.1, seed: int = 0):
    """Points uniform in [-1, 1]^2 labelled [x1 > 0] xor [x2 > 0], then jittered by N(0, noise^2)."""
    n = _size(n_samples, 1, "xor")
    noise = check_nonnegative("noise", noise)
    rng = np.random.default_rng(_seed(seed))
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(np.int64)
    X = X + noise * rng.standard_normal((n, 2))
    return X, y


def blobs(n_samples: int = 900, n_features: int = 2, centers: int = 3, cluster_std: float = 1.0,
          seed: int = 0):
    """``centers`` isotropic Gaussian blobs (scikit-learn's make_blobs), centres in [-10, 10]^n."""
    from sklearn.datasets import make_blobs
    n = _size(n_samples, 1, "blobs")
    n_features = check_positive_int("n_features", n_features)
    centers = check_positive_int("centers", centers)
    cluster_std = check_nonnegative("cluster_std", cluster_std)
    X, y = make_blobs(n_samples=n, n_features=n_features, centers=centers, cluster_std=cluster_std,
                      random_state=np.random.RandomState(_seed(seed)))
    return X.astype(np.float64), y.astype(np.int64)


def plane(n_samples: int = 900, noise: float = 0.1, seed: int = 0):
    """A tilted plane to regress: x uniform in [-1, 1]^2, y = (x1 + x2) / 2 + noise * N(0, 1).
    Returns X (m, 2) and y (m,) float64."""
    n = _size(n_samples, 1, "plane")
    noise = check_nonnegative("noise", noise)
    rng = np.random.default_rng(_seed(seed))
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    return X, (X[:, 0] + X[:, 1]) / 2 + noise * rng.standard_normal(n)


# The bumps of ``gaussians``: centre (x1, x2) and sign, TensorFlow Playground's six scaled by 1/6.
BUMPS = ((-2 / 3, 5 / 12, 1.0), (0.0, 5 / 12, -1.0), (2 / 3, 5 / 12, 1.0),
         (-2 / 3, -5 / 12, -1.0), (0.0, -5 / 12, 1.0), (2 / 3, -5 / 12, -1.0))
BUMP_WIDTH = 0.2


def gaussians(n_samples: int = 900, noise: float = 0.05, seed: int = 0):
    """A mixture of Gaussians to regress: x uniform in [-1, 1]^2 and
    y = sum_c s_c exp(-||x - mu_c||^2 / (2 * 0.2^2)) + noise * N(0, 1), over the six bumps of
    ``BUMPS`` (centres mu_c, signs s_c = +1 or -1, in two rows of three). Returns X (m, 2), y (m,)."""
    n = _size(n_samples, 1, "gaussians")
    noise = check_nonnegative("noise", noise)
    rng = np.random.default_rng(_seed(seed))
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = np.zeros(n)
    for cx, cy, sign in BUMPS:
        y += sign * np.exp(-((X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2) / (2 * BUMP_WIDTH ** 2))
    return X, y + noise * rng.standard_normal(n)


def _bundled(loader_name: str):
    def load_bundled():
        from sklearn import datasets as skd
        bunch = getattr(skd, loader_name)()
        return bunch.data.astype(np.float64), bunch.target.astype(np.int64)
    load_bundled.__name__ = loader_name.replace("load_", "")
    load_bundled.__doc__ = f"scikit-learn's bundled ``{loader_name}()`` set (no download)."
    return load_bundled


digits = _bundled("load_digits")
breast_cancer = _bundled("load_breast_cancer")
iris = _bundled("load_iris")
wine = _bundled("load_wine")

# name -> (function, options it accepts)
GENERATED = {
    "moons": (moons, ("n_samples", "noise", "seed")),
    "circles": (circles, ("n_samples", "noise", "factor", "seed")),
    "spirals": (spirals, ("n_samples", "noise", "n_classes", "seed")),
    "xor": (xor, ("n_samples", "noise", "seed")),
    "blobs": (blobs, ("n_samples", "n_features", "centers", "cluster_std", "seed")),
    "plane": (plane, ("n_samples", "noise", "seed")),
    "gaussians": (gaussians, ("n_samples", "noise", "seed")),
}
REGRESSION = ("plane", "gaussians")          # the generated sets whose target is a value, not a class
BUNDLED = {"digits": digits, "breast_cancer": breast_cancer, "iris": iris, "wine": wine}
# file format -> the options ``load`` takes for it
FILES = {
    "csv": ("path", "target", "features", "delimiter", "task", "dtype"),
    "npz": ("path", "x", "y", "task", "dtype"),
    "parquet": ("path", "target", "features", "task", "dtype"),
}
DATASETS = tuple(GENERATED) + tuple(BUNDLED) + tuple(FILES)

# Input features of a generated 2-D set (as in TensorFlow Playground), computed from the raw
# plane (x1, x2) before any standardising: name -> f(x1, x2), each (m,) -> (m,).
PLANE_FEATURES = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1),
    "sin(x2)": lambda x1, x2: np.sin(x2),
}


def plane_features(X: np.ndarray, names) -> np.ndarray:
    """X (m, 2) raw points -> (m, len(names)) columns ``PLANE_FEATURES[name](x1, x2)``, in order."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise DeepBasicsError(f"derived input features need points in the plane (m, 2), got shape {X.shape}")
    for name in names:
        if name not in PLANE_FEATURES:
            raise DeepBasicsError(f"unknown input feature {name!r}; choose from: {', '.join(PLANE_FEATURES)}")
    return np.column_stack([PLANE_FEATURES[name](X[:, 0], X[:, 1]) for name in names])


# -- the user's own files ------------------------------------------------------------------------
# CSV and Parquet go through ``readers`` (Apache Arrow), imported on first use so that importing
# deepbasics does not load pyarrow.
def read_csv(path, target: str, features=None, delimiter: str = ",", task: str = "auto",
             dtype="float64") -> Dataset:
    """A CSV file with a header row: the numeric ``features`` columns (default: all but the target)
    as X (m, n) of ``dtype`` ("float64" or "float32"), the ``target`` column as y.

    Every feature cell must be a number; missing or non-numeric cells are errors naming the column
    and the row (rows counted from 1 after the header). See ``readers.read_csv``.
    """
    from . import readers
    return Dataset(*readers.read_csv(path, target, features, delimiter, task, dtype), Path(path).name)


def read_parquet(path, target: str, features=None, task: str = "auto", dtype="float64") -> Dataset:
    """A Parquet file: the numeric ``features`` columns (default: all but the target) as X (m, n)
    of ``dtype``, the ``target`` column as y, with the CSV reader's rules. See ``readers.read_parquet``."""
    from . import readers
    return Dataset(*readers.read_parquet(path, target, features, task, dtype), Path(path).name)


def read_npz(path, x: str = "X", y: str = "y", dtype="float64"):
    """Read arrays ``x`` (m, n) and ``y`` (m,) from an .npz file, never unpickling anything.

    Returns (X (m, n) of ``dtype``, the labels, feature names "x0".."x{n-1}"): the labels as the
    numeric array itself, or as strings for booleans and text. An X already of ``dtype`` is
    returned as read (no copy); whole numbers go through float64 on their way to float32, as the
    CSV and Parquet readers round them.
    """
    from .readers import check_dtype
    kind = check_dtype(dtype)
    path = Path(path)
    if path.is_file() and not zipfile.is_zipfile(path):
        raise DeepBasicsError(f"cannot read {path} as .npz: it is not a zip of .npy arrays (np.savez writes one)")
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = list(data.keys())
            for key in (x, y):
                if key not in keys:
                    held = ", ".join(keys) or "nothing"
                    raise DeepBasicsError(f"array {key!r} not found in {path}; it holds: {held}")
            X, Y = data[x], data[y]
    except FileNotFoundError:
        raise DeepBasicsError(f"data file {str(path)!r} does not exist") from None
    except DeepBasicsError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DeepBasicsError(f"{path} holds Python objects (pickled arrays); deepbasics reads numeric "
                                  f"arrays only") from None
        raise DeepBasicsError(f"cannot read {path} as .npz: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DeepBasicsError(f"cannot read {path} as .npz: {exc}") from None
    if X.ndim != 2:
        raise DeepBasicsError(f"{path}: array {x!r} must be 2-D (examples as rows), got shape {X.shape}")
    if Y.ndim == 2 and Y.shape[1] == 1:
        Y = Y[:, 0]
    if Y.ndim != 1:
        raise DeepBasicsError(f"{path}: array {y!r} must be 1-D (one label or value per example), got shape {Y.shape}")
    if X.shape[0] != Y.shape[0]:
        raise DeepBasicsError(f"{path}: {x!r} has {X.shape[0]} rows but {y!r} has {Y.shape[0]} values")
    if X.shape[0] == 0:
        raise DeepBasicsError(f"{path}: the arrays are empty (no examples)")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise DeepBasicsError(f"{path}: array {x!r} must be numeric, got {X.dtype}")
    if X.dtype != kind:
        with np.errstate(over="ignore"):            # a value beyond float32's range is inf: refused below
            X = (X if X.dtype.kind == "f" else X.astype(np.float64)).astype(kind)
    bad = int(X.size - np.count_nonzero(np.isfinite(X)))
    if bad:
        raise DeepBasicsError(f"{path}: array {x!r} contains {bad} NaN or infinite value(s); clean them first")
    if np.issubdtype(Y.dtype, np.number) and not np.all(np.isfinite(Y)):
        raise DeepBasicsError(f"{path}: array {y!r} contains NaN or infinite values; clean them first")
    labels = Y if Y.dtype.kind in "iuf" else [str(v) for v in Y.tolist()]
    return X, labels, tuple(f"x{j}" for j in range(X.shape[1]))


def encode_target(values, task: str = "auto", source: str = "target"):
    """Labels -> (y, task, classes): label strings or a numeric array. See ``readers.encode_target``:
    numbers with at most readers.MAX_CLASSES_AUTO (20) distinct whole values, or any non-numbers, are classes
    (sorted, numbered 0..k-1); other numbers are a regression target."""
    from . import readers
    return readers.encode_target(values, task, source)


def load(name: str, **options) -> Dataset:
    """A ``Dataset`` by name: one of ``DATASETS``.

    generated sets take the options listed in ``GENERATED`` (n_samples, noise, seed, ...);
    the files take the options listed in ``FILES``: "csv" path, target, features (list of column
    names), delimiter, task, dtype; "parquet" the same but delimiter; "npz" path, x, y (array
    names), task, dtype. task: "auto", "classification" or "regression"; dtype: "float64" (the
    default) or "float32", the type of X. Unknown options are errors.
    """
    def reject_unknown(allowed):
        extra = sorted(set(options) - set(allowed))
        if extra:
            raise DeepBasicsError(f"dataset {name!r} does not take option {extra[0]!r}; "
                                  f"it takes: {', '.join(allowed) or 'none'}")

    if name in GENERATED:
        fn, allowed = GENERATED[name]
        reject_unknown(allowed)
        X, y = fn(**options)
        if name in REGRESSION:
            return Dataset(X, y, "regression", ("x1", "x2"), (), name)
        k = int(y.max()) + 1
        return Dataset(X, y, "binary" if k == 2 else "multiclass", tuple(f"x{j + 1}" for j in range(X.shape[1])),
                       tuple(str(c) for c in range(k)), name)
    if name in BUNDLED:
        reject_unknown(())
        from sklearn import datasets as skd
        bunch = getattr(skd, f"load_{name}")()
        classes = tuple(str(c) for c in bunch.target_names)
        return Dataset(bunch.data.astype(np.float64), bunch.target.astype(np.int64),
                       "binary" if len(classes) == 2 else "multiclass",
                       tuple(str(f) for f in bunch.feature_names), classes, name)
    if name in FILES:
        reject_unknown(FILES[name])
        if "path" not in options:
            raise DeepBasicsError(f"dataset {name!r} needs a path")
        from . import readers
        task = readers.check_task(options.pop("task", "auto"))
        readers.check_dtype(options.get("dtype", "float64"))
        if name == "npz":
            X, labels, names = read_npz(**options)
            y, task, classes = encode_target(labels, task, f"array {options.get('y', 'y')!r}")
            return Dataset(X, y, task, names, classes, Path(options["path"]).name)
        if not options.get("target"):
            raise DeepBasicsError(f"a {name.upper() if name == 'csv' else name.capitalize()} data set needs "
                                  f"the name of its target column (data.target)")
        return (read_csv if name == "csv" else read_parquet)(**options, task=task)
    raise DeepBasicsError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")


def select_features(data: Dataset, names) -> Dataset:
    """The data set with only the columns ``names`` (in that order), found by their names."""
    names = list(names)
    missing = [n for n in names if n not in data.feature_names]
    if missing:
        raise DeepBasicsError(f"{data.name} has no feature {missing[0]!r}; its features are: "
                              f"{', '.join(data.feature_names)}")
    if len(set(names)) != len(names):
        raise DeepBasicsError(f"the features list a column twice: {names!r}")
    where = [data.feature_names.index(n) for n in names]
    return data._replace(X=data.X[:, where], feature_names=tuple(names))


def describe_table(path, name: str, delimiter: str = ","):
    """The columns of a "csv" or "parquet" file before it is read: ``readers.Columns`` (names, each
    "number" or "text", and the number of rows), for choosing its target and features."""
    from . import readers
    return readers.describe(path, name, delimiter)


FINGERPRINT_DIGITS = 16


def file_fingerprint(path, digits: int = FINGERPRINT_DIGITS) -> str:
    """The first ``digits`` (default 16) hexadecimal digits of the SHA-256 of a file's bytes: a
    name for its content."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except FileNotFoundError:
        raise DeepBasicsError(f"data file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise DeepBasicsError(f"cannot read {path}: {exc.strerror or exc}") from None
    return h.hexdigest()[:digits]
