"""The plane the playground draws: two input features spanning it, the others held at their mean.

    plane = Plane(cfg, prepared)              # the data of a session, prepared by experiment.prepare
    plane.inputs(plane.grid(64))              # (64*64, n) model inputs over the plane
    plane.points("train")                     # the training points projected onto the plane

A generated 2-D set is drawn in its own plane (x1, x2), and its input features (x1^2, sin(x1),
...) are computed from it as ``prepare`` computes them. A table (a bundled set or an uploaded
file) is drawn over two of its features (``data.plane``, default the first two): a point of the
plane is the row whose two plane features take the point's values and whose other features are
their training mean (in raw units); the data's points are projected onto the plane (their other
features dropped). Every grid goes through the session's fitted standardiser, as the data did.
"""
from __future__ import annotations

import numpy as np

from ..data import datasets
from ..errors import ConfigError
from ..runs import config as config_mod, experiment

MAX_SHOWN = 5000            # points of each split drawn at most (a fixed sample of a larger table)


class Plane:
    """The axes, extent and grids of the views for one session's data."""

    def __init__(self, cfg: config_mod.Config, prepared: experiment.Prepared, plane=None):
        self.cfg, self.prepared = cfg, prepared
        d, names = cfg.data, prepared.dataset.feature_names
        self.generated = d.name in datasets.GENERATED
        if self.generated:
            raw = datasets.load(d.name, **d.options()).X
            parts = prepared.split
            self.raw = {"train": raw[parts.train], "test": raw[parts.test]}
            self.axes, self.where = ("x1", "x2"), (0, 1)
        else:
            X = prepared.scaler.inverse(np.asarray(prepared.X, dtype=np.float64))     # raw units, split order
            n_train, n_test = prepared.n_train, len(prepared.y_test)
            self.raw = {"train": X[:n_train], "test": X[len(X) - n_test:]}
            self.axes = _axes(plane or d.plane, names)
            self.where = (names.index(self.axes[0]), names.index(self.axes[1]))
            self.mean = self.raw["train"].mean(axis=0)
        both = np.concatenate([self.raw["train"], self.raw["test"]])
        self.extent = _extent(both[:, list(self.where)])

    @property
    def held(self) -> int:
        """How many features are held at their mean (0 for a generated set)."""
        return 0 if self.generated else len(self.prepared.dataset.feature_names) - 2

    def grid(self, n: int) -> np.ndarray:
        """n*n points of the plane, row-major from the second axis' minimum, the first axis varying
        fastest: (n*n, 2)."""
        xs = np.linspace(self.extent[0], self.extent[1], n)
        ys = np.linspace(self.extent[2], self.extent[3], n)
        xx, yy = np.meshgrid(xs, ys)
        return np.column_stack([xx.ravel(), yy.ravel()])

    def inputs(self, points: np.ndarray) -> np.ndarray:
        """Points of the plane (k, 2) -> the model's inputs (k, n): derived features or the held
        means, then the fitted standardiser."""
        scaler = self.prepared.scaler
        if self.generated:
            return scaler.transform(datasets.plane_features(points, self.cfg.data.features or ["x1", "x2"]))
        rows = np.repeat(self.mean[None, :], len(points), axis=0)
        rows[:, self.where[0]], rows[:, self.where[1]] = points[:, 0], points[:, 1]
        return scaler.transform(rows)

    def points(self, part: str) -> tuple[np.ndarray, np.ndarray, int]:
        """(x (k, 2) on the plane, y (k,), how many the split has): every point of ``part``
        ("train" or "test"), or a fixed sample of MAX_SHOWN of them."""
        X = self.raw[part][:, list(self.where)]
        y = self.prepared.y_train if part == "train" else self.prepared.y_test
        if len(y) <= MAX_SHOWN:
            return X, y, len(y)
        pick = np.sort(np.random.RandomState(0).choice(len(y), MAX_SHOWN, replace=False))
        return X[pick], y[pick], len(y)


def _axes(chosen, names: tuple) -> tuple[str, str]:
    """The two plane features: ``data.plane`` (each one of the data's features) or the first two."""
    if len(names) < 2:
        raise ConfigError("", "data.features", "", line=(
            "data.features: the playground draws the plane of two features, and the data have one; "
            "choose at least two (or train on it with deepbasics train)"))
    if chosen is None:
        return names[0], names[1]
    for name in chosen:
        if name not in names:
            raise ConfigError("", "data.plane", "", line=(
                f"data.plane: {name!r} is not one of the features ({', '.join(names)})"))
    return chosen[0], chosen[1]


def _extent(X: np.ndarray) -> list[float]:
    """[a_min, a_max, b_min, b_max] of the points (k, 2), padded by 8% of their range."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.08 * (hi - lo) + 1e-9
    return [float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])]
