"""The document's own function API, for its readers: dicts ``W1, b1, ...``, examples as columns.

Every function keeps the document's name, argument order and return values, and is a thin
wrapper over deepbasics' core: the update rules are ``optim``'s, the schedules ``schedules``',
the shuffling ``batching``'s, so there is one implementation of each rule. Like the document's
functions, the update functions write the new arrays into the dicts they are given and also
return them. Unlike the document, nothing here touches NumPy's global random state.

    parameters = initialize_parameters([2, 5, 2, 1])            # He normal from RandomState(3)
    mini_batches = random_mini_batches(X, Y, 64, seed)          # X (n, m), Y (1, m)
    parameters = update_parameters_with_gd(parameters, grads, learning_rate)
    v = initialize_velocity(parameters)
    parameters, v = update_parameters_with_momentum(parameters, grads, v, beta, learning_rate)
    s = initialize_rmsprop(parameters)
    parameters, s = update_parameters_with_rmsprop(parameters, grads, s, beta2, learning_rate, epsilon)
    v, s = initialize_adam(parameters)
    parameters, v, s, v_corrected, s_corrected = update_parameters_with_adam(
        parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon)
    learning_rate = update_lr(learning_rate0, epoch_num, decay_rate)
    learning_rate = schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval)
"""
from __future__ import annotations

import numpy as np

from ..nn import initializers
from ..learn.batching import batch_bounds, epoch_order
from ..errors import DeepBasicsError
from ..learn.optim import GD, Adam, AdamState, GDState, Momentum, MomentumState, RMSProp, RMSPropState
from ..learn.schedules import InverseTimeDecay


def _layer_count(parameters: dict) -> int:
    if len(parameters) % 2:
        raise DeepBasicsError("parameters must hold pairs W1, b1, ..., WL, bL")
    return len(parameters) // 2


def _keys(parameters: dict) -> list[str]:
    """Parameter names in the document's order: W1, b1, W2, b2, ..."""
    return [f"{k}{l}" for l in range(1, _layer_count(parameters) + 1) for k in ("W", "b")]


def _pack(d: dict, keys: list[str]) -> np.ndarray:
    return np.concatenate([np.asarray(d[k], dtype=np.float64).reshape(-1) for k in keys])


def _unpack_into(d: dict, keys: list[str], flat: np.ndarray, shapes: list[tuple]) -> dict:
    offset = 0
    for key, shape in zip(keys, shapes):
        size = int(np.prod(shape))
        d[key] = flat[offset:offset + size].reshape(shape).copy()
        offset += size
    return d


def _step(parameters, grads, slots, optimizer, state_of, learning_rate):
    """Pack dicts into flat buffers, apply one update of ``optimizer``, unpack in place."""
    keys = _keys(parameters)
    grad_keys = ["d" + k for k in keys]
    shapes = [np.shape(parameters[k]) for k in keys]
    theta = _pack(parameters, keys)
    state = state_of([_pack(s, grad_keys) for s in slots])
    updates, state = optimizer.update(_pack(grads, grad_keys), state, learning_rate, np)
    _unpack_into(parameters, keys, theta + updates, shapes)
    return state, grad_keys, shapes


def initialize_parameters(layer_dims, seed: int = 3) -> dict:
    """He-normal weights W_l (n_l, n_{l-1}) and zero biases b_l (n_l, 1), drawn layer by layer
    from ``RandomState(seed)`` (the document seeds the global generator with 3)."""
    rng = np.random.RandomState(seed)
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters[f"W{l}"] = initializers.he_normal(rng, layer_dims[l], layer_dims[l - 1])
        parameters[f"b{l}"] = np.zeros((layer_dims[l], 1))
    return parameters


def random_mini_batches(X, Y, mini_batch_size: int = 64, seed: int = 0) -> list[tuple]:
    """Shuffle the columns of X (n, m) and Y (1, m) with ``RandomState(seed)`` and cut them into
    mini-batches of ``mini_batch_size`` columns, the last one partial."""
    X, Y = np.asarray(X), np.asarray(Y)
    m = X.shape[1]
    # batching.epoch_order(m, e, s) draws RandomState(s + e + 1): e = -1 gives RandomState(seed).
    order = epoch_order(m, -1, seed)
    shuffled_X, shuffled_Y = X[:, order], Y[:, order].reshape((1, m))
    return [(shuffled_X[:, a:b], shuffled_Y[:, a:b]) for a, b in batch_bounds(m, mini_batch_size)]


def update_parameters_with_gd(parameters: dict, grads: dict, learning_rate: float) -> dict:
    """W = W - learning_rate * dW for every layer (``optim.GD``)."""
    _step(parameters, grads, [], GD(learning_rate), lambda _: GDState(0), learning_rate)
    return parameters


def initialize_velocity(parameters: dict) -> dict:
    """Zero velocities v['dW1'], v['db1'], ... shaped like the parameters."""
    return {"d" + k: np.zeros(np.shape(parameters[k])) for k in _keys(parameters)}


def update_parameters_with_momentum(parameters: dict, grads: dict, v: dict, beta: float,
                                    learning_rate: float):
    """v = beta v + (1 - beta) dW;  W = W - learning_rate v  (``optim.Momentum``, form 'ema')."""
    state, grad_keys, shapes = _step(parameters, grads, [v], Momentum(learning_rate, beta),
                                     lambda s: MomentumState(0, s[0]), learning_rate)
    _unpack_into(v, grad_keys, state.velocity, shapes)
    return parameters, v


def initialize_rmsprop(parameters: dict) -> dict:
    """Zero squared-gradient averages s['dW1'], s['db1'], ... shaped like the parameters."""
    return initialize_velocity(parameters)


def update_parameters_with_rmsprop(parameters: dict, grads: dict, s: dict, beta2: float,
                                   learning_rate: float, epsilon: float = 1e-8):
    """s = beta2 s + (1 - beta2) dW*dW;  W = W - learning_rate dW / (sqrt(s) + epsilon)
    (``optim.RMSProp``)."""
    state, grad_keys, shapes = _step(parameters, grads, [s], RMSProp(learning_rate, beta2, epsilon),
                                     lambda sl: RMSPropState(0, sl[0]), learning_rate)
    _unpack_into(s, grad_keys, state.square_avg, shapes)
    return parameters, s


def initialize_adam(parameters: dict):
    """Zero first and second moment estimates v, s shaped like the parameters."""
    return initialize_velocity(parameters), initialize_velocity(parameters)


def update_parameters_with_adam(parameters: dict, grads: dict, v: dict, s: dict, t: int,
                                learning_rate: float = 0.01, beta1: float = 0.9, beta2: float = 0.999,
                                epsilon: float = 1e-8):
    """One Adam update with bias correction at step t >= 1 (``optim.Adam``).
    Returns parameters, v, s and the bias-corrected v_corrected, s_corrected."""
    if int(t) < 1:
        raise DeepBasicsError(f"t counts Adam updates from 1, got {t!r}")
    adam = Adam(learning_rate, beta1, beta2, epsilon)
    state, grad_keys, shapes = _step(parameters, grads, [v, s], adam,
                                     lambda sl: AdamState(int(t) - 1, sl[0], sl[1]), learning_rate)
    _unpack_into(v, grad_keys, state.m, shapes)
    _unpack_into(s, grad_keys, state.v, shapes)
    m_hat, v_hat = adam.corrected(state, np)
    return parameters, v, s, _unpack_into({}, grad_keys, m_hat, shapes), _unpack_into({}, grad_keys, v_hat, shapes)


def update_lr(learning_rate0: float, epoch_num: int, decay_rate: float) -> float:
    """learning_rate0 / (1 + decay_rate * epoch_num)  (``schedules.InverseTimeDecay``)."""
    return InverseTimeDecay(decay_rate)(learning_rate0, epoch_num)


def schedule_lr_decay(learning_rate0: float, epoch_num: int, decay_rate: float, time_interval: int = 1000) -> float:
    """learning_rate0 / (1 + decay_rate * floor(epoch_num / time_interval))."""
    return InverseTimeDecay(decay_rate, interval=time_interval)(learning_rate0, epoch_num)
