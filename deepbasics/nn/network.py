"""A network as data: a tuple of layers plus, kept outside them, their params and state.

    params, state, n_out = build(layers, n_in, rng, initializer)
    out, caches, state   = forward(layers, params, state, x, ctx)
    grads                = backward(layers, params, caches, dout, ctx)

``params`` and ``grads`` are lists with one tuple of arrays per layer. For the optimizer they
are packed into one flat buffer (``flatten``) and unpacked into per-layer views (``unflatten``),
so an update is one vectorised expression instead of a loop over layers.
"""
from __future__ import annotations

import functools
import math

from .layer import Context
from .losses import Loss
from .rand import for_layer


def build(layers, n_in: int, rng, initializer):
    """Draw every layer's params in layer order from one ``rng`` (the document's draw order)."""
    params, state = [], []
    for layer in layers:
        built = layer.build(n_in, rng, initializer)
        params.append(tuple(built.params))
        state.append(tuple(built.state))
        n_in = built.n_out
    return params, state, n_in


def forward(layers, params, state, x, ctx: Context):
    """Run ``x`` (m, n_in) through every layer; return the output, the caches and the new state."""
    caches, new_state = [], []
    for i, (layer, p, s) in enumerate(zip(layers, params, state)):
        x, cache, s = layer.forward(p, s, x, for_layer(ctx, i) if ctx.rng is not None else ctx)
        caches.append(cache)
        new_state.append(s)
    return x, caches, new_state


def backward(layers, params, caches, dout, ctx: Context):
    """Back-propagate dL/d(out) through the layers; return per-layer gradient tuples."""
    grads = [()] * len(layers)
    d = dout
    for i in range(len(layers) - 1, -1, -1):
        d, grads[i] = layers[i].backward(params[i], caches[i], d, ctx, need_dx=i > 0)
    return grads


def shapes_of(params) -> tuple:
    """The static layout of a params list: one tuple of shapes per layer."""
    return tuple(tuple(tuple(a.shape) for a in p) for p in params)


def flatten(tree, xp):
    """Concatenate every array of a params-shaped list into one 1-D buffer (layer order)."""
    return xp.concatenate([a.reshape(-1) for p in tree for a in p])


def unflatten(flat, shapes) -> list:
    """Per-layer tuples of views into ``flat``, shaped as ``shapes`` says (no copies in NumPy)."""
    return [tuple(flat[start:stop].reshape(shape) for start, stop, shape in layer) for layer in _layout(shapes)]


@functools.lru_cache(maxsize=64)
def _layout(shapes) -> tuple:
    """(start, stop, shape) of every array of ``shapes`` in the flat buffer. Computed once per
    layout: unflatten runs at every training step."""
    out, offset = [], 0
    for layer_shapes in shapes:
        arrays = []
        for shape in layer_shapes:
            size = math.prod(shape)
            arrays.append((offset, offset + size, shape))
            offset += size
        out.append(tuple(arrays))
    return tuple(out)


def fuse_output(layers, loss: Loss):
    """Drop a final Sigmoid (Softmax) into binary (categorical) cross-entropy from logits.

    The fused loss is numerically stable and has the same gradient with respect to the logits,
    (p - y) / m. Returns the layers to run and the loss to use on their output.
    """
    act = loss.output_activation
    if act is not None and layers and type(layers[-1]) is act and not getattr(loss, "from_logits", False):
        return tuple(layers[:-1]), loss.from_logits_version()
    return tuple(layers), loss
