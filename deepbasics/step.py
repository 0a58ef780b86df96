"""One update of the parameters from one mini-batch: the whole training math in one pure function.

    theta, opt_state, state, loss_sum = train_step(setup, theta, opt_state, state, xb, yb, lr, ctx)

``theta`` is the flat parameter buffer; ``loss_sum`` is the sum of the batch's per-example
losses *before* the update (the document adds these up over an epoch and divides by m).
Every engine runs this same function: the NumPy engine in a Python loop, the JAX engine traced
and compiled.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .layer import Context
from .network import backward, flatten, forward, unflatten


class Setup(NamedTuple):
    """What stays fixed during a run."""
    layers: tuple          # the layers to run (an output Sigmoid/Softmax fused into the loss)
    loss: Any              # Loss applied to the layers' output
    optimizer: Any         # Optimizer
    shapes: tuple          # per-layer parameter shapes (network.shapes_of)
    clip_norm: Any = None  # rescale g so that ||g||_2 <= clip_norm (all parameters together)
    clip_value: Any = None # clamp every gradient entry to [-clip_value, clip_value]


class TrainState(NamedTuple):
    """What changes during a run."""
    theta: Any             # flat parameter buffer
    opt_state: Any         # the optimizer's state
    layer_state: list      # per-layer buffers (BatchNorm running statistics)


def loss_and_grads(setup: Setup, theta, layer_state, xb, yb, ctx: Context):
    """Forward, loss and backward on one batch: (loss_sum, flat grads, new layer state).

    With weight penalties the batch objective is mean loss + sum of the layers' penalties, so
    ``loss_sum`` gains m_B * penalty and each regularised layer's gradient its penalty gradient.
    """
    xp = ctx.xp
    params = unflatten(theta, setup.shapes)
    out, caches, layer_state = forward(setup.layers, params, layer_state, xb, ctx)
    loss_sum = setup.loss.forward(out, yb, xp).sum()
    grads = backward(setup.layers, params, caches, setup.loss.backward(out, yb, xp), ctx)
    for i, layer in enumerate(setup.layers):
        if layer.regularized:
            loss_sum = loss_sum + xb.shape[0] * layer.penalty(params[i], xp)
            grads[i] = tuple(g + pg for g, pg in zip(grads[i], layer.penalty_grads(params[i], xp)))
    return loss_sum, flatten(grads, xp), layer_state


def clip_gradients(g, setup: Setup, xp):
    """Clip by value, then by global norm (PyTorch's clip_grad_value_ / clip_grad_norm_:
    g * min(1, max_norm / (||g|| + 1e-6)))."""
    if setup.clip_value is not None:
        g = xp.clip(g, -setup.clip_value, setup.clip_value)
    if setup.clip_norm is not None:
        norm = xp.sqrt(xp.sum(g * g))
        g = g * xp.minimum(1.0, setup.clip_norm / (norm + 1e-6))
    return g


def train_step(setup: Setup, state: TrainState, xb, yb, lr, ctx: Context):
    """One optimizer update; returns (new TrainState, loss_sum before the update)."""
    xp = ctx.xp
    loss_sum, g, layer_state = loss_and_grads(setup, state.theta, state.layer_state, xb, yb, ctx)
    if setup.clip_value is not None or setup.clip_norm is not None:
        g = clip_gradients(g, setup, xp)
    updates, opt_state = setup.optimizer.update(g, state.opt_state, lr, xp, params=state.theta)
    return TrainState(state.theta + updates, opt_state, layer_state), loss_sum
