"""Finite-difference gradient checks shared by the tests (central differences, float64)."""
import numpy as np


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences; f maps an array like x to a scalar."""
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        hi = f(x)
        flat[i] = old - eps
        lo = f(x)
        flat[i] = old
        gflat[i] = (hi - lo) / (2 * eps)
    return g


def assert_close_grad(analytic, numeric, rtol=1e-5, atol=1e-7):
    analytic, numeric = np.asarray(analytic, dtype=float), np.asarray(numeric, dtype=float)
    assert analytic.shape == numeric.shape
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol)
