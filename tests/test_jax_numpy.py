"""The same math under jax.numpy (float64): layers, losses, optimizers and whole steps agree with NumPy."""
import numpy as np
import pytest

import deepbasics as db
from deepbasics.nn import losses, network
from deepbasics.learn import optim
from deepbasics.nn.layer import Context
from deepbasics.learn.step import Setup, TrainState, loss_and_grads, train_step

jax = pytest.importorskip("jax")
jnp = jax.numpy


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def mlp(act):
    return (db.Dense(6), act, db.Dense(5), db.LeakyReLU(), db.Dense(3))


@pytest.mark.parametrize("act", [db.ReLU(), db.Tanh(), db.Sigmoid(), db.Linear()], ids=repr)
@pytest.mark.parametrize("loss", [losses.CategoricalCrossEntropy(from_logits=True), losses.MeanSquaredError()],
                         ids=repr)
def test_forward_backward_agree(act, loss):
    layers = mlp(act)
    params, state, _ = network.build(layers, 4, np.random.RandomState(0), db.initializers.he_normal)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(9, 4)), np.eye(3)[rng.integers(0, 3, size=9)]
    setup = Setup(layers, loss, None, network.shapes_of(params))
    theta = network.flatten(params, np)
    l_np, g_np, _ = loss_and_grads(setup, theta, state, x, y, Context(xp=np, train=True))
    l_jx, g_jx, _ = loss_and_grads(setup, jnp.asarray(theta), state, jnp.asarray(x), jnp.asarray(y),
                                   Context(xp=jnp, train=True))
    assert g_jx.dtype == jnp.float64
    np.testing.assert_allclose(float(l_jx), float(l_np), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(g_jx), g_np, rtol=1e-11, atol=1e-15)


@pytest.mark.parametrize("opt", [optim.GD(0.1), optim.Momentum(0.1), optim.Momentum(0.1, form="nesterov"),
                                 optim.RMSProp(0.01), optim.Adam(0.01)], ids=repr)
def test_optimizer_updates_agree(opt):
    rng = np.random.default_rng(0)
    theta = rng.normal(size=11)
    s_np, s_jx = opt.init(theta, np), opt.init(jnp.asarray(theta), jnp)
    for _ in range(20):
        g = rng.normal(size=11)
        u_np, s_np = opt.update(g, s_np, 0.05, np)
        u_jx, s_jx = opt.update(jnp.asarray(g), s_jx, 0.05, jnp)
        np.testing.assert_allclose(np.asarray(u_jx), u_np, rtol=1e-13, atol=1e-16)


def test_jitted_training_steps_agree_with_numpy():
    layers = (db.Dense(5), db.ReLU(), db.Dense(2), db.ReLU(), db.Dense(1))
    params, state, _ = network.build(layers, 2, np.random.RandomState(3), db.initializers.he_normal)
    X, y = db.datasets.moons(n_samples=64, noise=0.2, seed=3)
    Y = y.reshape(-1, 1).astype(float)
    setup = Setup(layers, losses.BinaryCrossEntropy(from_logits=True), optim.Adam(0.01), network.shapes_of(params))
    theta = network.flatten(params, np)
    ts_np = TrainState(theta, setup.optimizer.init(theta, np), state)
    ts_jx = TrainState(jnp.asarray(theta), setup.optimizer.init(jnp.asarray(theta), jnp), state)
    step = jax.jit(lambda ts, xb, yb, lr: train_step(setup, ts, xb, yb, lr, Context(xp=jnp, train=True)))
    for k in range(30):
        xb, yb = X[(k * 16) % 64:(k * 16) % 64 + 16], Y[(k * 16) % 64:(k * 16) % 64 + 16]
        ts_np, l_np = train_step(setup, ts_np, xb, yb, 0.01, Context(xp=np, train=True))
        ts_jx, l_jx = step(ts_jx, jnp.asarray(xb), jnp.asarray(yb), 0.01)
        np.testing.assert_allclose(float(l_jx), float(l_np), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(ts_jx.theta), ts_np.theta, rtol=1e-11, atol=1e-14)
