"""Optimizers: hand-computed value tables, PyTorch over 25 steps with conventions mapped, checks."""
import numpy as np
import pytest
import torch

import deepbasics as db
from deepbasics.learn import optim

STEPS = 25


def grad_sequence(n=STEPS, size=7, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=size) for _ in range(n)]


def run_ours(opt, theta, grads, lrs=None):
    state = opt.init(theta, np)
    for i, g in enumerate(grads):
        lr = opt.lr if lrs is None else lrs[i]
        updates, state = opt.update(g, state, lr, np)
        theta = theta + updates
    return theta, state


def run_torch(make, theta, grads):
    p = torch.nn.Parameter(torch.tensor(theta))
    o = make([p])
    for g in grads:
        o.zero_grad()
        p.grad = torch.tensor(g)
        o.step()
    return p.detach().numpy()


THETA = np.linspace(-1, 1, 7)


def test_gd_matches_torch_sgd():
    grads = grad_sequence()
    ours, state = run_ours(optim.GD(lr=0.1), THETA, grads)
    np.testing.assert_allclose(ours, run_torch(lambda p: torch.optim.SGD(p, lr=0.1), THETA, grads), rtol=1e-13)
    assert state.step == STEPS


def test_ema_momentum_is_heavy_ball_with_scaled_rate():
    grads = grad_sequence()
    ours, _ = run_ours(optim.Momentum(lr=0.05, beta=0.9), THETA, grads)
    theirs = run_torch(lambda p: torch.optim.SGD(p, lr=0.05 * (1 - 0.9), momentum=0.9), THETA, grads)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_heavy_ball_and_nesterov_match_torch():
    grads = grad_sequence()
    ours, _ = run_ours(optim.Momentum(lr=0.05, beta=0.8, form="heavy_ball"), THETA, grads)
    np.testing.assert_allclose(ours, run_torch(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8), THETA, grads),
                               rtol=1e-12)
    ours, _ = run_ours(optim.Momentum(lr=0.05, beta=0.8, form="nesterov"), THETA, grads)
    theirs = run_torch(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True), THETA, grads)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_rmsprop_matches_torch_with_alpha_as_beta2():
    grads = grad_sequence()
    ours, _ = run_ours(optim.RMSProp(lr=0.01, beta2=0.9, eps=1e-8), THETA, grads)
    theirs = run_torch(lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8), THETA, grads)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("betas,eps", [((0.9, 0.999), 1e-8), ((0.8, 0.888), 1e-2)])
def test_adam_matches_torch(betas, eps):
    grads = grad_sequence()
    ours, state = run_ours(optim.Adam(lr=0.02, beta1=betas[0], beta2=betas[1], eps=eps), THETA, grads)
    theirs = run_torch(lambda p: torch.optim.Adam(p, lr=0.02, betas=betas, eps=eps), THETA, grads)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    assert state.step == STEPS


def test_value_tables_by_hand():
    g = np.array([1.0, -2.0])
    # GD: -lr g
    u, _ = optim.GD(0.1).update(g, optim.GD(0.1).init(g), 0.1)
    np.testing.assert_allclose(u, [-0.1, 0.2])
    # EMA momentum, two steps: v1 = 0.1 g, v2 = 0.9 v1 + 0.1 g = 0.19 g
    opt = optim.Momentum(lr=1.0, beta=0.9)
    s = opt.init(g)
    u1, s = opt.update(g, s, 1.0)
    u2, s = opt.update(g, s, 1.0)
    np.testing.assert_allclose(u1, -0.1 * g)
    np.testing.assert_allclose(u2, -0.19 * g)
    # RMSProp, one step: s = 0.1 g^2, update = -lr g / (sqrt(0.1) |g| + eps)
    opt = optim.RMSProp(lr=0.01, beta2=0.9, eps=0.0)
    u, _ = opt.update(g, opt.init(g), 0.01)
    np.testing.assert_allclose(u, -0.01 * np.sign(g) / np.sqrt(0.1))
    # Adam's first step moves every coordinate by lr * sign(g) (eps 0): m_hat = g, v_hat = g^2
    opt = optim.Adam(lr=0.001, eps=0.0)
    u, s = opt.update(g, opt.init(g), 0.001)
    np.testing.assert_allclose(u, -0.001 * np.sign(g))
    m_hat, v_hat = opt.corrected(s)
    np.testing.assert_allclose(m_hat, g)
    np.testing.assert_allclose(v_hat, g * g)


def test_adam_follows_a_scheduled_rate_per_step():
    grads = grad_sequence(5)
    lrs = [0.1, 0.05, 0.05, 0.01, 0.0]
    ours, _ = run_ours(optim.Adam(lr=0.1), THETA, grads, lrs)
    p = torch.nn.Parameter(torch.tensor(THETA))
    o = torch.optim.Adam([p], lr=0.1)
    for lr, g in zip(lrs, grads):
        for group in o.param_groups:
            group["lr"] = lr
        p.grad = torch.tensor(g)
        o.step()
    np.testing.assert_allclose(ours, p.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("make,match", [
    (lambda: optim.GD(lr=-0.1), "learning rate"),
    (lambda: optim.Adam(lr=float("nan")), "learning rate"),
    (lambda: optim.Momentum(beta=1.0), "beta"),
    (lambda: optim.Momentum(form="polyak"), "form"),
    (lambda: optim.Adam(beta2=-0.1), "beta2"),
    (lambda: optim.RMSProp(eps=-1), "eps"),
    (lambda: optim.get("lbfgs"), "unknown optimizer 'lbfgs'"),
])
def test_bad_hyperparameters_are_named(make, match):
    with pytest.raises(db.DeepBasicsError, match=match):
        make()


def test_optimizers_are_pure():
    g = np.ones(3)
    opt = optim.Adam()
    state = opt.init(g)
    before = (state.m.copy(), state.v.copy())
    opt.update(g, state, 0.1)
    np.testing.assert_array_equal(state.m, before[0])
    np.testing.assert_array_equal(state.v, before[1])
