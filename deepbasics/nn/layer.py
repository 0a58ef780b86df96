"""What every layer is: a pure forward and a backward that reuses forward's cache.

A layer holds only its configuration (units, slope, ...). Its numbers live outside it:

    built = layer.build(n_in, rng, initializer)      # -> Built(params, state, n_out)
    y, cache, state = layer.forward(params, state, x, ctx)
    dx, grads = layer.backward(params, cache, dy, ctx)

``params`` is a tuple of trainable arrays (gradients come back in the same order), ``state``
a tuple of non-trainable buffers (BatchNorm's running statistics), ``x`` and ``y`` hold
examples as rows, shape (m, n). Nothing is mutated, so the same functions run under NumPy
and, traced and compiled, under ``jax.numpy``: ``ctx.xp`` is the array module.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, NamedTuple

import numpy as np


class Context(NamedTuple):
    """What a forward or backward pass needs besides the numbers.

    xp:    the array module (``numpy`` or ``jax.numpy``)
    train: True while fitting (BatchNorm uses batch statistics, dropout drops); never global
    rng:   random source for layers that draw in training (None when none do)
    """
    xp: Any = np
    train: bool = False
    rng: Any = None


class Built(NamedTuple):
    params: tuple          # trainable arrays, in get_weights() order
    state: tuple           # non-trainable buffers
    n_out: int             # width of the layer's output


class Layer(ABC):
    """Base class. Subclasses override ``build`` (if they own arrays), ``forward`` and ``backward``.

    ``stochastic`` layers draw random numbers in training (``rand.uniform(ctx, ...)``).
    ``regularized`` layers add a weight penalty to the loss (``penalty``, ``penalty_grads``).
    """
    stochastic = False
    regularized = False

    def penalty(self, params, xp):
        """The layer's weight penalty (a scalar added to each batch's mean loss)."""
        return 0.0

    def penalty_grads(self, params, xp) -> tuple:
        """d penalty / d params, one array per parameter."""
        return tuple(xp.zeros_like(p) for p in params)

    def build(self, n_in: int, rng, initializer) -> Built:
        return Built((), (), n_in)

    @abstractmethod
    def forward(self, params, state, x, ctx: Context):
        """Return ``(y, cache, state)``: the output, what backward needs, the new buffers."""

    @abstractmethod
    def backward(self, params, cache, dy, ctx: Context, need_dx: bool = True):
        """Return ``(dL/dx, grads)``; ``dx`` may be None when ``need_dx`` is False."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"
