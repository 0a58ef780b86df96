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

The ReLU family beyond the document (defaults as PyTorch's; Keras's noted where they differ):

    ELU          f(z) = z if z > 0 else alpha (exp(z) - 1);  f' = 1 or a + alpha;  alpha = 1
    SELU         lambda * ELU_alpha(z), alpha = 1.6732632423543772, lambda = 1.0507009873554805
                 (Klambauer et al. 2017; self-normalising with LeCun-normal weights)
    GELU         f(z) = z Phi(z) = z/2 (1 + erf(z / sqrt 2));  f' = Phi(z) + z phi(z)
                 approximate="tanh": z/2 (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))
    Softplus     f(z) = log(1 + exp z), computed as max(z, 0) + log1p(exp(-|z|));  f' = sigmoid(z)
    PReLU        LeakyReLU whose slope is learned: one slope (PyTorch's default, init 0.25) or
                 one per unit (``per_unit=True``; Keras's PReLU, which starts at 0)
    RReLU        LeakyReLU with a slope drawn from U(lower, upper) per element while training and
                 the mean slope (lower + upper) / 2 in evaluation; lower = 1/8, upper = 1/3

Sigmoid is written as the document writes it, with z clipped so exp never overflows: at -500 in
float64 (below that the value is 0 to double precision anyway), at -88 in float32 (exp(88) is
near float32's largest number; the value there, 6e-39, is as good as 0).
"""
from __future__ import annotations

import math
from abc import abstractmethod

import numpy as np

from ..errors import DeepBasicsError, check_nonnegative
from .layer import Built, Context, Layer
from .rand import uniform


class Activation(Layer):
    """An elementwise f with derivative f'(z) expressed through z and a = f(z)."""

    @abstractmethod
    def fn(self, z, xp):
        """f(z), elementwise."""

    @abstractmethod
    def derivative(self, z, a, xp):
        """f'(z), given z and a = f(z) (whichever is cheaper)."""

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
        return 1 / (1 + xp.exp(-xp.maximum(z, -88.0 if z.dtype == np.float32 else -500.0)))

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


class Softmax(Layer):
    """Row-wise softmax over the last axis; pair it with categorical cross-entropy.
    Not elementwise, so its backward is the Jacobian-vector product, not da * f'(z)."""

    def fn(self, z, xp):
        e = xp.exp(z - xp.max(z, axis=-1, keepdims=True))
        return e / xp.sum(e, axis=-1, keepdims=True)

    def forward(self, params, state, z, ctx: Context):
        a = self.fn(z, ctx.xp)
        return a, a, state

    def backward(self, params, a, da, ctx: Context, need_dx: bool = True):
        return a * (da - ctx.xp.sum(da * a, axis=-1, keepdims=True)), ()


def _erf(x, xp):
    """The error function for either engine (NumPy has none of its own)."""
    if xp is np:
        from scipy.special import erf
        return erf(x)
    from jax.scipy.special import erf
    return erf(x)


class ELU(Activation):
    def __init__(self, alpha: float = 1.0):
        self.alpha = check_nonnegative("alpha", alpha)

    def fn(self, z, xp):
        return xp.where(z > 0, z, self.alpha * xp.expm1(xp.minimum(z, 0)))

    def derivative(self, z, a, xp):
        return xp.where(z > 0, 1.0, a + self.alpha)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class SELU(Activation):
    def fn(self, z, xp):
        return SELU_SCALE * xp.where(z > 0, z, SELU_ALPHA * xp.expm1(xp.minimum(z, 0)))

    def derivative(self, z, a, xp):
        return xp.where(z > 0, SELU_SCALE, a + SELU_SCALE * SELU_ALPHA)


class GELU(Activation):
    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise DeepBasicsError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def fn(self, z, xp):
        if self.approximate == "tanh":
            return 0.5 * z * (1 + xp.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))
        return 0.5 * z * (1 + _erf(z / math.sqrt(2), xp))

    def derivative(self, z, a, xp):
        if self.approximate == "tanh":
            c = math.sqrt(2 / math.pi)
            t = xp.tanh(c * (z + 0.044715 * z ** 3))
            return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * c * (1 + 3 * 0.044715 * z * z)
        cdf = 0.5 * (1 + _erf(z / math.sqrt(2), xp))
        pdf = xp.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        return cdf + z * pdf


class Softplus(Activation):
    def fn(self, z, xp):
        return xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))

    def derivative(self, z, a, xp):
        return Sigmoid().fn(z, xp)


class PReLU(Layer):
    """LeakyReLU with a learned slope ``alpha`` (a parameter, trained like a weight).

        forward:   a = z if z > 0 else alpha z
        backward:  dz = da if z > 0 else alpha da;   dalpha = sum over z <= 0 of z da
    """

    def __init__(self, init: float = 0.25, per_unit: bool = False):
        self.init = float(init)
        self.per_unit = bool(per_unit)

    def build(self, n_in: int, rng, initializer) -> Built:
        return Built((np.full(n_in if self.per_unit else 1, self.init),), (), n_in)

    def forward(self, params, state, z, ctx: Context):
        alpha = params[0]
        return ctx.xp.where(z > 0, z, alpha * z), z, state

    def backward(self, params, z, da, ctx: Context, need_dx: bool = True):
        xp, alpha = ctx.xp, params[0]
        negative = xp.where(z > 0, 0.0, z * da)
        dalpha = xp.sum(negative, axis=0) if self.per_unit else xp.sum(negative).reshape(1)
        return xp.where(z > 0, da, alpha * da), (dalpha,)


class RReLU(Layer):
    """Randomised leaky ReLU (Xu et al. 2015): random slopes in training, their mean in evaluation."""
    stochastic = True

    def __init__(self, lower: float = 1 / 8, upper: float = 1 / 3):
        self.lower, self.upper = check_nonnegative("lower", lower), check_nonnegative("upper", upper)
        if self.lower > self.upper:
            raise DeepBasicsError(f"RReLU needs lower <= upper, got {lower} > {upper}")

    def forward(self, params, state, z, ctx: Context):
        xp = ctx.xp
        if ctx.train:
            slope = self.lower + (self.upper - self.lower) * uniform(ctx, z.shape, z.dtype)
        else:
            slope = (self.lower + self.upper) / 2
        return xp.where(z >= 0, z, slope * z), (z, slope), state

    def backward(self, params, cache, da, ctx: Context, need_dx: bool = True):
        z, slope = cache
        return ctx.xp.where(z >= 0, da, slope * da), ()


ACTIVATIONS = {
    "linear": Linear, "identity": Linear, "sigmoid": Sigmoid, "logistic": Sigmoid,
    "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "leakyrelu": LeakyReLU,
    "softmax": Softmax, "elu": ELU, "selu": SELU, "gelu": GELU, "softplus": Softplus,
    "prelu": PReLU, "rrelu": RReLU,
}
