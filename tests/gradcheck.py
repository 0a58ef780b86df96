"""Finite-difference gradient checks shared by the tests (central differences, float64)."""
import numpy as np


def numeric_grad(f, x: np.ndarray, eps=1e-6) -> np.ndarray:
    """d f / d x by central differences; f maps an array like x to a scalar. ``eps`` is one step
    for every entry or an array of steps shaped like x (e.g. relative to x near a singularity)."""
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    steps = np.broadcast_to(np.asarray(eps, dtype=np.float64), x.shape).reshape(-1)
    for i in range(flat.size):
        old, h = flat[i], steps[i]
        flat[i] = old + h
        hi = f(x)
        flat[i] = old - h
        lo = f(x)
        flat[i] = old
        gflat[i] = (hi - lo) / (2 * h)
    return g


def assert_close_grad(analytic, numeric, rtol=1e-5, atol=1e-7):
    analytic, numeric = np.asarray(analytic, dtype=float), np.asarray(numeric, dtype=float)
    assert analytic.shape == numeric.shape
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol)
