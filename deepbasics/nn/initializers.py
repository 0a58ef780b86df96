"""Weight initialisers: how the first weights of a Dense layer are drawn.

Each initialiser maps ``(rng, n_out, n_in)`` to a weight matrix of shape ``(n_out, n_in)``
(the document's and PyTorch's layout). Variances, with n_in inputs and n_out units:

    standard_normal  N(0, 1)                    the document's naive choice; saturates sigmoids
    glorot_normal    N(0, 2 / (n_in + n_out))   Glorot & Bengio (2010), for tanh / sigmoid
    glorot_uniform   U(-a, a), a = sqrt(6 / (n_in + n_out))  (same variance)
    he_normal        N(0, 2 / n_in)             He et al. (2015), for ReLU; the document's
                                                ``initialize_parameters``
    he_uniform       U(-a, a), a = sqrt(6 / n_in)
    lecun_normal     N(0, 1 / n_in)             for SELU
    zeros            0

Normal draws are *untruncated* (as PyTorch's ``xavier_normal_``/``kaiming_normal_``; Keras
truncates at 2 sigma). ``rng`` may be a legacy ``np.random.RandomState`` (whose ``randn``
reproduces the document's weights, drawn after seeding the global generator with 3) or a ``np.random.Generator``.
The product ``randn(n_out, n_in) * sqrt(var)`` is written in the document's order so the
bits agree.
"""
from __future__ import annotations

import numpy as np

from ..errors import choose


def _standard_normal(rng, n_out: int, n_in: int) -> np.ndarray:
    if isinstance(rng, np.random.RandomState):
        return rng.randn(n_out, n_in)
    return rng.standard_normal((n_out, n_in))


def _uniform(rng, limit: float, n_out: int, n_in: int) -> np.ndarray:
    return rng.uniform(-limit, limit, size=(n_out, n_in))


def standard_normal(rng, n_out: int, n_in: int) -> np.ndarray:
    """N(0, 1): the document's naive initialisation."""
    return _standard_normal(rng, n_out, n_in)


def glorot_normal(rng, n_out: int, n_in: int) -> np.ndarray:
    """N(0, 2 / (n_in + n_out))."""
    return _standard_normal(rng, n_out, n_in) * np.sqrt(2 / (n_in + n_out))


def glorot_uniform(rng, n_out: int, n_in: int) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / (n_in + n_out)), variance 2 / (n_in + n_out)."""
    return _uniform(rng, np.sqrt(6 / (n_in + n_out)), n_out, n_in)


def he_normal(rng, n_out: int, n_in: int) -> np.ndarray:
    """N(0, 2 / n_in): exactly the document's ``randn(n_l, n_{l-1}) * sqrt(2 / n_{l-1})``."""
    return _standard_normal(rng, n_out, n_in) * np.sqrt(2 / n_in)


def he_uniform(rng, n_out: int, n_in: int) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / n_in), variance 2 / n_in."""
    return _uniform(rng, np.sqrt(6 / n_in), n_out, n_in)


def lecun_normal(rng, n_out: int, n_in: int) -> np.ndarray:
    """N(0, 1 / n_in): the partner of SELU."""
    return _standard_normal(rng, n_out, n_in) * np.sqrt(1 / n_in)


def zeros(rng, n_out: int, n_in: int) -> np.ndarray:
    """All zeros (draws nothing from ``rng``)."""
    return np.zeros((n_out, n_in))


INITIALIZERS = {
    "standard_normal": standard_normal, "normal": standard_normal,
    "glorot_normal": glorot_normal, "xavier_normal": glorot_normal, "glorot": glorot_normal,
    "glorot_uniform": glorot_uniform, "xavier_uniform": glorot_uniform,
    "he_normal": he_normal, "kaiming_normal": he_normal, "he": he_normal,
    "he_uniform": he_uniform, "kaiming_uniform": he_uniform,
    "lecun_normal": lecun_normal, "lecun": lecun_normal,
    "zeros": zeros,
}


def get(init):
    """An initialiser from its name (see ``INITIALIZERS``) or a callable ``(rng, n_out, n_in)``."""
    if callable(init):
        return init
    return choose("initialiser", init, INITIALIZERS)
