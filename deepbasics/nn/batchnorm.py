"""Batch normalisation (Ioffe & Szegedy, 2015), as the document writes it.

Over a mini-batch of m_B examples x (m_B, n), per feature j:

    mu_B    = 1/m_B sum_i x_i                       # (n,)
    var_B   = 1/m_B sum_i (x_i - mu_B)^2            # (n,) biased, as the document and PyTorch
    x_hat_i = (x_i - mu_B) / sqrt(var_B + eps)      # (m_B, n)
    z_i     = gamma * x_hat_i + beta                # gamma, beta trainable, (n,)
(the document calls the shift nu, since it keeps beta for momentum).

Backward through mu_B and var_B, with dx_hat = dz * gamma:

    dgamma = sum_i dz_i * x_hat_i       dbeta = sum_i dz_i
    dx     = 1/(m_B sqrt(var_B + eps)) * (m_B dx_hat - sum_i dx_hat_i - x_hat * sum_i dx_hat_i x_hat_i)

Running statistics are state, not parameters, updated in training, used in evaluation:

    running_mean = (1 - momentum) running_mean + momentum mu_B
    running_var  = (1 - momentum) running_var  + momentum var_B * m_B / (m_B - 1)   (unbiased)

This is PyTorch's ``BatchNorm1d(momentum=0.1, eps=1e-5)``. Keras's ``BatchNormalization(momentum=k)``
keeps ``k`` on the *old* value (k = 1 - momentum, default 0.99), uses the biased variance
(``unbiased=False`` here) and eps 1e-3. The document gives no running-statistics rule.
Place it before or after an activation simply by where it stands in the layer list.
"""
from __future__ import annotations

import numpy as np

from ..errors import DeepBasicsError, check_nonnegative, check_unit_interval
from .layer import Built, Context, Layer


class BatchNorm(Layer):
    """Normalise each feature over the batch, then scale by gamma and shift by beta."""

    def __init__(self, momentum: float = 0.1, eps: float = 1e-5, unbiased: bool = True):
        self.momentum = check_unit_interval("momentum", momentum, closed_right=True)
        self.eps = check_nonnegative("eps", eps)
        if self.eps == 0:
            raise DeepBasicsError("BatchNorm eps must be > 0 (it keeps the division finite)")
        self.unbiased = bool(unbiased)

    def build(self, n_in: int, rng, initializer) -> Built:
        params = (np.ones(n_in), np.zeros(n_in))              # gamma, beta
        state = (np.zeros(n_in), np.ones(n_in))               # running mean, running variance
        return Built(params, state, n_in)

    def forward(self, params, state, x, ctx: Context):
        xp = ctx.xp
        gamma, beta = params
        running_mean, running_var = state
        if ctx.train:
            m = x.shape[0]
            mu = xp.mean(x, axis=0)                           # (n,)
            centred = x - mu                                  # (m, n)
            var = xp.mean(centred * centred, axis=0)          # (n,) biased
            inv_std = 1 / xp.sqrt(var + self.eps)
            x_hat = centred * inv_std
            correction = m / (m - 1) if (self.unbiased and m > 1) else 1.0
            k = self.momentum
            state = ((1 - k) * running_mean + k * mu, (1 - k) * running_var + k * (var * correction))
        else:
            inv_std = 1 / xp.sqrt(running_var + self.eps)
            x_hat = (x - running_mean) * inv_std
        return gamma * x_hat + beta, (x_hat, inv_std, ctx.train), state

    def backward(self, params, cache, dz, ctx: Context, need_dx: bool = True):
        xp = ctx.xp
        gamma = params[0]
        x_hat, inv_std, train = cache
        dgamma = xp.sum(dz * x_hat, axis=0)
        dbeta = xp.sum(dz, axis=0)
        dx_hat = dz * gamma
        if train:                                             # gradient through mu_B and var_B too
            m = dz.shape[0]
            dx = (inv_std / m) * (m * dx_hat - xp.sum(dx_hat, axis=0) - x_hat * xp.sum(dx_hat * x_hat, axis=0))
        else:                                                 # running statistics are constants
            dx = dx_hat * inv_std
        return dx, (dgamma, dbeta)
