"""Whole networks: gradients of a random MLP against finite differences and PyTorch autograd."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import deepbasics as db
from deepbasics.nn import losses, network
from deepbasics.nn.layer import Context
from deepbasics.learn.step import Setup, TrainState, loss_and_grads, train_step
from gradcheck import assert_close_grad, numeric_grad

CTX = Context(xp=np, train=True)
ACT = {"relu": (db.ReLU, torch.relu), "tanh": (db.Tanh, torch.tanh), "sigmoid": (db.Sigmoid, torch.sigmoid),
       "leaky": (db.LeakyReLU, lambda t: torch.nn.functional.leaky_relu(t, 0.01))}


def random_mlp(widths, act, seed):
    layers = []
    for w in widths[1:-1]:
        layers += [db.Dense(w), ACT[act][0]()]
    layers += [db.Dense(widths[-1])]
    params, state, _ = network.build(layers, widths[0], np.random.RandomState(seed), db.initializers.glorot_normal)
    rng = np.random.default_rng(seed)
    params = [tuple(a + 0.1 * rng.normal(size=a.shape) for a in p) for p in params]   # non-zero biases
    return tuple(layers), params, state


@given(depth=st.integers(1, 4), width=st.integers(1, 6), act=st.sampled_from(sorted(ACT)),
       seed=st.integers(0, 2**16), m=st.integers(1, 5))
def test_mlp_gradients_match_finite_differences(depth, width, act, seed, m):
    widths = [3] + [width] * depth + [2]
    layers, params, state = random_mlp(widths, act, seed)
    rng = np.random.default_rng(seed + 1)
    x, y = rng.normal(size=(m, 3)), rng.normal(size=(m, 2))
    setup = Setup(layers, losses.MeanSquaredError(), None, network.shapes_of(params))
    theta = network.flatten(params, np)
    _, g, _ = loss_and_grads(setup, theta, state, x, y, CTX)
    mean_loss = lambda th: float(loss_and_grads(setup, th, state, x, y, CTX)[0]) / m
    assert_close_grad(g, numeric_grad(mean_loss, theta.copy()), rtol=1e-4, atol=1e-7)


def test_mlp_gradients_match_torch_autograd():
    widths = [4, 8, 8, 8, 3]
    for act in ACT:
        layers, params, state = random_mlp(widths, act, seed=7)
        rng = np.random.default_rng(0)
        x, labels = rng.normal(size=(16, 4)), rng.integers(0, 3, size=16)
        setup = Setup(layers, losses.CategoricalCrossEntropy(from_logits=True), None, network.shapes_of(params))
        loss_sum, g, _ = loss_and_grads(setup, network.flatten(params, np), state, x, np.eye(3)[labels], CTX)

        tparams = [tuple(torch.tensor(a, requires_grad=True) for a in p) for p in params]
        h = torch.tensor(x)
        for layer, p in zip(layers, tparams):
            h = h @ p[0].T + p[1] if p else ACT[act][1](h)
        tloss = torch.nn.functional.cross_entropy(h, torch.tensor(labels))
        tloss.backward()
        tg = np.concatenate([a.grad.numpy().ravel() for p in tparams for a in p])
        assert float(loss_sum) / 16 == np.float64(tloss.item()) or abs(float(loss_sum) / 16 - tloss.item()) < 1e-13
        np.testing.assert_allclose(g, tg, rtol=1e-10, atol=1e-14)


def test_flatten_unflatten_round_trip_are_views():
    params = [(np.ones((2, 3)), np.zeros(2)), (), (np.arange(4.0).reshape(2, 2),)]
    shapes = network.shapes_of(params)
    flat = network.flatten(params, np)
    assert flat.shape == (12,)
    back = network.unflatten(flat, shapes)
    for p, q in zip(params, back):
        for a, b in zip(p, q):
            np.testing.assert_array_equal(a, b)
    back[0][0][0, 0] = 99                    # views into the buffer, not copies
    assert flat[0] == 99


def test_sigmoid_and_softmax_outputs_fuse_into_their_losses():
    layers = (db.Dense(1), db.Sigmoid())
    body, loss = network.fuse_output(layers, losses.BinaryCrossEntropy())
    assert body == layers[:1] and loss.from_logits
    body, loss = network.fuse_output((db.Dense(3), db.Softmax()), losses.CategoricalCrossEntropy())
    assert len(body) == 1 and loss.from_logits
    body, loss = network.fuse_output((db.Dense(1), db.Tanh()), losses.BinaryCrossEntropy())
    assert len(body) == 2 and not loss.from_logits


def test_train_step_is_pure_and_applies_the_optimizer():
    layers, params, state = random_mlp([2, 3, 1], "relu", 0)
    setup = Setup(layers, losses.MeanSquaredError(), db.optim.GD(0.1), network.shapes_of(params))
    theta = network.flatten(params, np)
    before = theta.copy()
    x, y = np.ones((4, 2)), np.zeros((4, 1))
    ts = TrainState(theta, setup.optimizer.init(theta), state)
    new, loss_sum = train_step(setup, ts, x, y, 0.1, CTX)
    np.testing.assert_array_equal(theta, before)
    _, g, _ = loss_and_grads(setup, theta, state, x, y, CTX)
    np.testing.assert_allclose(new.theta, theta - 0.1 * g)
    assert new.opt_state.step == 1


def test_split_and_flat_steps_agree():
    """train_step_split (one buffer per array, as the JAX engine runs it) equals train_step."""
    from deepbasics.learn.step import join_state, split_state, train_step_split
    layers, params, state = random_mlp([3, 5, 4, 2], "tanh", 1)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    for opt in (db.optim.GD(0.1), db.optim.Momentum(0.1), db.optim.Adam(0.01), db.optim.AdamW(0.01)):
        setup = Setup(layers, losses.MeanSquaredError(), opt, network.shapes_of(params), clip_norm=0.5)
        theta = network.flatten(params, np)
        flat = TrainState(theta, opt.init(theta, np), state)
        split = split_state(flat, setup.shapes)
        for _ in range(3):
            flat, l1 = train_step(setup, flat, x, y, 0.1, CTX)
            split, l2 = train_step_split(setup, split, x, y, 0.1, CTX)
            assert float(l1) == pytest.approx(float(l2), rel=1e-14)    # the clip norm sums in another order
        joined = join_state(split, np)
        np.testing.assert_allclose(joined.theta, flat.theta, rtol=1e-12)
        for a, b in zip(joined.opt_state, flat.opt_state):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-16)
