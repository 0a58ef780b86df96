"""Activation functions as layers: a = f(z) forward, dz = da * f'(z) backward.

Each is elementwise except Softmax. Forward caches (z, a) so backward never recomputes f.

    Linear       f(z) = z                           f' = 1
    Sigmoid      f(z) = 1 / (1 + exp(-z))           f' = a (1 - a)
    Tanh         f(z) = tanh z                      f' = 1 - a^2
    ReLU         f(z) = max(0, z)                   f' = [z > 0]  (0 at z = 0, as PyTorch)
    LeakyReLU    f(z) = max(alpha z, z)             f' = 1 if z > 0 else alpha; alpha = 0.01
                 (PyTorch's default slope; Keras's layer defaults to 0.3)
    Softmax      a_j = exp(z_j - max z) / sum_k exp(z_k - max z)   (row-wise)
                 dz = a * (da - sum_j da_j a_j)

Sigmoid is written as the document writes it, with z clipped at -500 so exp never overflows
(below that the value is 0 to double precision anyway).
"""
from __future__ import annotations

from .errors import check_nonnegative
from .layer import Context, Layer


class Activation(Layer):
    """An elementwise f with derivative f'(z) expressed through z and a = f(z)."""

    def fn(self, z, xp):
        raise NotImplementedError(f"{type(self).__name__} must define fn")

    def derivative(self, z, a, xp):
        raise NotImplementedError(f"{type(self).__name__} must define derivative")

    def forward(self, params, state, z, ctx: Context):
        a = self.fn(z, ctx.xp)
        return a, (z, a), state

    def backward(self, params, cache, da, ctx: Context, need_dx: bool = True):
        z, a = cache
        return da * self.derivative(z, a, ctx.xp), ()


class Linear(Activation):
    def fn(self, z, xp):
        return z

    def derivative(self, z, a, xp):
        return 1.0

    def backward(self, params, cache, da, ctx: Context, need_dx: bool = True):
        return da, ()


class Sigmoid(Activation):
    def fn(self, z, xp):
        return 1 / (1 + xp.exp(-xp.maximum(z, -500.0)))

    def derivative(self, z, a, xp):
        return a * (1 - a)


class Tanh(Activation):
    def fn(self, z, xp):
        return xp.tanh(z)

    def derivative(self, z, a, xp):
        return 1 - a * a


class ReLU(Activation):
    def fn(self, z, xp):
        return xp.maximum(z, 0)

    def derivative(self, z, a, xp):
        return z > 0


class LeakyReLU(Activation):
    def __init__(self, alpha: float = 0.01):
        self.alpha = check_nonnegative("alpha", alpha)

    def fn(self, z, xp):
        return xp.where(z > 0, z, self.alpha * z)

    def derivative(self, z, a, xp):
        return xp.where(z > 0, 1.0, self.alpha)


class Softmax(Activation):
    """Row-wise softmax over the last axis; pair it with categorical cross-entropy."""

    def fn(self, z, xp):
        e = xp.exp(z - xp.max(z, axis=-1, keepdims=True))
        return e / xp.sum(e, axis=-1, keepdims=True)

    def backward(self, params, cache, da, ctx: Context, need_dx: bool = True):
        z, a = cache
        return a * (da - ctx.xp.sum(da * a, axis=-1, keepdims=True)), ()


ACTIVATIONS = {
    "linear": Linear, "identity": Linear, "sigmoid": Sigmoid, "logistic": Sigmoid,
    "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "leakyrelu": LeakyReLU,
    "softmax": Softmax,
}
