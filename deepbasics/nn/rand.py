"""Random draws inside layers while training (dropout masks, RReLU slopes): the same bits on any engine.

A draw is a pure function of where it happens, not of a generator's history:

    bits(seed, step, layer, position) = h(h(position ^ k1) + k2)        # uint32
    (k1, k2) = the key of (seed, step, layer): h folded over their 32-bit words
    h(x)     = MurmurHash3's 32-bit finaliser (xor-shift, multiply, xor-shift, multiply, xor-shift)

``seed`` is the run's ``noise_seed``, ``step`` the update's number counted from the start of the run
(epoch * steps_per_epoch + batch), ``layer`` the layer's position in the network and ``position``
the element's index in the (row-major) array drawn. Every operation is uint32 arithmetic that wraps
(multiply, add, xor, logical shift), which NumPy and ``jax.numpy`` evaluate to the same bits, so
both engines drop the same units and draw the same slopes; a resumed run draws what an
uninterrupted one would, since nothing but the step number carries over. ``h`` is a bijection of
the uint32 values, so one key never repeats a value within an array of up to 2**32 elements.

Uniforms are exact conversions of the bits: ``bits * 2**-32`` in float64, ``(bits >> 8) * 2**-24``
in lower precisions; both lie in [0, 1).

``ctx.rng`` is a ``Key``; the network gives each layer its own with ``for_layer``; a layer draws with
``uniform``. Engines build the key of each update with ``step_key``.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..errors import DeepBasicsError

_M1, _M2 = 0x85EBCA6B, 0xC2B2AE35          # MurmurHash3 fmix32 multipliers
_GOLDEN = 0x9E3779B9                       # separates the two halves of a key
_START = 0x243F6A88                        # the key's initial value (digits of pi)


class Key(NamedTuple):
    """Where a draw happens: the run's noise seed, the update's number and the layer's position.
    ``seed`` and ``step`` are Python ints under NumPy and may be traced integers under JAX."""
    seed: Any
    step: Any
    layer: int = 0


def step_key(noise_seed: int, step) -> Key:
    """The random source of one update (layer 0 until ``for_layer`` names the layer)."""
    return Key(noise_seed, step, 0)


def for_layer(ctx, index: int):
    """The context the layer at position ``index`` sees: the update's key with the layer's index."""
    return ctx if ctx.rng is None else ctx._replace(rng=ctx.rng._replace(layer=int(index)))


def fmix32(x, xp):
    """MurmurHash3's finaliser on uint32 values (a bijection with full avalanche)."""
    x = x ^ (x >> 16)
    x = x * xp.uint32(_M1)
    x = x ^ (x >> 13)
    x = x * xp.uint32(_M2)
    return x ^ (x >> 16)


def _fmix32_int(x: int) -> int:
    """``fmix32`` on a Python int (NumPy would warn about the wrap-around of uint32 scalars)."""
    x ^= x >> 16
    x = (x * _M1) & 0xFFFFFFFF
    x ^= x >> 13
    x = (x * _M2) & 0xFFFFFFFF
    return x ^ (x >> 16)


def _concrete(value) -> bool:
    return isinstance(value, (int, np.integer))


def key_words(key: Key, xp):
    """(k1, k2): the two uint32 words of ``key``, h folded over the words of seed, step and layer.
    Python ints when the key is concrete, uint32 arrays of ``xp`` when seed or step is traced."""
    if _concrete(key.seed) and _concrete(key.step):
        h = _START
        for value in (int(key.seed), int(key.step)):
            for word in (value & 0xFFFFFFFF, (value >> 32) & 0xFFFFFFFF):
                h = _fmix32_int(h ^ word)
        h = _fmix32_int(h ^ int(key.layer))
        return h, _fmix32_int(h ^ _GOLDEN)
    h = xp.asarray(_START, dtype=xp.uint32)
    for value in (key.seed, key.step):
        value = xp.asarray(value).astype(xp.uint64)
        for word in (value & 0xFFFFFFFF, value >> 32):
            h = fmix32(h ^ word.astype(xp.uint32), xp)
    h = fmix32(h ^ xp.uint32(key.layer), xp)
    return h, fmix32(h ^ xp.uint32(_GOLDEN), xp)


def bits(key: Key, shape, xp):
    """uint32 random bits of ``shape``, one per element, a pure function of (key, position)."""
    k1, k2 = key_words(key, xp)
    size = int(np.prod(shape, dtype=np.int64))
    if size >= 2**32:
        raise DeepBasicsError(f"a random draw of {size} elements is more than 2**32; use smaller batches")
    k1, k2 = xp.asarray(k1, dtype=xp.uint32), xp.asarray(k2, dtype=xp.uint32)
    position = xp.arange(size, dtype=xp.uint32).reshape(shape)
    return fmix32(fmix32(position ^ k1, xp) + k2, xp)


def uniform(ctx, shape, dtype=None):
    """U[0, 1) samples of ``shape`` in ``dtype`` (default float64) from ``ctx.rng``."""
    if ctx.rng is None:
        raise DeepBasicsError("this layer draws random numbers in training but no random source was given")
    xp = ctx.xp
    dtype = np.dtype(dtype or np.float64)
    b = bits(ctx.rng, shape, xp)
    if dtype == np.float64:
        return b.astype(xp.float64) * 2.0**-32
    return (b >> 8).astype(dtype) * dtype.type(2.0**-24)
