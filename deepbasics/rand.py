"""Random draws inside layers while training (dropout masks, RReLU slopes), for any engine.

``ctx.rng`` is a ``np.random.Generator`` under NumPy and a PRNG key under JAX. The network
gives each layer its own stream with ``for_layer``; a layer draws with ``uniform``. Engines
derive the source from the run's ``noise_seed`` and the epoch (NumPy) or step (JAX), so a
resumed run draws exactly what an uninterrupted one would.
"""
from __future__ import annotations

import numpy as np

from .errors import DeepBasicsError


def for_layer(ctx, index: int):
    """The context a layer at position ``index`` sees: its own key under JAX."""
    if ctx.rng is None or ctx.xp is np:
        return ctx                          # one Generator, drawn from in layer order
    import jax
    return ctx._replace(rng=jax.random.fold_in(ctx.rng, index))


def uniform(ctx, shape, dtype=None):
    """U[0, 1) samples of ``shape``."""
    if ctx.rng is None:
        raise DeepBasicsError("this layer draws random numbers in training but no random source was given")
    if ctx.xp is np:
        out = ctx.rng.random(shape)
        return out if dtype is None else out.astype(dtype, copy=False)
    import jax
    return jax.random.uniform(ctx.rng, shape, dtype=dtype or ctx.xp.float64)


def epoch_generator(noise_seed: int, epoch: int) -> np.random.Generator:
    """The NumPy engine's source for one epoch: independent of every other epoch."""
    return np.random.default_rng([int(noise_seed), int(epoch)])
