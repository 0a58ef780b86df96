"""Diagnostics that make the document's claims visible, layer by layer.

For a batch X (m, n) run forward and backward once (training mode, nothing updated) and report,
for every layer l of the network:

    out_mean, out_var   mean and variance of the layer's output over the batch and its units
                        (the document: with N(0,1) weights the variance grows layer by layer
                        until sigmoids saturate; Glorot/He keep it level)
    grad_norm           ||dL/dW||_F of a Dense layer's weights (vanishing: tiny in the first
                        layers; exploding: huge), and ||dL/dx|| of the signal reaching its input
    saturated           sigmoid/tanh: fraction of outputs where f' is below 1% of its peak
                        (sigmoid a(1-a) < 0.0025, tanh 1 - a^2 < 0.01)
    dead                ReLU: fraction of units that output 0 for every example of the batch
                        (the document's dying ReLUs: "stop outputting anything other than 0")
    in_percentiles      an activation layer: the 15th, 50th and 85th percentiles of its input,
                        the pre-activation (after BatchNorm where there is one), over the batch
                        and the layer's units (Ioffe & Szegedy 2015, figure 1, draw these over training)

``inspect(layers, params, state, loss, X, Y)`` works on any network; ``Sequential.diagnose`` and
``fit(diagnostics_every=N)`` call it on a model.
"""
from __future__ import annotations

import numpy as np

from . import rand
from .activations import Activation, ReLU, Sigmoid, Tanh
from .dense import Dense
from .layer import Context

SATURATION = 0.01          # f' below this fraction of its maximum counts as saturated
PERCENTILES = (15, 50, 85)  # of an activation's input, as the batch-normalisation paper draws them


def _short_name(layer) -> str:
    if isinstance(layer, Dense):
        return f"Dense({layer.units})"
    return type(layer).__name__


def inspect(layers, params, state, loss, X, Y, rng=None) -> list[dict]:
    """One dict of statistics per layer (see the module docstring). ``loss`` applies to the
    output of ``layers`` (pass the fused from-logits loss when the output activation was dropped).
    Stochastic layers (dropout, RReLU) draw from ``rng``, a ``rand.Key`` (default: the key of
    seed 0, step 0, so the statistics of a model are the same every time they are asked for)."""
    ctx = Context(xp=np, train=True, rng=rand.step_key(0, 0) if rng is None else rng)
    outputs, caches, x = [], [], X
    for layer, p, s in zip(layers, params, state):
        x, cache, _ = layer.forward(p, s, x, ctx)
        outputs.append(x)
        caches.append(cache)
    d = loss.backward(x, Y, np)
    rows = [None] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        layer, a = layers[i], outputs[i]
        d_in, grads = layer.backward(params[i], caches[i], d, ctx, need_dx=True)
        row = {"index": i, "layer": _short_name(layer), "out_mean": float(np.mean(a)), "out_var": float(np.var(a))}
        if isinstance(layer, Dense):
            row["grad_norm"] = float(np.linalg.norm(grads[0]))
            row["input_grad_norm"] = float(np.linalg.norm(d_in))
            row["weight_norm"] = float(np.linalg.norm(params[i][0]))
        if isinstance(layer, Sigmoid):
            row["saturated"] = float(np.mean(a * (1 - a) < SATURATION * 0.25))
        elif isinstance(layer, Tanh):
            row["saturated"] = float(np.mean(1 - a * a < SATURATION))
        if isinstance(layer, ReLU):
            row["dead"] = float(np.mean(np.all(a <= 0, axis=0)))
        if isinstance(layer, Activation):
            row["in_percentiles"] = [float(v) for v in np.percentile(outputs[i - 1] if i else X, PERCENTILES)]
        rows[i] = row
        d = d_in
    return rows


def preactivation_percentiles(layers, params, state, X, q=PERCENTILES) -> list[list[float]]:
    """A forward pass only (training mode, as ``inspect``): for each activation layer, the ``q``
    percentiles of its input over the batch X (m, n) and the layer's units, first layer first."""
    ctx = Context(xp=np, train=True, rng=rand.step_key(0, 0))
    out, x = [], X
    for layer, p, s in zip(layers, params, state):
        if isinstance(layer, Activation):
            out.append([float(v) for v in np.percentile(x, q)])
        x, _, _ = layer.forward(p, s, x, ctx)
    return out


def dense_gradient_norms(rows: list[dict]) -> list[float]:
    """||dL/dW|| of each Dense layer, first to last."""
    return [r["grad_norm"] for r in rows if "grad_norm" in r]


def orders_of_magnitude(rows: list[dict]) -> float:
    """log10(||dW_last|| / ||dW_first||): how many orders of magnitude smaller the first layer's
    weight gradient is than the last one's (positive: vanishing towards the input)."""
    norms = dense_gradient_norms(rows)
    first, last = norms[0], norms[-1]
    if first == 0:
        return float("inf")
    return float(np.log10(last / first)) if last > 0 else float("-inf")
