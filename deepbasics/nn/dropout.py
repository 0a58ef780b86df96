"""Inverted dropout (Srivastava et al. 2014): drop units in training, rescale the rest.

    training:    keep_i ~ Bernoulli(1 - rate);  a = x * keep / (1 - rate);  dx = da * keep / (1 - rate)
    evaluation:  a = x (no rescaling is needed at test time: that is what "inverted" buys)

``rate`` is the probability of dropping a unit, as PyTorch's ``p`` and Keras's ``rate``.
"""
from __future__ import annotations

from ..errors import check_unit_interval
from .layer import Context, Layer
from .rand import uniform


class Dropout(Layer):
    stochastic = True

    def __init__(self, rate: float = 0.5):
        self.rate = check_unit_interval("rate", rate)

    def forward(self, params, state, x, ctx: Context):
        if not ctx.train or self.rate == 0:
            return x, None, state
        keep = uniform(ctx, x.shape, x.dtype) >= self.rate
        scale = ctx.xp.where(keep, 1 / (1 - self.rate), 0.0).astype(x.dtype)
        return x * scale, scale, state

    def backward(self, params, scale, da, ctx: Context, need_dx: bool = True):
        return (da if scale is None else da * scale), ()
