"""The fully connected layer, z = x W^T + b.

Shapes (examples as rows): x (m, n_in), W (n_out, n_in) as in the document and PyTorch's
``nn.Linear``, b (n_out,), z (m, n_out).

    forward:   z  = x @ W.T + b                       # (m, n_out)
    backward:  dW = dz.T @ x                          # (n_out, n_in)
               db = sum_i dz_i                        # (n_out,)
               dx = dz @ W                            # (m, n_in)

A tiny layer (n_in * n_out <= FUSED_MAX) under a compiled array module computes the same sums
as broadcast products reduced along one axis, e.g. z_ij = sum_k x_ik W_jk as
(x[:, None, :] * W[None, :, :]).sum(-1): XLA fuses that into the surrounding elementwise work,
where a matrix product of a (64, 2) by a (2, 5) is a separate kernel call of its own. Under NumPy
the products stay BLAS calls.
"""
from __future__ import annotations

import numpy as np

from . import initializers
from ..errors import check_nonnegative, check_positive_int
from .layer import Built, Context, Layer

FUSED_MAX = 64          # n_in * n_out at most: broadcast multiply-and-sum instead of a matrix product


class Dense(Layer):
    """Fully connected layer with ``units`` outputs.

    ``init`` overrides the model's initialiser for this layer (a name from
    ``initializers.INITIALIZERS`` or a callable). Biases start at zero.

    Weight penalties (on W only, never b), added to each batch's mean loss:
        l2:  (l2 / 2) sum W^2   gradient l2 W   (PyTorch SGD's weight_decay=l2; Keras's
                                                 regularizers.L2(l2 / 2))
        l1:  l1 sum |W|         gradient l1 sign(W)
    """

    def __init__(self, units: int, init=None, use_bias: bool = True, l1: float = 0.0, l2: float = 0.0):
        self.units = check_positive_int("units", units)
        self.init = None if init is None else initializers.get(init)
        self.use_bias = bool(use_bias)
        self.l1 = check_nonnegative("l1", l1)
        self.l2 = check_nonnegative("l2", l2)
        self.regularized = self.l1 > 0 or self.l2 > 0

    def penalty(self, params, xp):
        W = params[0]
        return 0.5 * self.l2 * xp.sum(W * W) + self.l1 * xp.sum(xp.abs(W))

    def penalty_grads(self, params, xp) -> tuple:
        W = params[0]
        dW = self.l2 * W + self.l1 * xp.sign(W)
        return (dW, xp.zeros_like(params[1])) if self.use_bias else (dW,)

    def build(self, n_in: int, rng, initializer) -> Built:
        draw = self.init or initializer
        W = np.asarray(draw(rng, self.units, n_in), dtype=np.float64)
        params = (W, np.zeros(self.units)) if self.use_bias else (W,)
        return Built(params, (), self.units)

    def forward(self, params, state, x, ctx: Context):
        W = params[0]
        if _fused(W, ctx):
            z = (x[:, None, :] * W[None, :, :]).sum(axis=2)     # (m, n_out)
        else:
            # .dot is x @ W.T for 2-D arrays (the same BLAS call, the same bits) at half the
            # dispatch cost, which matters when the matrices are tiny
            z = x.dot(W.T)                            # (m, n_out)
        if self.use_bias:
            z = z + params[1]
        return z, x, state

    def backward(self, params, cache, dz, ctx: Context, need_dx: bool = True):
        x, W = cache, params[0]
        if _fused(W, ctx):
            dW = (dz[:, :, None] * x[:, None, :]).sum(axis=0)                   # (n_out, n_in)
            dx = (dz[:, :, None] * W[None, :, :]).sum(axis=1) if need_dx else None   # (m, n_in)
        else:
            dW = dz.T.dot(x)                          # (n_out, n_in)
            dx = dz.dot(W) if need_dx else None       # (m, n_in)
        grads = (dW, dz.sum(axis=0)) if self.use_bias else (dW,)
        return dx, grads


def _fused(W, ctx: Context) -> bool:
    """Whether this product is tiny and compiled (see the module docstring)."""
    return ctx.xp is not np and W.shape[0] * W.shape[1] <= FUSED_MAX
