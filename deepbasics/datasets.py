"""Datasets, examples as rows: X (m, n) float64, y (m,) int labels.

    moons(n_samples=900, noise=0.2, seed=3)   the document's data set: scikit-learn's
        make_moons drawn from RandomState(seed), the same numbers as the document's
        ``np.random.seed(3); make_moons(n_samples=900, noise=.2)``.
"""
from __future__ import annotations

import numpy as np

from .errors import DeepBasicsError, check_nonnegative, check_positive_int


def moons(n_samples: int = 900, noise: float = 0.2, seed: int = 3):
    """Two interleaving half circles (scikit-learn's make_moons) with Gaussian noise."""
    from sklearn.datasets import make_moons
    n_samples = check_positive_int("n_samples", n_samples)
    noise = check_nonnegative("noise", noise)
    if n_samples < 2:
        raise DeepBasicsError("moons needs n_samples >= 2 (one point per moon at least)")
    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=np.random.RandomState(seed))
    return X.astype(np.float64), y.astype(np.int64)
