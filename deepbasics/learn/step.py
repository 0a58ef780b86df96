"""One update of the parameters from one mini-batch: the whole training math in one pure function.

    theta, opt_state, state, loss_sum = train_step(setup, theta, opt_state, state, xb, yb, lr, ctx)

``theta`` is the flat parameter buffer; ``loss_sum`` is the sum of the batch's per-example
losses *before* the update (the document adds these up over an epoch and divides by m).
Every engine runs this same function: the NumPy engine in a Python loop, the JAX engine traced
and compiled.

``train_step_split`` is the same update with the parameters and the optimizer state kept one
array per weight matrix or bias instead of one flat buffer (``split_state``/``join_state``
convert). Every rule is elementwise, so both give the same numbers; the JAX engine runs the
split form because XLA compiles the per-step packing of a wide network's gradients into one
buffer to something that costs as much as its matrix products.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from ..nn.layer import Context
from ..nn.network import backward, flatten, forward, unflatten


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


def loss_and_layer_grads(setup: Setup, params, layer_state, xb, yb, ctx: Context):
    """Forward, loss and backward on one batch: (loss_sum, per-layer grads, new layer state).

    With weight penalties the batch objective is mean loss + sum of the layers' penalties, so
    ``loss_sum`` gains m_B * penalty and each regularised layer's gradient its penalty gradient.
    """
    xp = ctx.xp
    out, caches, layer_state = forward(setup.layers, params, layer_state, xb, ctx)
    loss_sum = setup.loss.forward(out, yb, xp).sum()
    grads = backward(setup.layers, params, caches, setup.loss.backward(out, yb, xp), ctx)
    for i, layer in enumerate(setup.layers):
        if layer.regularized:
            loss_sum = loss_sum + xb.shape[0] * layer.penalty(params[i], xp)
            grads[i] = tuple(g + pg for g, pg in zip(grads[i], layer.penalty_grads(params[i], xp)))
    return loss_sum, grads, layer_state


def loss_and_grads(setup: Setup, theta, layer_state, xb, yb, ctx: Context):
    """``loss_and_layer_grads`` on the flat buffer: (loss_sum, flat grads, new layer state)."""
    loss_sum, grads, layer_state = loss_and_layer_grads(setup, unflatten(theta, setup.shapes), layer_state,
                                                        xb, yb, ctx)
    return loss_sum, flatten(grads, ctx.xp), layer_state


def clip_gradients(grads: list, setup: Setup, xp) -> list:
    """Clip arrays of gradients by value, then all together by global norm (PyTorch's
    clip_grad_value_ / clip_grad_norm_: g * min(1, max_norm / (||g|| + 1e-6)))."""
    if setup.clip_value is not None:
        grads = [xp.clip(g, -setup.clip_value, setup.clip_value) for g in grads]
    if setup.clip_norm is not None:
        norm = xp.sqrt(sum(xp.sum(g * g) for g in grads))
        scale = xp.minimum(1.0, setup.clip_norm / (norm + 1e-6))
        grads = [g * scale for g in grads]
    return grads


def _clipping(setup: Setup) -> bool:
    return setup.clip_value is not None or setup.clip_norm is not None


def train_step(setup: Setup, state: TrainState, xb, yb, lr, ctx: Context):
    """One optimizer update; returns (new TrainState, loss_sum before the update)."""
    xp = ctx.xp
    loss_sum, g, layer_state = loss_and_grads(setup, state.theta, state.layer_state, xb, yb, ctx)
    if _clipping(setup):
        g, = clip_gradients([g], setup, xp)
    updates, opt_state = setup.optimizer.update(g, state.opt_state, lr, xp, params=state.theta)
    return TrainState(state.theta + updates, opt_state, layer_state), loss_sum


def split_state(state: TrainState, shapes) -> TrainState:
    """The flat TrainState with theta as per-layer tuples of arrays and the optimizer state as a
    list of one state per array (each with the shared step count)."""
    params = unflatten(state.theta, shapes)
    opt = state.opt_state
    fields = {name: unflatten(value, shapes) for name, value in opt._asdict().items() if name != "step"}
    per_array = [type(opt)(step=opt.step, **{name: fields[name][i][j] for name in fields})
                 for i, layer in enumerate(shapes) for j in range(len(layer))]
    return TrainState(params, per_array, state.layer_state)


def join_state(state: TrainState, xp) -> TrainState:
    """Inverse of ``split_state``: one flat buffer for theta and for each optimizer field."""
    states = state.opt_state
    fields = {name: xp.concatenate([s._asdict()[name].reshape(-1) for s in states])
              for name in states[0]._fields if name != "step"}
    return TrainState(flatten(state.theta, xp), type(states[0])(step=states[0].step, **fields), state.layer_state)


def train_step_split(setup: Setup, state: TrainState, xb, yb, lr, ctx: Context):
    """``train_step`` on a split state: the same loss, gradients, clipping and optimizer rule,
    applied to each weight matrix and bias as its own buffer."""
    xp = ctx.xp
    loss_sum, grads, layer_state = loss_and_layer_grads(setup, state.theta, state.layer_state, xb, yb, ctx)
    params = [a for p in state.theta for a in p]
    g = [a for p in grads for a in p]
    if _clipping(setup):
        g = clip_gradients(g, setup, xp)
    steps = [setup.optimizer.update(gi, si, lr, xp, params=pi) for gi, si, pi in zip(g, state.opt_state, params)]
    new, k = [], 0
    for layer in state.theta:
        new.append(tuple(params[k + j] + steps[k + j][0] for j in range(len(layer))))
        k += len(layer)
    return TrainState(new, [s for _, s in steps], layer_state), loss_sum
